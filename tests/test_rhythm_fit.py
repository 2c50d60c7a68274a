"""Fit to length on generated songs with known bars: lengths to the frame (with stretch) and
within the slack (without), splices on downbeats, no clicks, the real intro and ending kept."""

from __future__ import annotations

import numpy as np
import pytest

from engine.rhythm.fit import (
    CROSSFADE,
    MAX_STRETCH,
    fit_to_length,
    render_pieces,
    render_plan,
    sound_end,
    time_stretch,
)
from engine.rhythm.music import MusicRhythm

FPS = 30.0


@pytest.fixture(scope="module")
def song():
    """A ~40 s techno song from the demo world's synthesizer, stereo [n, 2] at 22.05 kHz,
    with its true grid."""
    from training.demo_music import SR, plan_track, render_track

    spec = plan_track(1, 3, (36.0, 44.0), style="techno")
    x = render_track(spec).T.copy()
    beats = np.arange(spec.bars * spec.beats_per_bar) * spec.beat_seconds
    rhythm = MusicRhythm(spec.duration, True, spec.bpm, meter=4, beats=beats, downbeats=beats[::4],
                         sections=np.array([s.start_bar * spec.bar_seconds for s in spec.sections]),
                         ending=spec.bars * spec.bar_seconds)
    return x, SR, rhythm, spec.bar_seconds


def _splice_times(plan) -> list[float]:
    """Output times (s, after the stretch) where each incoming piece reaches full level."""
    return [(p.at + p.crossfade) / plan.stretch for p in plan.pieces[1:]]


def _check(plan, x, rate, rhythm):
    down = np.asarray(rhythm.downbeats)
    for leave, resume in plan.splices:
        assert np.min(np.abs(down - leave)) < 1e-6 and np.min(np.abs(down - resume)) < 1e-6
    assert plan.pieces[0].source_start == 0.0  # the real intro
    assert plan.pieces[-1].source_end == pytest.approx(sound_end(x, rate))  # the real ending
    y = render_plan(x, rate, plan)
    assert y.shape == (round(plan.target * rate), x.shape[1])
    own = np.abs(np.diff(x, axis=0)).max()
    w = round(0.05 * rate)
    for t in _splice_times(plan):
        i = round(t * rate)
        step = np.abs(np.diff(y[max(0, i - w):i + w], axis=0)).max()
        assert step <= own, (t, step, own)
    return y


@pytest.mark.parametrize("target", [26.5, 34.0, 95.0])
def test_with_stretch_lands_to_the_frame(song, target):
    """Bars are ~1.94 s here: from ~33 s on, a 3 % stretch always reaches the next bar count;
    26.5 s is reachable by chance (13.7 bars)."""
    x, rate, rhythm, _ = song
    plans = fit_to_length(x, rate, rhythm, target, stretch=True, fps=FPS)
    assert 1 <= len(plans) <= 3
    p = plans[0]
    assert not p.note
    assert abs(p.stretch - 1) <= MAX_STRETCH + 1e-9
    assert abs(p.length - target) <= 1 / FPS  # where the music ends, not padding
    assert p.length == pytest.approx(p.natural_length / p.stretch - p.trim)
    _check(p, x, rate, rhythm)
    if target > rhythm.duration:
        assert any(resume < leave for leave, resume in p.splices)  # looped back
    else:
        assert p.splices


@pytest.mark.parametrize("target", [25.0, 70.0])
def test_without_stretch_lands_within_the_slack(song, target):
    x, rate, rhythm, bar = song
    slack = bar / 2 + 0.05  # whole bars: always reachable
    p = fit_to_length(x, rate, rhythm, target, stretch=False, slack=slack)[0]
    assert p.stretch == 1.0 and not p.note
    assert abs(p.error) <= slack
    _check(p, x, rate, rhythm)


def test_short_target_out_of_stretch_reach_lands_within_the_slack(song):
    x, rate, rhythm, _ = song
    p = fit_to_length(x, rate, rhythm, 22.0, stretch=True, slack=0.5)[0]  # 11.4 bars: 3 % is not enough
    assert abs(p.error) <= 0.5 and not p.note and abs(p.stretch - 1) <= MAX_STRETCH + 1e-9
    _check(p, x, rate, rhythm)


def test_variants_differ_and_are_ranked(song):
    x, rate, rhythm, _ = song
    plans = fit_to_length(x, rate, rhythm, 28.0, variants=3)
    assert len({p.splices for p in plans}) == len(plans)
    scores = [p.seamlessness - 5 * abs(p.stretch - 1) for p in plans if not p.note and abs(p.error) <= 1 / 60]
    assert scores == sorted(scores, reverse=True)


def test_too_short_a_target_fades_the_opening(song):
    x, rate, rhythm, _ = song
    p = fit_to_length(x, rate, rhythm, 3.0)[0]
    assert "shorter" in p.note and p.fade_out > 0
    y = render_plan(x, rate, p)
    assert len(y) == round(3.0 * rate) and np.abs(y[-10:]).max() < 1e-3


def test_no_steady_beat_says_so_and_still_fits(song):
    x, rate, rhythm, _ = song
    beatless = MusicRhythm(rhythm.duration, False, None, ending=rhythm.duration)
    p = fit_to_length(x, rate, beatless, 30.0)[0]
    assert "no steady beat" in p.note
    assert abs(p.error) <= 1 / 30
    assert len(render_plan(x, rate, p)) == round(30.0 * rate)
    # the cue's note does not claim downbeats the track does not have
    from engine.rhythm.fit import fitted_cue

    assert not p.on_downbeats and "downbeat" not in fitted_cue(p, "pads.wav", "Pads").note
    steady = fit_to_length(x, rate, rhythm, 30.0)[0]
    assert steady.on_downbeats and (not steady.splices or "on downbeats" in fitted_cue(steady, "a.wav", "A").note)


def test_time_stretch_keeps_the_pitch():
    rate = 22050
    t = np.arange(rate * 3) / rate
    x = np.sin(2 * np.pi * 440 * t).astype(np.float32)[:, None]
    y = time_stretch(x, rate, 1.03)
    assert abs(len(y) - len(x) / 1.03) < 0.01 * rate
    spec = np.abs(np.fft.rfft(y[rate // 2: rate // 2 + 16384, 0]))
    assert np.fft.rfftfreq(16384, 1 / rate)[np.argmax(spec)] == pytest.approx(440, abs=3)


def test_render_pieces_crossfades_with_equal_power():
    rate = 1000
    x = np.ones((4000, 1), np.float32)
    from engine.mix.cuesheet import Piece

    pieces = (Piece(0.0, 1.0, 0.0), Piece(2.0 - CROSSFADE, 3.0, 1.0 - CROSSFADE, CROSSFADE))
    y = render_pieces(x, rate, pieces)
    assert len(y) == 2000
    mid = y[1000 - round(CROSSFADE * rate):1000, 0]
    np.testing.assert_allclose(mid, np.sin(np.linspace(0, np.pi / 2, len(mid) + 2)[1:-1]) +
                               np.cos(np.linspace(0, np.pi / 2, len(mid) + 2)[1:-1]), atol=0.05)
    assert np.allclose(y[:900], 1) and np.allclose(y[1000:], 1)


def test_cli_fit_writes_the_re_edit_exactly_s_long(song, tmp_path, capsys):
    """``mvpt fit VIDEO TRACK --length S --out FILE`` on a song file outside any library:
    its rhythm analysed, the re-edit written (atomically) exactly S long at 48 kHz."""
    import json

    import soundfile

    from engine.cli import main
    from training.synthmedia import write_video

    x, rate, _, _ = song
    track = tmp_path / "song.wav"
    soundfile.write(str(track), x, rate)
    video = write_video(tmp_path / "clip.mp4", 2.0, fps=25.0, audio=False)
    out = tmp_path / "fit.wav"
    assert main(["fit", str(video), str(track), "--length", "34", "--out", str(out), "--json",
                 "--cue", str(tmp_path / "fit.json")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["plans"] and report["plans"][0]["target"] == 34.0
    # the cue carries the plan: its pieces and its stretch, exactly 34 s of the video
    from engine.mix.cuesheet import CueSheet

    cue = CueSheet.from_json((tmp_path / "fit.json").read_text()).cues[0]
    assert (cue.start, cue.end) == (0.0, 34.0) and cue.stretch == report["plans"][0]["stretch"]
    assert len(cue.pieces) == len(report["plans"][0]["pieces"]) and report["cue"]["stretch"] == cue.stretch
    y, r = soundfile.read(str(out))
    assert r == 48000 and y.shape == (34 * 48000, 2)
    assert not list(tmp_path.glob(".fit.wav*"))  # no temp file left
    assert main(["fit", str(video), str(track), "--out", str(tmp_path / "v.flac")]) == 0  # the video's length
    assert soundfile.info(str(tmp_path / "v.flac")).frames == 2 * 48000
    assert main(["fit", str(video), str(track), "--length", "20", "--out", str(tmp_path / "x.mp3")]) != 0
    # --from: the re-edit opens at that second of the track (a start `mvpt recommend` found)
    capsys.readouterr()
    assert main(["fit", str(video), str(track), "--length", "20", "--from", "6", "--json"]) == 0
    opened = json.loads(capsys.readouterr().out)["plans"][0]["pieces"][0]["source_start"]
    assert opened == pytest.approx(6.0, abs=1e-3)
    assert main(["fit", str(video), str(track), "--length", "20", "--from", "900"]) != 0  # past the end: said
    assert "past the end" in capsys.readouterr().err


def test_the_apps_whole_video_fit_makes_a_cue_from_a_library_track(song, tmp_path):
    """``engine.recommend.fit_track_to_video``: a scanned library track (its stored rhythm)
    re-edited to the video's length as a cue with the plan's pieces and stretch."""
    import soundfile

    from engine.jobs import run
    from engine.recommend import fit_track_to_video
    from engine.session import EngineSession
    from engine.settings import EngineSettings

    x, rate, _, _ = song
    folder = tmp_path / "music"
    folder.mkdir()
    soundfile.write(str(folder / "song.wav"), x, rate)
    s = EngineSession(EngineSettings(data_dir=str(tmp_path / "data"), checkpoint=None))
    try:
        run(s.library.scan(folder, "music", music_extractor_name="classic-music", segment_seconds=3.0, workers=1))
        item = s.library.catalog.item_by_path(folder / "song.wav")
        cue = run(fit_track_to_video(s, item.id, 34.0, start=2.0, fps=FPS))
    finally:
        s.close()
    assert (cue.start, cue.end, cue.item_id) == (2.0, 36.0, item.id)
    assert cue.pieces and abs(cue.stretch - 1) <= MAX_STRETCH + 1e-9 and "fit to length" in cue.note
    heard = sum(p.source_end - p.source_start for p in cue.pieces) - sum(p.crossfade for p in cue.pieces)
    assert heard / cue.stretch == pytest.approx(34.0, abs=0.6)  # the music's own end, before any ring-out trim


def test_a_synced_start_opens_the_re_edit_there_and_keeps_the_ending(song):
    """Fit from where sync found the cuts follow the track (a downbeat 3 bars in): the re-edit
    opens there, so every downbeat after it stays at the same distance from the cue's start
    (the cuts stay on the beats) until the first splice; splices on downbeats, the real ending
    kept, exactly the length."""
    from engine.rhythm.fit import rhythm_from

    x, rate, rhythm, bar = song
    start = float(rhythm.downbeats[3])
    target = 20.0
    plans = fit_to_length(x, rate, rhythm, target, start=start, fps=FPS)
    p = plans[0]
    assert p.pieces[0].source_start == pytest.approx(start, abs=1 / rate) and p.pieces[0].at == 0.0
    down = np.asarray(rhythm.downbeats)
    for leave, resume in p.splices:  # the whole track's downbeats, not the part's
        assert np.min(np.abs(down - leave)) < 1e-3 and np.min(np.abs(down - resume)) < 1e-3
        assert resume >= start - 1e-6  # never back into what was skipped
    assert p.pieces[-1].source_end == pytest.approx(sound_end(x, rate), abs=0.025)  # within a hop of the whole
    y = render_plan(x, rate, p)
    assert y.shape == (round(target * rate), x.shape[1])
    # the opening plays the track from the start, sample for sample (before any stretch)
    plain = fit_to_length(x, rate, rhythm, target, start=start, stretch=False, slack=bar)[0]
    n = round(min(2.0, plain.pieces[0].source_end - start) * rate)
    s0 = round(start * rate)
    np.testing.assert_allclose(render_plan(x, rate, plain)[:n], x[s0:s0 + n], atol=1e-6)
    # the part's own rhythm: shifted to its clock, a section at 0
    part = rhythm_from(rhythm, start)
    assert part.downbeats[0] == pytest.approx(0.0) and part.sections[0] == 0.0
    assert part.duration == pytest.approx(rhythm.duration - start)
    with pytest.raises(ValueError, match="past the end"):
        fit_to_length(x, rate, rhythm, target, start=rhythm.duration + 1)
