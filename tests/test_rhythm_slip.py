"""Slipping a cue's music on its track's grid, and syncing one cue's music to the cuts inside
it (engine.rhythm.slip, CueSheet.slipped)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.mix.cuesheet import Cue, CueSheet, Piece
from engine.rhythm.music import MusicRhythm
from engine.rhythm.slip import NO_GRID_BEAT, slip_in_point, sync_in_point, video_part
from engine.rhythm.video import Transition, VideoRhythm
from tests.test_rhythm_sync import make_music, make_video


def waltz() -> MusicRhythm:
    """3/4 at 90 bpm from 0.4 s: a bar is 2.0 s, downbeats at 0.4, 2.4, 4.4, ..."""
    beats = 0.4 + np.arange(90) * (60.0 / 90.0)
    return MusicRhythm(62.0, True, 90.0, meter=3, beats=beats, downbeats=beats[::3], sections=np.zeros(1),
                       energy=np.zeros(620, np.float32), ending=float(beats[-3]))


def test_slip_moves_on_the_grid_and_an_off_grid_start_lands_on_it():
    m = waltz()
    beat = 60.0 / 90.0
    on = slip_in_point(2.4, m, bars=1)  # on a downbeat: one bar later
    assert on.in_point == pytest.approx(4.4, abs=1e-3) and "one bar later" in on.words and "downbeat" in on.words
    assert slip_in_point(2.4, m, bars=-1).in_point == pytest.approx(0.4, abs=1e-3)
    assert slip_in_point(2.4, m, beats=2).in_point == pytest.approx(2.4 + 2 * beat, abs=1e-3)
    # 3/4: a bar is three beats, read off the downbeats, not four
    assert slip_in_point(2.4, m, bars=2).in_point - 2.4 == pytest.approx(6 * beat, abs=1e-3)
    # between marks: the first step is the next (or previous) mark itself
    onto = slip_in_point(3.0, m, bars=1)
    assert onto.in_point == pytest.approx(4.4, abs=1e-3) and onto.words.startswith("onto the next downbeat")
    assert slip_in_point(3.0, m, bars=2).words.startswith("onto the next downbeat and one bar later")
    assert slip_in_point(3.0, m, bars=-1).in_point == pytest.approx(2.4, abs=1e-3)
    assert slip_in_point(3.0, m, beats=1).in_point == pytest.approx(0.4 + 4 * beat, abs=1e-3)
    assert slip_in_point(3.0, m, beats=-1).in_point == pytest.approx(0.4 + 3 * beat, abs=1e-3)
    # a pickup before the first downbeat goes to the track's start; at the start, no further
    first = slip_in_point(0.2, m, bars=-1)
    assert first.in_point == 0.0 and "start of the track" in first.words
    with pytest.raises(ValueError, match="very start"):
        slip_in_point(0.0, m, bars=-1)
    with pytest.raises(ValueError, match="no bar later"):
        slip_in_point(float(m.downbeats[-1]), m, bars=1)
    with pytest.raises(ValueError, match="ends at"):
        slip_in_point(float(m.downbeats[-2]), m, bars=1, duration=float(m.downbeats[-1]) - 0.1)
    with pytest.raises(ValueError, match="not both"):
        slip_in_point(1.0, m, beats=1, bars=1)


def test_slip_without_a_grid_moves_by_seconds_and_says_so():
    flat = MusicRhythm(30.0, False, None, reason="no steady beat")
    s = slip_in_point(5.0, flat, bars=1)
    assert s.in_point == pytest.approx(5.0 + 4 * NO_GRID_BEAT, abs=1e-3) and "no steady beat" in s.words
    assert slip_in_point(5.0, None, beats=-1).in_point == pytest.approx(5.0 - NO_GRID_BEAT, abs=1e-3)
    assert slip_in_point(0.3, None, bars=-1).in_point == 0.0  # clamped at the track's start
    with pytest.raises(ValueError, match="very start"):
        slip_in_point(0.0, None, beats=-1)


def test_cue_sheet_slip_keeps_the_cue_in_place_and_refuses_a_re_edit():
    a = Cue("a.ogg", "A", 0.0, 10.0, 3.0, item_id=1)
    b = Cue("b.ogg", "B", 10.0, 20.0, 0.0, item_id=2)
    sheet = CueSheet((a, b))
    s = sheet.slipped(1, 7.5)
    assert s.cues[1].in_point == 7.5 and (s.cues[1].start, s.cues[1].end) == (10.0, 20.0)
    assert s.cues[0] == a and sheet.cues[1].in_point == 0.0  # pure: the old sheet is unchanged
    with pytest.raises(ValueError, match="before its track"):
        sheet.slipped(0, -1.0)
    fitted = CueSheet((Cue("c.ogg", "C", 0.0, 10.0, 0.0, pieces=(Piece(0.0, 10.0, 0.0),)),))
    with pytest.raises(ValueError, match="fitted to the video's length"):
        fitted.slipped(0, 2.0)
    with pytest.raises(IndexError):
        sheet.slipped(5, 1.0)


def test_video_part_is_the_stretch_on_its_own_clock():
    v = VideoRhythm(30.0, np.array([2.0, 10.0, 12.5, 25.0]), np.array([1.0, 0.9, 0.8, 0.7], np.float32),
                    (Transition(14.0, 15.0, "dissolve", 0.6),), np.arange(300, dtype=np.float32) / 300,
                    flashes=np.array([11.0, 28.0]))
    p = video_part(v, 10.0, 20.0)
    assert p.duration == 10.0
    assert p.cuts.tolist() == [2.5]  # the cue's own first frame (10.0) is its edge, not a cut
    assert p.cut_confidence.tolist() == pytest.approx([0.8])
    assert [(t.start, t.end) for t in p.transitions] == [(4.0, 5.0)]
    assert p.flashes.tolist() == [1.0]
    assert len(p.energy) == 100 and p.energy[0] == pytest.approx(100 / 300)


@pytest.mark.parametrize("seed", range(4))
def test_a_cue_slipped_off_the_beat_is_synced_back(seed):
    """A 40 s cue whose music starts 0.6 beats late (or 2.7 beats early) off where the video was
    cut: syncing it, within a bar either side, finds the start on the right beat again."""
    rng = np.random.default_rng(seed)
    music = make_music(float(rng.uniform(80, 150)), 150.0, seed)
    beat = 60.0 / music.tempo
    offset = float(music.downbeats[8 + seed])
    video = make_video(music, offset - 15.0, 70.0, seed + 200)  # the cue covers video 15..55 s
    off_by = -2.7 * beat if seed % 2 else 0.6 * beat  # a no-op fails: both > half a beat
    fit = sync_in_point(video, music, 15.0, 55.0, offset + off_by)
    assert fit.informative and fit.offset is not None
    assert abs(fit.offset - offset) <= 0.5 * beat, (fit.offset, offset)


def test_sync_says_why_not_when_the_cue_has_no_cuts():
    music = make_music(120.0, 120.0, 3)
    video = VideoRhythm(60.0, np.array([5.0, 50.0]), np.ones(2, np.float32), (), np.zeros(600, np.float32))
    fit = sync_in_point(video, music, 10.0, 40.0, 12.0)
    assert not fit.informative and fit.offset is None and "no cuts" in fit.reason
    # a start so late in the track that it ends before the cue's cuts can be read against it
    late = sync_in_point(make_video(music, 60.0, 60.0, 4), music, 0.0, 60.0, 115.0)  # 3 s left past a bar
    assert late.offset is None and "too soon after" in late.reason and "slip it earlier" in late.reason


def test_a_cue_longer_than_the_rest_of_its_track_is_synced_on_the_part_it_covers():
    """The music runs out inside the cue: the cuts it covers still say where its beats fall,
    and the search stays within a bar of the start asked for (not pushed to where the whole
    cue would fit under the track)."""
    music = make_music(100.0, 80.0, 5)
    beat = 60.0 / music.tempo
    offset = float(music.downbeats[20])  # ~48 s into an 80 s track: 32 s of music left
    video = make_video(music, offset, 60.0, 9)  # cut to it over 60 s (the last 28 s without music)
    fit = sync_in_point(video, music, 0.0, 60.0, offset + 0.6 * beat)
    assert fit.informative and abs(fit.offset - offset) <= 0.5 * beat, (fit.offset, offset)


def test_align_leaves_a_cue_where_it_is_when_the_cuts_do_not_follow_the_beats():
    """Cuts that ignore the track (random times, energy unrelated): sync still finds some best
    start within the bar, but no better than chance, so "Align to cuts" does not move the cue;
    cut to the track, it does."""
    from engine.rhythm.slip import ALIGN_CONFIDENCE, align_in_point

    music = make_music(110.0, 120.0, 8)
    rng = np.random.default_rng(8)
    cuts = np.sort(rng.uniform(1.0, 39.0, 14))
    random_cuts = VideoRhythm(40.0, cuts, np.ones(14, np.float32), (), rng.random(400).astype(np.float32))
    at, fit = align_in_point(random_cuts, music, 0.0, 40.0, 30.3)
    assert fit.informative and fit.confidence < ALIGN_CONFIDENCE and at == 30.3
    truth = float(music.downbeats[12])
    cut = make_video(music, truth, 40.0, 8)
    at, fit = align_in_point(cut, music, 0.0, 40.0, truth + 0.45 * 60.0 / 110.0)
    assert fit.confidence >= ALIGN_CONFIDENCE and abs(at - truth) <= 0.25 * 60.0 / 110.0


def test_fitting_starts_are_the_bar_shifted_starts_sync_cannot_tell_apart():
    """A montage cut only on downbeats: bar-shifted starts fit its cuts alike. With energy
    unrelated to the music, several starts are offered, on downbeats, in track order; with
    energy that follows the music half-way, the one it was cut from is among them."""
    from engine.rhythm.slip import fitting_starts

    music = make_music(120.0, 90.0, 11)
    rng = np.random.default_rng(11)
    truth = float(music.downbeats[6])
    d = music.downbeats[(music.downbeats > truth + 0.5) & (music.downbeats < truth + 29.5)] - truth
    cuts = np.sort(rng.choice(d, 9, replace=False))
    noise = rng.random(300)
    montage = VideoRhythm(30.0, cuts, np.ones(9, np.float32), (), noise.astype(np.float32))
    starts, fit = fitting_starts(montage, music, 0.0, 30.0)
    assert len(starts) >= 2 and starts == sorted(starts) and fit.ambiguous and fit.offset in starts
    assert all(np.min(np.abs(music.downbeats - s)) < 1e-3 for s in starts)
    follows = 0.5 * np.interp(np.arange(300) / 10 + truth, np.arange(len(music.energy)) / 10, music.energy) + 0.5 * noise
    starts, fit = fitting_starts(VideoRhythm(30.0, cuts, np.ones(9, np.float32), (), follows.astype(np.float32)),
                                 music, 0.0, 30.0)
    assert min(abs(s - truth) for s in starts) < 1e-3, (starts, truth)
    none, why = fitting_starts(VideoRhythm(30.0, np.zeros(0), np.zeros(0, np.float32), (),
                                           np.zeros(300, np.float32)), music, 0.0, 30.0)
    assert none == [] and "no cuts" in why.reason
