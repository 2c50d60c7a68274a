"""The segment grid: how a video or a track is cut into segments of ``t`` seconds.

Policy (the same for footage and music, so indices line up when a video is paired with
its soundtrack):

- Segments start at ``0, t, 2t, ...``; segment ``i`` covers ``[i*t, (i+1)*t)``.
- The last, partial piece becomes its own (shorter) segment when it is at least
  ``min_tail`` of a segment long (default half); a shorter tail is merged into the
  previous segment, which then lasts up to ``1.5 t``. No second of media is left without
  a segment, and no segment is a sliver too short to characterise.
- Media shorter than one segment get one segment covering all of it.
- Start times stay on multiples of ``t``, so "start the song at segment j" is ``j*t``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

DEFAULT_SEGMENT_SECONDS = 6.7
"""The paper's t for music videos (YT8M-MusicVideo)."""


@dataclass(frozen=True)
class Segment:
    index: int
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def middle(self) -> float:
        return 0.5 * (self.start + self.end)


@dataclass(frozen=True)
class SegmentGrid:
    duration: float
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    min_tail: float = 0.5

    def __post_init__(self) -> None:
        if not (self.segment_seconds > 0 and math.isfinite(self.segment_seconds)):
            raise ValueError(f"segment length must be a positive number of seconds, got {self.segment_seconds}")
        if not (self.duration > 0 and math.isfinite(self.duration)):
            raise ValueError(f"duration must be positive and finite, got {self.duration}")
        if not 0.0 <= self.min_tail <= 1.0:
            raise ValueError("min_tail is a fraction of a segment, between 0 and 1")

    def __len__(self) -> int:
        t = self.segment_seconds
        full = int(math.floor(self.duration / t + 1e-9))
        tail = self.duration - full * t
        if full == 0:
            return 1
        return full + (1 if tail >= self.min_tail * t - 1e-9 and tail > 1e-6 else 0)

    def __iter__(self) -> Iterator[Segment]:
        n = len(self)
        t = self.segment_seconds
        for i in range(n):
            end = self.duration if i == n - 1 else (i + 1) * t
            yield Segment(i, i * t, end)

    def __getitem__(self, i: int) -> Segment:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        t = self.segment_seconds
        return Segment(i, i * t, self.duration if i == n - 1 else (i + 1) * t)

    @property
    def segments(self) -> list[Segment]:
        return list(self)

    def index_at(self, seconds: float) -> int:
        """The segment that contains time ``seconds`` (clamped to the grid)."""
        i = int(seconds // self.segment_seconds) if seconds > 0 else 0
        return min(i, len(self) - 1)

    def sample_times(self, per_segment: int) -> list[list[float]]:
        """``per_segment`` evenly spread times inside each segment (centres of equal slots)."""
        if per_segment < 1:
            raise ValueError("per_segment must be at least 1")
        return [[s.start + (j + 0.5) * s.duration / per_segment for j in range(per_segment)] for s in self]


def clock(seconds: float) -> str:
    """``"m:ss.s"``, how segment times and start offsets are shown (CLI, GUI, reports)."""
    s = max(0.0, float(seconds))
    return f"{int(s // 60)}:{s % 60:04.1f}"
