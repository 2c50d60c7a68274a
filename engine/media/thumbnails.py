"""One small picture per segment for the timeline."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from engine.jobs import CancelCheck

from .frames import sample_frames
from .grid import SegmentGrid
from .limits import DEFAULT_LIMITS, MediaLimits
from .probe import MediaInfo


def thumbnails(path: str | os.PathLike[str], grid: SegmentGrid, short_side: int = 90, *,
               info: MediaInfo | None = None, limits: MediaLimits = DEFAULT_LIMITS,
               cancel: CancelCheck | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(segment index, uint8 [h, w, 3])``: the frame nearest each segment's middle."""
    for seg in sample_frames(path, grid, per_segment=1, short_side=short_side, info=info,
                             limits=limits, cancel=cancel):
        yield seg.index, seg.frames[0]
