"""Helpers for the feature tests: a fake extractor, a tiny open_clip config, no network.

Loaded as a plugin (``pytest_plugins``) for its fixtures and imported for its helpers, so
assertion rewriting is off here (PYTEST_DONT_REWRITE): it holds no asserts.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest

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


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test loudly."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[1:] if len(args) > 1 else args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def empty_weight_caches(tmp_path, monkeypatch):
    """Point the Hugging Face and open_clip URL caches at empty folders."""
    from engine.features import weights

    hub, clip_cache = tmp_path / "hf-hub", tmp_path / "clip-cache"
    hub.mkdir()
    clip_cache.mkdir()
    monkeypatch.setattr(weights, "_hf_cache", lambda: hub)
    monkeypatch.setattr(weights, "_clip_url_cache", lambda: clip_cache)
    return hub, clip_cache
