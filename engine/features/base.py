"""The one small protocol every base-feature extractor follows.

The paper reads each segment with a frozen "base feature" model and averages over the
segment. Whatever the model (CLIP, the weightless classic extractor, musicnn, ...), the rest
of the system only sees: a stable ``id``, a ``dim``, a ``modality``, and ``[T, dim]`` float32
arrays, one row per segment of a :class:`~engine.media.grid.SegmentGrid`.
"""

from __future__ import annotations

import os
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from engine.jobs import CancelCheck, Job
from engine.media.grid import SegmentGrid

Modality = Literal["visual", "music"]


@runtime_checkable
class FeatureExtractor(Protocol):
    id: str
    """Stable identifier: model + weights + preprocessing version, e.g.
    ``"clip:ViT-B-32:openai:v1"``. It goes into every cache key, dataset manifest and
    checkpoint; change it whenever outputs would change."""
    dim: int
    modality: Modality

    def extract(self, path: str | os.PathLike[str], grid: SegmentGrid, *,
                cancel: CancelCheck | None = None) -> Job[np.ndarray]:
        """Decode ``path`` and return float32 ``[len(grid), dim]`` (as the job's result).
        A convenience: it runs the one analysis pass (:mod:`engine.analysis.read`), which
        calls the pure encoding methods below."""
        ...


@runtime_checkable
class VisualEncoder(FeatureExtractor, Protocol):
    """A visual extractor as the analysis pass drives it: frames in, vectors out."""
    frames_per_segment: int
    frame_short_side: int
    """Short side (px) of the frames it wants, decoded upright and scaled by the media layer."""
    segments_per_batch: int
    """How many segments to hand it at once (CLIP batches on the GPU; 1 for the classic one)."""

    def encode_segments(self, segments: list[np.ndarray]) -> np.ndarray:
        """Each uint8 ``[k, H, W, 3]`` (one segment's frames) -> float32 ``[n, dim]``."""
        ...

    def encode_images(self, images: list[np.ndarray]) -> np.ndarray:
        """Still images, each read as a one-frame segment -> float32 ``[n, dim]``."""
        ...


@runtime_checkable
class MusicEncoder(FeatureExtractor, Protocol):
    """A music extractor as the analysis pass drives it: mono samples in, vectors and tags out."""
    sample_rate: int

    def analyse_job(self, samples: np.ndarray, grid: SegmentGrid,
                    cancel: CancelCheck | None = None) -> Job:
        """float32 mono ``samples`` at :attr:`sample_rate` -> a ``MusicnnOutput`` (features
        ``[T, dim]``, tags ``[T, n]`` or None, tag names) as the job's result."""
        ...


class FeatureError(Exception):
    """An extractor cannot run (missing weights, wrong device...). The message says what to do."""
