"""The weightless visual extractor: each block responds to what it claims to measure."""

from __future__ import annotations

import numpy as np
import pytest

from engine.features.classic_visual import (
    FEATURE_NAMES,
    ClassicVisualExtractor,
    phase_shifts,
    segment_features,
)
from engine.jobs import Cancelled, Progress, run
from engine.media.grid import SegmentGrid
from training.synthmedia import _frame_rgb, write_video

IDX = {n: i for i, n in enumerate(FEATURE_NAMES)}


def feat(frames: np.ndarray, name: str) -> float:
    return float(segment_features(frames)[IDX[name]])


def scene(w: int = 320, h: int = 180, k: int = 8, step: int = 3) -> np.ndarray:
    """uint8 [k, h, w, 3]: the synthetic moving gradient with a bouncing block."""
    return np.stack([_frame_rgb(i * step, 25, w, h) for i in range(k)])


def solid(rgb, k: int = 4, h: int = 90, w: int = 160) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (k, h, w, 3)).copy()


def smooth_noise(h: int, w: int, seed: int) -> np.ndarray:
    """uint8 [h, w, 3] texture with structure at several scales (for shifts and cuts)."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((h // 8 + 1, w // 8 + 1, 3))
    img = np.kron(coarse, np.ones((8, 8, 1)))[:h, :w] * 0.7 + rng.random((h, w, 3)) * 0.3
    return (img * 255).astype(np.uint8)


def test_vector_shape_range_and_determinism():
    frames = scene()
    a, b = segment_features(frames), segment_features(frames.copy())
    assert a.shape == (ClassicVisualExtractor.dim,) == (len(FEATURE_NAMES),) and a.dtype == np.float32
    assert np.all((a >= 0) & (a <= 1))
    np.testing.assert_array_equal(a, b)
    for block in ("hue_", "sat_q", "luma_"):
        part = a[[i for n, i in IDX.items() if n.startswith(block) and n != "luma_mean"]]
        assert part.sum() == pytest.approx(1.0, abs=1e-5), block


def test_independent_of_input_resolution():
    big, small, tiny = segment_features(scene(398, 224)), segment_features(scene(256, 144)), segment_features(scene(160, 90))
    assert np.abs(big - small).max() < 0.03
    assert np.abs(big - tiny).max() < 0.05


def test_brightness_and_contrast():
    frames = scene()
    dark = (frames * 0.25).astype(np.uint8)
    assert feat(dark, "luma_mean") < feat(frames, "luma_mean") - 0.3
    assert feat(dark, "dark_fraction") > 0.5 > feat(frames, "dark_fraction")
    checker = np.kron(np.indices((9, 16)).sum(axis=0) % 2, np.ones((10, 10)))[..., None].repeat(3, -1) * 255
    checker = np.broadcast_to(checker.astype(np.uint8), (2, 90, 160, 3))
    assert feat(checker, "contrast") > 0.9 and feat(solid((128, 128, 128)), "contrast") == pytest.approx(0.0, abs=1e-6)


def test_hue_saturation_and_colourfulness():
    red, blue, grey = segment_features(solid((230, 20, 20))), segment_features(solid((20, 20, 230))), segment_features(solid((120, 120, 120)))
    assert red[IDX["hue_000"]] == pytest.approx(1.0)
    assert blue[IDX["hue_240"]] == pytest.approx(1.0)
    hues = [i for n, i in IDX.items() if n.startswith("hue_")]
    assert grey[hues].sum() == 0.0 and grey[IDX["saturation"]] == pytest.approx(0.0, abs=1e-6)
    assert red[IDX["colourfulness"]] > 0.3 and grey[IDX["colourfulness"]] == pytest.approx(0.0, abs=1e-6)
    assert red[IDX["warmth"]] > 0.8 and blue[IDX["warmth"]] < 0.2
    assert red[IDX["sat_q3"]] == pytest.approx(1.0)


def test_edge_orientation():
    stripes = (np.arange(160) // 8 % 2 * 255).astype(np.uint8)
    vertical = np.broadcast_to(stripes[None, :, None], (90, 160, 3))[None].repeat(2, 0)
    horizontal = np.ascontiguousarray(vertical.transpose(0, 2, 1, 3))[:, :90, :160]
    v, h = segment_features(vertical), segment_features(horizontal)
    assert v[IDX["orient_v"]] > 0.9 and h[IDX["orient_h"]] > 0.9
    assert v[IDX["edge_density"]] > 0.05
    assert segment_features(solid((90, 90, 90)))[IDX["edge_density"]] == 0.0


def test_phase_correlation_finds_a_pan():
    img = smooth_noise(120, 200, 0).mean(axis=-1).astype(np.float32) / 255
    frames = np.stack([np.roll(img, (2 * i, 5 * i), axis=(0, 1)) for i in range(3)])
    np.testing.assert_array_equal(phase_shifts(frames), [[2, 5], [2, 5]])


def test_motion_static_vs_pan():
    still = np.repeat(smooth_noise(180, 320, 1)[None], 8, axis=0)
    pan = np.stack([np.roll(smooth_noise(180, 320, 1), 10 * i, axis=1) for i in range(8)])  # 2 px at half size
    s, p = segment_features(still), segment_features(pan)
    for name in ("change_mean", "changed_fraction", "global_shift", "cut_fraction"):
        assert s[IDX[name]] == 0.0, name
    assert p[IDX["change_mean"]] > 0.2 and p[IDX["global_shift"]] > 0.05
    # A pan is camera motion: once the shift is undone little change is left.
    assert p[IDX["residual_change"]] < 0.5 * p[IDX["change_mean"]]


def test_cut_detection():
    a, b = smooth_noise(90, 160, 2), (smooth_noise(90, 160, 3) * [0.2, 0.3, 1.0]).astype(np.uint8)
    one_cut = np.stack([a] * 4 + [b] * 4)
    every = np.stack([a, b] * 4)
    assert feat(one_cut, "cut_fraction") == pytest.approx(1 / 7)
    assert feat(every, "cut_fraction") == pytest.approx(1.0)
    assert feat(scene(), "cut_fraction") == 0.0


def test_single_frame_has_no_motion():
    f = segment_features(scene(k=1))
    assert np.all(f[IDX["change_mean"]:] == 0.0)


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        segment_features(np.zeros((0, 10, 10, 3), np.uint8))
    with pytest.raises(ValueError):
        ClassicVisualExtractor(frames_per_segment=0)


@pytest.fixture(scope="module")
def cut_video(tmp_path_factory):
    """8 s: first 4 s one still shot, then a new shot every 0.4 s."""
    a, b = smooth_noise(90, 160, 4), (smooth_noise(90, 160, 5) * [1.0, 0.3, 0.2]).astype(np.uint8)
    return write_video(tmp_path_factory.mktemp("cv") / "cuts.mp4", 8.0, size=(160, 90), fps=25, gop=5,
                       audio=False, frames_fn=lambda i: a if i < 100 or (i // 10) % 2 else b)


def test_extract_on_video_is_a_job(cut_video):
    ex = ClassicVisualExtractor()
    grid = SegmentGrid(8.0, 4.0)
    events = []
    feats = run(ex.extract(cut_video, grid), events.append)
    assert feats.shape == (2, ex.dim) and feats.dtype == np.float32
    assert all(isinstance(e, Progress) for e in events) and events[-1].done == 2
    assert feats[0, IDX["cut_fraction"]] == 0.0 < feats[1, IDX["cut_fraction"]]
    assert feats[1, IDX["change_mean"]] > feats[0, IDX["change_mean"]]
    assert ex.id == "classic-visual:v1:k8:w72"


def test_extract_can_be_cancelled(cut_video):
    with pytest.raises(Cancelled):
        run(ClassicVisualExtractor().extract(cut_video, SegmentGrid(8.0, 2.0), cancel=lambda: True))
