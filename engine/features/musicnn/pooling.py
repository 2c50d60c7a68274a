"""From per-patch outputs to per-segment features.

musicnn reads 3 s patches; the system wants one row per segment of a
:class:`~engine.media.grid.SegmentGrid` (6.7 s by default, sometimes shorter or longer; the
last one of a track may be short). Patches are computed once over the whole track, then a
segment takes every patch whose *centre* lies inside it. A segment that no centre falls in
(segments shorter than the patch hop) takes the single patch whose centre is nearest to its
middle, so every segment gets at least one patch and no audio is read twice.
"""

from __future__ import annotations

import numpy as np

from engine.media.grid import SegmentGrid

from .preprocess import FRAME_SECONDS, PATCH_FRAMES


def patch_centres(starts: np.ndarray, patch_frames: int = PATCH_FRAMES) -> np.ndarray:
    """Centre times in seconds of patches starting at frames ``starts`` (frame k is centred
    at ``k * hop / sr`` because the STFT is centred)."""
    return (starts + (patch_frames - 1) / 2) * FRAME_SECONDS


def assign_patches(grid: SegmentGrid, centres: np.ndarray) -> list[np.ndarray]:
    """For each segment, the indices of the patches that describe it (never empty)."""
    if len(centres) == 0:
        raise ValueError("no patches to assign")
    n = len(grid)
    t = grid.segment_seconds
    seg_of = np.minimum(np.floor(np.maximum(centres, 0.0) / t), n - 1).astype(np.int64)  # = grid.index_at
    groups: list[np.ndarray] = []
    for seg in grid:
        idx = np.flatnonzero(seg_of == seg.index)
        if len(idx) == 0:
            idx = np.array([int(np.argmin(np.abs(centres - seg.middle)))])
        groups.append(idx)
    return groups


def pool_mean_max(values: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """``[P, D]`` per patch -> ``[T, 2 D]``: per segment, the mean then the max over its patches."""
    out = np.empty((len(groups), 2 * values.shape[1]), dtype=np.float32)
    for i, idx in enumerate(groups):
        chunk = values[idx]  # [n_i, D]
        out[i, : values.shape[1]] = chunk.mean(axis=0)
        out[i, values.shape[1]:] = chunk.max(axis=0)
    return out


def pool_mean(values: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """``[P, D]`` -> ``[T, D]``: per segment, the mean over its patches."""
    return np.stack([values[idx].mean(axis=0) for idx in groups]).astype(np.float32)
