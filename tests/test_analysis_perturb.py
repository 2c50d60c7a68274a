"""The perturbations, the decode-once feature paths, the matrix statistics and the plots,
on small generated data (no trained world needed)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.jobs import run
from engine.media.grid import SegmentGrid
from training.analysis import perturb
from training.analysis.attributes import binomial_two_sided, far_from_uniform, genre_labels, top1_matrix
from training.analysis.plots import bars, heatmap, thumbnail_strip
from training.analysis.tags import summarise

SR = 16000


def _peak_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * SR / len(x))


def _pulses_per_second(x: np.ndarray) -> float:
    env = np.abs(x[:len(x) // 160 * 160]).reshape(-1, 160).max(axis=1)  # 10 ms frames
    rise = np.flatnonzero((env[1:] > 0.5 * env.max()) & (env[:-1] <= 0.5 * env.max()))
    return len(rise) / (len(x) / SR)


def test_brightness_and_hue():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    assert perturb.brightness(img, 1.0) is img
    half = perturb.brightness(img, 0.5)
    assert np.abs(half.astype(int) - np.round(img * 0.5)).max() <= 1
    assert perturb.brightness(np.full((1, 1, 3), 200, np.uint8), 1.5).max() == 255  # clipped
    grey = np.full((1, 4, 4, 3), 90, np.uint8)
    assert np.abs(perturb.hue_rotate(grey, 0.5).astype(int) - 90).max() <= 1  # grey has no hue
    red = np.zeros((1, 1, 1, 3), np.uint8)
    red[..., 0] = 200
    # r = 1 + 2/3 rotates by 120°: red -> green; r = 1 - 2/3: red -> blue
    assert np.argmax(perturb.hue_rotate(red, 1 + 2 / 3)[0, 0, 0]) == 1
    assert np.argmax(perturb.hue_rotate(red, 1 - 2 / 3)[0, 0, 0]) == 2
    assert perturb.hue_angle(0.7) == pytest.approx(-54.0)


def test_time_stretch_changes_tempo_not_pitch():
    t = np.arange(SR * 6) / SR
    x = (np.exp(-(t % 0.5) / 0.05) * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # 2 pulses/s at 440 Hz
    for r in (0.5, 1.5):
        y = perturb.time_stretch(x, SR, r)
        assert len(y) / SR == pytest.approx(6 / r, rel=0.03)
        assert _peak_hz(y[:SR * 2]) == pytest.approx(440, abs=3)
        assert _pulses_per_second(y) == pytest.approx(2 * r, rel=0.15)


def test_stretch_on_grid_keeps_each_segment_its_music():
    grid = SegmentGrid(8.0, 2.0)
    t = np.arange(SR * 2) / SR
    pitches = [220.0, 330.0, 495.0, 660.0]
    x = np.concatenate([np.sin(2 * np.pi * p * t) for p in pitches]).astype(np.float32)
    same = perturb.stretch_on_grid(x, SR, grid, 1.0)
    assert np.array_equal(same, x)
    y = perturb.stretch_on_grid(x, SR, grid, 0.5)  # slower: each segment holds its own middle second
    assert len(y) == len(x)
    for i, p in enumerate(pitches):
        assert _peak_hz(y[i * 2 * SR + SR // 4: i * 2 * SR + 7 * SR // 4]) == pytest.approx(p, abs=4)


def test_frames_and_audio_paths_match_the_extractors_at_r_1(tmp_path):
    """The decode-once paths the robustness analysis perturbs give the extractors' own features."""
    from engine.features.registry import create_extractor
    from training.analysis.media import audio_encoder, frame_encoder, media_grid
    from training.synthmedia import write_video

    video = write_video(tmp_path / "v.mp4", 6.0, size=(96, 54), fps=10, gop=10)
    grid = media_grid(video, 2.0)
    vis, mus = create_extractor("classic"), create_extractor("classic-music")
    enc = frame_encoder(vis)
    frames = enc.read(video, grid)
    np.testing.assert_allclose(enc.features(frames, lambda f: f), run(vis.extract(video, grid)), atol=1e-6)
    darker = enc.features(frames, lambda f: perturb.brightness(f, 0.5))
    assert darker[:, 24].mean() < 0.75 * enc.features(frames, lambda f: f)[:, 24].mean()  # luma mean
    aenc = audio_encoder(mus)
    samples = aenc.read(video)
    np.testing.assert_allclose(aenc.features(perturb.stretch_on_grid(samples, aenc.sample_rate, grid, 1.0), grid),
                               run(mus.extract(video, grid)), atol=1e-5)


def test_binomial_test_against_brute_force():
    from math import comb

    n, p = 12, 0.25
    pmf = [comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n + 1)]
    for k in (0, 3, 7, 12):
        brute = sum(q for q in pmf if q <= pmf[k] * (1 + 1e-7))
        assert binomial_two_sided(k, n, p) == pytest.approx(brute, rel=1e-9)


def test_top1_matrix_and_far_cells_on_known_structure():
    rng = np.random.default_rng(0)
    d, C = 16, 4
    centres = np.linalg.qr(rng.normal(size=(d, d)))[0][:C]  # orthonormal class directions
    cand = np.repeat(centres, 5, axis=0) + 0.05 * rng.normal(size=(C * 5, d))
    cand_labels = np.repeat(np.arange(C), 5)
    # "rock" queries point at class 2; "jazz" queries are random (no preference)
    rock = centres[2] + 0.1 * rng.normal(size=(60, d))
    jazz = rng.normal(size=(60, d))
    genres, counts = top1_matrix(np.concatenate([rock, jazz]), ["rock"] * 60 + ["jazz"] * 60, cand, cand_labels, C)
    assert genres == ["jazz", "rock"]
    assert counts[1, 2] == 60
    _, marks = far_from_uniform(counts, alpha=0.01)
    assert marks[1].tolist() == [True, True, True, True]  # 60 in one cell, 0 in three: all far
    assert marks[0].sum() <= 1


def test_genre_labels_take_the_genre_tags_only():
    names = ["guitar", "rock", "piano", "classical"]
    values = np.array([[0.9, 0.2, 0.1, 0.1], [0.9, 0.1, 0.8, 0.6]])
    assert genre_labels(values, names) == ["rock", "classical"]


def test_tag_summary_shows_the_library_balance():
    names = ["guitar", "rock", "classical", "piano"]
    rock = np.array([[0.8, 0.7, 0.05, 0.1]] * 3)
    classical = np.array([[0.1, 0.1, 0.9, 0.8]] * 3)
    s = summarise([(1, "a", names, rock), (2, "b", names, rock), (3, "c", names, rock), (4, "d", names, classical)])
    assert s.genres == {"rock": 75.0, "classical": 25.0}
    assert s.dominant == ("rock", 75.0)
    assert list(s.mean_tags)[0] == "guitar"
    assert s.tracks[3].genre == "classical" and s.tracks[3].top[0][0] == "classical"


def test_plots_are_written_and_readable(tmp_path):
    m = np.array([[80.0, 20.0], [50.0, 50.0]])
    h = heatmap(tmp_path / "h.png", m, ["rock (10)", "jazz (10)"], ["guitar", "piano"], "title",
                marks=np.array([[True, False], [False, False]]), vmax=100)
    b = bars(tmp_path / "b.png", ["rock", "jazz"], [75.0, 25.0], "genres", unit=" %")
    thumbs = [np.full((36, 64, 3), c, np.uint8) for c in (0, 128, 255)]
    s = thumbnail_strip(tmp_path / "s.png", thumbs, np.array([0.2, 0.5, 0.3]), "attention")
    for p in (h, b, s):
        with Image.open(p) as im:
            im.load()
            assert im.format == "PNG" and im.width > 100 and im.height > 40
    with Image.open(s) as im:
        px = np.asarray(im.convert("RGB"))
    # thumbnails pasted in order at x = 10 + i * (w + 6), y = 26, each as dark/grey/white as its frame
    w = round(64 * 54 / 36)
    for i, c in enumerate((0, 128, 255)):
        assert abs(int(px[26 + 20, 10 + i * (w + 6) + 20, 0]) - c) <= 2


def test_clip_frame_path_matches_its_extract_at_r_1(tmp_path):
    """CLIP (a tiny random open_clip built here, no weights): the mean of encode_frames over a
    segment's frames is what its extract gives; brightness x 0.5 changes the embedding."""
    from features_support import register_tiny_clip

    from engine.features.clip import ClipExtractor
    from training.analysis.media import frame_encoder, media_grid
    from training.synthmedia import write_video

    ex = ClipExtractor(register_tiny_clip(tmp_path / "cfg"), None, frames_per_segment=3)
    video = write_video(tmp_path / "v.mp4", 4.0, size=(96, 54), fps=10, gop=10)
    grid = media_grid(video, 2.0)
    enc = frame_encoder(ex)
    frames = enc.read(video, grid)
    base = enc.features(frames, lambda f: f)
    np.testing.assert_allclose(base, run(ex.extract(video, grid)), atol=1e-5)
    dark = enc.features(frames, lambda f: perturb.brightness(f, 0.5))
    assert np.abs(dark - base).max() > 1e-3
