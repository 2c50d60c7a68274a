"""Reading a dataset's media again, with a perturbation between decoding and the base features.

A feature dataset built by ``mvpt dataset build`` remembers its source folder; every item id
is :func:`training.build.item_id` of a file in it, so each test item leads back to its video.

The robustness analysis decodes each video once and runs the *same* base-feature model the
checkpoint was trained on, on perturbed copies of the decoded frames or audio:

- visual: the frames the extractor itself would sample (same count per segment, same
  decode size), then its own per-segment encoder (``encode_segment`` of the classic
  extractor; the mean of ``encode_frames`` for CLIP, as its ``extract`` does);
- music: the audio at the extractor's sample rate, then its own ``analyse_job`` (musicnn
  and classic-music both take samples on a grid).

With r = 1 both paths give what the extractors' ``extract`` gives (tested).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.features.base import FeatureExtractor
from engine.jobs import run
from engine.media.grid import SegmentGrid


class AnalysisError(ValueError):
    """An analysis cannot run on the given inputs; the message says what to do."""


def source_files(root: str | os.PathLike[str], manifest: dict[str, Any],
                 folder: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Item id -> media file, for a dataset built from media (``folder`` overrides the one
    the manifest names, e.g. after moving the videos)."""
    from training.build import find_videos, item_id

    src = folder or (manifest.get("source") or {}).get("folder")
    if not src:
        raise AnalysisError(f"{root}: this dataset does not say which folder of videos it was built from "
                            "(not made by `mvpt dataset build`?); pass --media FOLDER")
    src = Path(src)
    if not src.is_dir():
        raise AnalysisError(f"{src}: the dataset's source folder is not here; pass --media FOLDER")
    return {item_id(src, p): p for p in find_videos(src)}


@dataclass
class FrameEncoder:
    """How one visual extractor samples and encodes a segment's frames."""
    extractor: FeatureExtractor
    per_segment: int
    short_side: int
    encode: Callable[[np.ndarray], np.ndarray]   # uint8 [k, H, W, 3] -> float32 [dim]

    def read(self, path: Path, grid: SegmentGrid) -> list[np.ndarray]:
        """The sampled frames of every segment, uint8 [k, h, w, 3] each (decoded once)."""
        from engine.media.frames import sample_frames

        out: list[np.ndarray] = [np.zeros((0, 0, 0, 3), np.uint8)] * len(grid)
        for seg in sample_frames(path, grid, per_segment=self.per_segment, short_side=self.short_side):
            out[seg.index] = seg.frames
        return out

    def features(self, frames: list[np.ndarray], transform: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """float32 [T, dim] of the segments' frames after ``transform``."""
        return np.stack([self.encode(transform(f)) for f in frames]).astype(np.float32)


def frame_encoder(extractor: FeatureExtractor) -> FrameEncoder:
    """The :class:`FrameEncoder` of a visual encoder (:class:`engine.features.base.VisualEncoder`)."""
    if not all(hasattr(extractor, a) for a in ("encode_segments", "frames_per_segment", "frame_short_side")):
        raise AnalysisError(f"visual extractor {extractor.id} cannot be run on perturbed frames "
                            "(it is not a frame encoder)")

    def one_segment(frames: np.ndarray) -> np.ndarray:
        return extractor.encode_segments([frames])[0]

    return FrameEncoder(extractor, int(extractor.frames_per_segment), int(extractor.frame_short_side), one_segment)


@dataclass
class AudioEncoder:
    """How one music extractor reads samples: its sample rate and ``analyse_job``."""
    extractor: FeatureExtractor
    sample_rate: int

    def read(self, path: Path) -> np.ndarray:
        from engine.media.audio import decode_audio

        return decode_audio(path, self.sample_rate)

    def features(self, samples: np.ndarray, grid: SegmentGrid) -> np.ndarray:
        return np.asarray(run(self.extractor.analyse_job(samples, grid)).features, dtype=np.float32)


def audio_encoder(extractor: FeatureExtractor) -> AudioEncoder:
    if not hasattr(extractor, "analyse_job") or not hasattr(extractor, "sample_rate"):
        raise AnalysisError(f"music extractor {extractor.id} cannot be run on perturbed audio "
                            "(it is not a sample encoder)")
    return AudioEncoder(extractor, int(extractor.sample_rate))


def media_grid(path: Path, segment_seconds: float) -> SegmentGrid:
    """The grid ``mvpt dataset build`` used for ``path``."""
    from engine.media.probe import probe

    return SegmentGrid(probe(path).duration, segment_seconds)
