"""The weightless music extractor measures what its blocks say, on synthetic signals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.features.base import FeatureExtractor
from engine.features.music_classic import DIM, ClassicMusicExtractor, tempo_features
from engine.jobs import Cancelled, Progress, run
from engine.media.grid import SegmentGrid

SR = 16000
TEMPO, CLARITY, CHROMA, LOUD, BRIGHT = 196, 197, 206, 230, 232


def clicks(bpm: float, seconds: float) -> np.ndarray:
    """Short decaying 1 kHz blips on every beat."""
    t = np.arange(int(seconds * SR)) / SR
    phase = (t % (60.0 / bpm))
    return (0.5 * np.sin(2 * np.pi * 1000 * t) * np.exp(-phase * 60)).astype(np.float32)


def tone(freqs: list[float], seconds: float, amp: float = 0.2) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * sum(np.sin(2 * np.pi * f * t) for f in freqs)).astype(np.float32)


@pytest.fixture(scope="module")
def ext() -> ClassicMusicExtractor:
    return ClassicMusicExtractor()


def _bpm(row: np.ndarray) -> float:
    return 120.0 * 2 ** float(row[TEMPO])


def test_protocol_and_shape(ext):
    assert isinstance(ext, FeatureExtractor) and ext.modality == "music"
    assert ext.id == "classic-music:v1" and ext.dim == DIM == 235
    out = ext.analyse_audio(clicks(120, 20.0), SegmentGrid(20.0))
    assert out.features.shape == (3, DIM) and out.features.dtype == np.float32
    assert np.all(np.isfinite(out.features)) and out.tags is None and out.top_tags() == []


@pytest.mark.parametrize("bpm", [80.0, 100.0, 128.0, 150.0])
def test_tempo_of_a_click_track(ext, bpm):
    out = ext.analyse_audio(clicks(bpm, 14.0), SegmentGrid(14.0, segment_seconds=7.0))
    for row in out.features:
        assert _bpm(row) == pytest.approx(bpm, rel=0.03)
        assert row[CLARITY] > 0.35  # a clear pulse (frames of 16 ms blur non-integer lags)


def test_no_pulse_in_a_steady_tone():
    rng = np.random.default_rng(0)
    flat = rng.standard_normal(800).astype(np.float32) * 1e-3  # onset envelope of a drone
    feats = tempo_features(flat)
    assert feats[1] < 0.2


def test_chroma_names_the_notes(ext):
    a440 = ext.analyse_audio(tone([440.0], 4.0), SegmentGrid(4.0)).features[0]
    assert int(np.argmax(a440[CHROMA:CHROMA + 12])) == 9  # A
    c_major = ext.analyse_audio(tone([261.63, 329.63, 392.0], 4.0), SegmentGrid(4.0)).features[0]
    top3 = set(np.argsort(-c_major[CHROMA:CHROMA + 12])[:3].tolist())
    assert top3 == {0, 4, 7}  # C, E, G


def test_loudness_and_brightness(ext):
    rng = np.random.default_rng(1)
    grid = SegmentGrid(3.0)
    quiet = ext.analyse_audio(tone([220.0], 3.0, amp=0.01), grid).features[0]
    loud = ext.analyse_audio(tone([220.0], 3.0, amp=0.5), grid).features[0]
    assert loud[LOUD] - quiet[LOUD] == pytest.approx(np.log10(50.0), abs=0.05)  # 34 dB / 20
    hiss = rng.standard_normal(3 * SR).astype(np.float32) * 0.1
    bright = ext.analyse_audio(hiss, grid).features[0]
    assert bright[BRIGHT] > loud[BRIGHT] + 3  # noise: centroid octaves above a 220 Hz tone
    assert bright[234] > 0.5 > loud[234]  # noise is flat, a tone is not
    silent = ext.analyse_audio(np.zeros(3 * SR, np.float32), grid).features[0]
    assert np.all(np.isfinite(silent)) and silent[LOUD] == pytest.approx(-4.0, abs=0.01)
    assert np.all(silent[CHROMA:CHROMA + 24] == 0)


def test_onsets_separate_beats_from_drones(ext):
    grid = SegmentGrid(6.0)
    beats = ext.analyse_audio(clicks(120, 6.0), grid).features[0]
    drone = ext.analyse_audio(tone([220.0], 6.0), grid).features[0]
    assert beats[192] > 5 * drone[192]  # onset strength
    assert beats[195] == pytest.approx(0.2, abs=0.05)  # 2 onsets a second, / 10


def test_short_audio_and_segments(ext):
    out = ext.analyse_audio(clicks(120, 0.5), SegmentGrid(0.5))
    assert out.features.shape == (1, DIM) and np.all(np.isfinite(out.features))
    grid = SegmentGrid(10.0, segment_seconds=0.75)
    out = ext.analyse_audio(clicks(120, 10.0), grid)
    assert out.features.shape == (len(grid), DIM) == (13, DIM) and np.all(np.isfinite(out.features))
    assert all(_bpm(row) == pytest.approx(120, rel=0.03) for row in out.features)  # 6 s window
    with pytest.raises(ValueError):
        ext.analyse_audio(np.zeros(0, np.float32), SegmentGrid(1.0))


def test_extract_from_file_with_progress_and_cancel(ext, tmp_path: Path):
    path = tmp_path / "beat.wav"
    sf.write(path, clicks(100, 12.0), SR)
    grid = SegmentGrid(12.0)
    events: list[Progress] = []
    feats = run(ext.extract(path, grid), events.append)
    assert feats.shape == (2, DIM)
    assert events[0].stage == "decode" and events[-1].done == events[-1].total == 2
    samples, _ = sf.read(path, dtype="float32")  # what 16-bit PCM kept
    np.testing.assert_allclose(feats, ext.analyse_audio(samples, grid).features, atol=1e-5)
    with pytest.raises(Cancelled):
        run(ext.extract(path, grid, cancel=lambda: True))


def test_fallback_does_not_load_torch():
    code = ("import sys, engine.features.music_classic as m; m.ClassicMusicExtractor(); "
            "sys.exit('torch' in sys.modules)")
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0
