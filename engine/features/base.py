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
        """Decode ``path`` and return float32 ``[len(grid), dim]`` (as the job's result)."""
        ...


class FeatureError(Exception):
    """An extractor cannot run (missing weights, wrong device...). The message says what to do."""
