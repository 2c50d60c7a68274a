"""What a music extractor returns for one track (numpy only, shared with the classic one)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class MusicnnOutput:
    """What a music extractor says about one track, one row per segment."""
    features: np.ndarray
    """float32 ``[T, dim]``: the vectors fed to the music model."""
    tags: np.ndarray | None
    """float32 ``[T, n_tags]`` mean tag probabilities per segment, or None (classic)."""
    tag_names: list[str] = field(default_factory=list)

    def top_tags(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most probable tags over the whole track (mean over segments)."""
        if self.tags is None or len(self.tags) == 0:
            return []
        track = self.tags.mean(axis=0)
        order = np.argsort(-track)[:k]
        return [(self.tag_names[i], float(track[i])) for i in order]
