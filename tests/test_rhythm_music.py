"""Music rhythm (issue 12): beats, downbeats, meter, "no steady beat", the JSON form, the
catalog's rhythm table and the scan that fills it. Generated music with known beats."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from engine.rhythm import ENERGY_RATE
from engine.rhythm.music import RHYTHM_VERSION, MusicRhythm, TempoCandidate, analyse_rhythm
from engine.rhythm.music_synth import synth_track


def _near(ref: np.ndarray, est: np.ndarray, tol: float = 0.07) -> np.ndarray:
    """bool [len(ref)]: each reference time has an estimate within ``tol`` s."""
    if len(est) == 0:
        return np.zeros(len(ref), bool)
    return np.abs(ref[:, None] - est[None, :]).min(axis=1) <= tol


@pytest.fixture(scope="module")
def steady120():
    t = synth_track("straight", seed=5, duration=14.0, bpm=120.0)
    return t, analyse_rhythm(t.samples, t.rate)


def test_beats_of_a_steady_120_bpm_clip(steady120):
    t, r = steady120
    assert r.steady and r.reason == "" and r.meter == 4
    assert r.tempo == pytest.approx(120.0, rel=0.03)
    assert _near(t.beats, r.beats).mean() >= 0.95  # within +-70 ms
    assert _near(r.beats, t.beats).mean() >= 0.95  # and nothing made up between them
    # the octave ambiguity is explicit: x1/2 is offered, the chosen tempo first
    assert r.tempo_alternatives[0].bpm == pytest.approx(r.tempo, rel=0.03)
    assert any(abs(c.bpm - 60.0) < 3 for c in r.tempo_alternatives)
    assert sum(c.confidence for c in r.tempo_alternatives) <= 1.0 + 1e-6
    assert len(r.energy) == int(np.ceil(t.duration * ENERGY_RATE)) and r.energy.dtype == np.float32
    assert 0.0 <= r.energy.min() and r.energy.max() <= 1.0


def test_downbeats_fall_on_the_kicks(steady120):
    t, r = steady120
    assert _near(t.downbeats, r.downbeats).mean() >= 0.9
    assert set(np.round(r.downbeats, 4)) <= set(np.round(r.beats, 4))
    assert len(r.beat_positions) == len(r.beats) and set(r.beat_positions.tolist()) <= {1, 2, 3, 4}
    assert r.ending == pytest.approx(t.ending, abs=0.07)  # the final hit


def test_three_four_is_detected():
    t = synth_track("waltz", seed=3, duration=16.0, bpm=120.0)
    r = analyse_rhythm(t.samples, t.rate)
    assert r.steady and r.meter == 3
    assert _near(t.downbeats, r.downbeats).mean() >= 0.8


@pytest.mark.parametrize("style", ["ambient", "rubato"])
def test_ambient_and_rubato_have_no_steady_beat(style):
    t = synth_track(style, seed=2, duration=20.0)
    r = analyse_rhythm(t.samples, t.rate)
    assert not r.steady and r.tempo is None and r.meter is None
    assert len(r.beats) == 0 and len(r.downbeats) == 0 and r.reason == "no steady beat"
    assert r.sections[0] == 0.0 and r.energy.max() > 0  # structure and energy still reported


@pytest.mark.parametrize("style, seconds", [("silence", 8.0), ("straight", 5.0)])
def test_silence_and_a_five_second_track_say_not_steady(style, seconds):
    t = synth_track(style, seed=1, duration=seconds)
    r = analyse_rhythm(t.samples, t.rate)
    assert not r.steady and len(r.beats) == 0 and r.reason
    assert len(r.energy) == int(np.ceil(seconds * ENERGY_RATE))
    assert MusicRhythm.from_json(r.to_json()) == r


def test_other_rates_and_tiny_input():
    t = synth_track("straight", seed=5, duration=10.0, rate=22050, bpm=100.0)
    r = analyse_rhythm(t.samples, t.rate)
    assert r.steady and r.tempo == pytest.approx(100.0, rel=0.03)
    assert analyse_rhythm(np.stack([t.samples, t.samples]), t.rate) == r  # stereo is mixed down
    assert not analyse_rhythm(np.zeros(10, np.float32), 16000).steady
    assert not analyse_rhythm(np.zeros(0, np.float32), 16000).steady


def test_json_round_trip(steady120):
    _, r = steady120
    back = MusicRhythm.from_json(r.to_json())
    assert back == r and back.beats.dtype == np.float64 and back.energy.dtype == np.float32
    hand = MusicRhythm(10.0, True, 90.0, (TempoCandidate(90.0, 0.7), TempoCandidate(45.0, 0.2)), 4,
                       np.array([0.5, 1.1667]), np.array([0.5]), np.array([0.0, 4.0]),
                       np.array([0.1, 0.25], np.float32), ending=8.0)
    assert MusicRhythm.from_json(hand.to_json()) == hand
    assert hand != MusicRhythm(10.0, False, None)
    with pytest.raises(ValueError):
        MusicRhythm.from_json("{not json")
    with pytest.raises(ValueError):
        MusicRhythm.from_json('{"duration": 3}')


def test_catalog_stores_rhythm_and_upgrades_old_catalogs(tmp_path, steady120):
    from engine.library.catalog import Catalog
    from engine.library.records import ProcessedFile
    from engine.library.schema import MIGRATIONS

    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)  # a catalog written before the rhythm table existed
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    _, r = steady120
    with Catalog(path) as cat:
        folder = cat.add_folder(tmp_path, "music")
        f = ProcessedFile(str(tmp_path / "a.flac"), 10, 1, "h", 14.0, None, None, [(0.0, 6.7), (6.7, 14.0)],
                          {"x": np.zeros((2, 3), np.float32)}, rhythm=r)
        item_id = cat.record_ok(folder.id, "music", f, "x", 6.7)
        assert cat.rhythm(item_id) == r
        assert cat.rhythm_versions(folder.id) == {item_id: RHYTHM_VERSION}
        other = MusicRhythm(14.0, False, None, reason="no steady beat")
        cat.store_rhythm(item_id, other)
        assert cat.rhythm(item_id) == other
        with pytest.raises(KeyError):
            cat.store_rhythm(item_id + 1, other)
        assert cat.verify() == []
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE rhythm SET data = '{' WHERE item_id = ?", (item_id,))
        assert cat.rhythm(item_id) is None and any("rhythm damaged" in p for p in cat.verify())
        cat.record_failure(folder.id, "music", f.path, 10, 2, "broken", "x", 6.7)
        assert cat.rhythm(item_id) is None


def test_scan_stores_a_rhythm_per_track_and_redoes_old_ones(tmp_path):
    from library_support import music_extractor

    from engine.jobs import run
    from engine.library.catalog import Catalog
    from engine.library.scan import scan
    from training.synthmedia import write_audio

    name, _, _ = music_extractor()
    folder = tmp_path / "music"
    folder.mkdir()
    drums = synth_track("straight", seed=4, duration=10.0, bpm=110.0)
    pads = synth_track("ambient", seed=4, duration=8.0)
    write_audio(folder / "drums.flac", drums.samples[None, :], sample_rate=drums.rate)
    write_audio(folder / "pads.flac", pads.samples[None, :], sample_rate=pads.rate)
    with Catalog(tmp_path / "catalog.sqlite") as cat:
        report = run(scan(cat, folder, "music", music_extractor_name=name, workers=1, time_limit=120))
        assert len(report.processed) == 2 and report.failed == []
        by_name = {it.path.rsplit("/", 1)[-1]: it for it in cat.items("music")}
        d = cat.rhythm(by_name["drums.flac"].id)
        p = cat.rhythm(by_name["pads.flac"].id)
        assert d.steady and d.tempo == pytest.approx(110.0, rel=0.03)
        assert _near(drums.beats, d.beats).mean() >= 0.9
        assert not p.steady and p.reason == "no steady beat"
        # an analysis from an older version is redone on the next scan; features are kept
        with sqlite3.connect(tmp_path / "catalog.sqlite") as conn:
            conn.execute("UPDATE rhythm SET version = 0 WHERE item_id = ?", (by_name["drums.flac"].id,))
        again = run(scan(cat, folder, "music", music_extractor_name=name, workers=1, time_limit=120))
        assert again.processed == [] and again.rhythm_updated == 1
        assert cat.rhythm_versions() == {it.id: RHYTHM_VERSION for it in by_name.values()}
        assert all(it.process_count == 1 for it in cat.items("music"))  # not decoded for features again
        assert cat.rhythm(by_name["drums.flac"].id) == d


def test_cli_beats_json(tmp_path, capsys):
    import json

    from engine.cli import main
    from training.synthmedia import write_audio

    t = synth_track("straight", seed=6, duration=10.0, bpm=100.0)
    path = write_audio(tmp_path / "song.flac", t.samples[None, :], sample_rate=t.rate)
    assert main(["beats", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"tempo", "tempo_alternatives", "meter", "beats", "downbeats", "sections", "energy_rate", "ending",
            "steady"} <= set(out)
    assert out["steady"] and out["tempo"] == pytest.approx(100.0, rel=0.03) and out["meter"] == 4
    assert MusicRhythm.from_dict(out).beats.shape == (len(out["beats"]),)
    assert main(["beats", str(path)]) == 0 and "bpm" in capsys.readouterr().out
    assert main(["beats", str(tmp_path / "missing.mp3")]) == 1
    assert "file not found" in capsys.readouterr().err


def test_fade_out_ending_sections_and_energy():
    t = synth_track("fade_out", seed=3, duration=30.0, bpm=120.0)
    r = analyse_rhythm(t.samples, t.rate)
    assert r.steady and r.ending == pytest.approx(t.ending, abs=0.07)  # the last downbeat before the fade
    assert r.sound_end > r.ending
    tail = r.energy[int((t.ending + 2) * ENERGY_RATE):int((t.duration - 1) * ENERGY_RATE)]
    assert tail.mean() < 0.6 * r.energy[: int(t.ending * ENERGY_RATE)].mean()
    s = synth_track("straight", seed=3, duration=40.0, bpm=120.0)
    rs = analyse_rhythm(s.samples, s.rate)
    assert rs.sections[0] == 0.0 and len(rs.sections) >= 2
    assert _near(s.sections[1:], rs.sections[1:], tol=1.0).all()  # every true boundary within 1 s
    assert set(np.round(rs.sections[1:], 4)) <= set(np.round(rs.downbeats, 4))  # on downbeats


@pytest.mark.parametrize("style, meter", [("straight", 4), ("waltz", 3)])
def test_bars_move_a_grid_tracked_on_the_off_beats_back_onto_the_beat(style, meter):
    # on dense real mixes the tracker sometimes follows the off-beats (hats, upstrokes) for a
    # whole section; the bar path over the half-beat grid puts the beats back on the beat
    from engine.rhythm.downbeats import bar_positions
    from engine.rhythm.signals import ANALYSIS_RATE, HOP, Frames

    t = synth_track(style, seed=5, duration=16.0)
    frames = np.round(t.beats * ANALYSIS_RATE / HOP).astype(int)
    off_beats = (frames[:-1] + frames[1:]) // 2
    found_meter, beats, positions = bar_positions(Frames(t.samples), off_beats)
    seconds = beats * HOP / ANALYSIS_RATE
    assert found_meter == meter and len(positions) == len(beats)
    assert _near(seconds, t.beats).mean() >= 0.95 and _near(t.beats[1:-1], seconds).mean() >= 0.95
    assert _near(t.downbeats[1:-1], seconds[positions == 1]).mean() >= 0.9


def test_slow_piano_is_read_at_its_slow_tempo():
    # the demo's slow piano (arpeggiated eighths under a melody in quarters) was read at x2
    from training.demo_music import SR, plan_track, render_track

    spec = plan_track(0, 1, (50, 70), style="piano")
    r = analyse_rhythm(render_track(spec).mean(axis=0), SR)
    assert r.steady and r.tempo == pytest.approx(spec.bpm, rel=0.04)
    assert any(abs(c.bpm - 2 * spec.bpm) < 0.04 * 2 * spec.bpm and c.confidence > 0 for c in r.tempo_alternatives)
    assert _near(np.arange(spec.bars * 4) * spec.beat_seconds, r.beats).mean() >= 0.8  # (the soft outro has none)


def test_a_half_note_pulse_is_read_at_its_beat():
    # the demo's strings: bass and long notes on beats 1 and 3, spiccato eighths only when
    # loud; the onsets repeat most strongly every two beats, which was read as the beat (41 bpm)
    from training.demo_music import SR, plan_track, render_track

    spec = plan_track(0, 3, (40, 60), style="strings")  # 82 bpm
    r = analyse_rhythm(render_track(spec).mean(axis=0), SR)
    assert r.steady and r.tempo == pytest.approx(spec.bpm, rel=0.04)
    assert any(abs(c.bpm - spec.bpm / 2) < 0.04 * spec.bpm / 2 for c in r.tempo_alternatives)  # x1/2 still offered
    # bowed notes swell for 50-80 ms: the beats sit where a note starts, not where its swell
    # peaks (0.75 of the true beats within 70 ms, a median 53 ms late, before)
    beats = np.arange(spec.bars * 4) * spec.beat_seconds
    assert _near(beats, r.beats).mean() >= 0.9


class _BarFrames:
    """Stand-in for :class:`engine.rhythm.signals.Frames` whose harmony, timbre and loudness
    change at given bars (60 frames a bar)."""

    def __init__(self, bars: int, changes: list[int]) -> None:
        rng = np.random.default_rng(0)
        self.n = 60 * bars
        part = np.searchsorted(changes, np.arange(self.n) // 60, side="right")  # [T] section index
        looks = rng.normal(0, 1, (len(changes) + 1, 25))  # one look per section
        x = looks[part].T + 0.05 * rng.normal(0, 1, (25, self.n))
        self.chroma, self.mfcc, self.loud_db = np.abs(x[:12]), x[12:24], x[24]

    def seconds(self, frames: np.ndarray) -> np.ndarray:
        from engine.rhythm.signals import ANALYSIS_RATE, HOP

        return np.asarray(frames) * (HOP / ANALYSIS_RATE)


def test_a_soft_intro_ends_its_section_on_its_own_bar():
    # the tracker found no beat in the first bar of a soft intro: the intro's four bars are still
    # counted from the start (the section was put a bar late, or dropped, when only found bars counted)
    from engine.rhythm.sections import find_sections

    f = _BarFrames(24, [4, 12])
    found_bars = np.arange(1, 24) * 60  # downbeats from bar 1 on
    starts = np.round(find_sections(f, found_bars) / f.seconds(60)).astype(int)  # in bars
    assert starts.tolist() == [0, 4, 12]


def test_the_grid_goes_back_through_a_soft_intro_not_through_silence():
    # a pad alone before the drums is in the track's tempo: a video cut to the intro needs bars
    # there (the grid started with the drums); silence before the music gets no beats
    t = synth_track("straight", seed=5, duration=12.0, bpm=120.0)
    lead = int(4.0 * t.rate)
    tt = np.arange(lead + len(t.samples)) / t.rate
    pad = (0.05 * sum(np.sin(2 * np.pi * hz * tt) for hz in (220.0, 277.2, 329.6))).astype(np.float32)
    pad[:lead] *= np.minimum(1.0, tt[:lead] / 0.5).astype(np.float32)  # a soft fade-in
    music = np.concatenate([np.zeros(lead, np.float32), t.samples])
    r = analyse_rhythm(music + pad, t.rate)
    intro = np.arange(0.0, 4.0, 0.5)  # the drums' grid carried back: beats every 0.5 s from 0
    assert r.steady and _near(intro, r.beats).all() and r.beats[0] < 0.1
    quiet = analyse_rhythm(music, t.rate)
    assert quiet.steady and quiet.beats[0] == pytest.approx(4.0, abs=0.07)
