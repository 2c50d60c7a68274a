"""Helpers for the feature tests: a fake extractor and a tiny open_clip config (random
weights only). The ``no_network`` and ``empty_weight_caches`` fixtures are in conftest.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from engine.jobs import Progress

TINY_CLIP = "MVPT-Tiny-Test"
TINY_CLIP_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def register_tiny_clip(folder: Path) -> str:
    """Register a 2-layer open_clip config (random weights only) and return its name."""
    from engine.features.weights import import_open_clip

    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{TINY_CLIP}.json").write_text(json.dumps(TINY_CLIP_CFG))
    import_open_clip().add_model_config(folder)
    return TINY_CLIP


class FakeExtractor:
    """Deterministic features from the grid alone; counts how often it really extracts."""

    modality = "visual"

    def __init__(self, id: str = "fake:v1", dim: int = 6, scale: float = 1.0) -> None:
        self.id, self.dim, self.scale = id, dim, scale
        self.frames_per_segment = 2
        self.calls = 0

    def extract(self, path, grid, *, cancel=None):
        self.calls += 1
        yield Progress("extract", 0, len(grid))
        t = np.arange(len(grid) * self.dim, dtype=np.float32).reshape(len(grid), self.dim)
        return (np.sin(t) * self.scale).astype(np.float32)
