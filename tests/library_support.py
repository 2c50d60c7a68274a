"""Helpers shared by the library tests (no tests here): media written in code, the music
extractor to scan with, a small random MVPT checkpoint, and a scan processor that crashes or
hangs on purpose (imported by name inside the scan's worker processes)."""

from __future__ import annotations

import os
import signal
import time
from functools import lru_cache
from pathlib import Path

import numpy as np


@lru_cache(maxsize=1)
def music_extractor() -> tuple[str, str, int]:
    """``(name, id, dim)`` of the weightless music extractor, or musicnn until it is available."""
    from engine.features.base import FeatureError
    from engine.features.registry import create_extractor

    for name in ("classic-music", "musicnn"):
        try:
            e = create_extractor(name)
        except FeatureError:
            continue
        return name, e.id, int(e.dim)
    import pytest

    pytest.skip("no music extractor can be built here")
    raise AssertionError  # unreachable


@lru_cache(maxsize=1)
def visual_extractor() -> tuple[str, str, int]:
    from engine.features.registry import create_extractor

    e = create_extractor("classic")
    return "classic", e.id, int(e.dim)


def write_songs(folder: Path, n: int, seconds: float = 8.0, ext: str = ".flac") -> list[Path]:
    """``n`` short songs with distinct pitches and tempi, titled "Song i" by "Band"."""
    from training.synthmedia import tone, write_audio

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"song{i:02d}{ext}"
        x = tone(seconds, 22050, freq=180.0 * (1.25 ** i), channels=2, bpm=80 + 13 * i)
        out.append(write_audio(p, x, sample_rate=22050, tags={"title": f"Song {i}", "artist": "Band"}))
    return out


def save_random_checkpoint(directory: Path, *, seed: int = 0, music: tuple[str, int] | None = None,
                           visual: tuple[str, int] | None = None, seq_len: int = 4, out_dim: int = 32):
    """A small random-initialised MVPT saved as a real checkpoint; returns the loaded model."""
    import torch

    from engine.model import CheckpointConfig, MVPTConfig, build_model, load_checkpoint, save_checkpoint

    _, mid, mdim = music_extractor() if music is None else (None, *music)
    _, vid, vdim = visual_extractor() if visual is None else (None, *visual)
    cfg = MVPTConfig(visual_dim=vdim, music_dim=mdim, d_model=32, n_layers=1, n_heads=4, ff_dim=64,
                     out_dim=out_dim, seq_len=seq_len, dropout=0.0)
    torch.manual_seed(seed)
    model = build_model(cfg)
    save_checkpoint(directory, model, CheckpointConfig(cfg, {"visual": {"id": vid, "dim": vdim},
                                                            "music": {"id": mid, "dim": mdim}}, 6.7, seq_len))
    return load_checkpoint(directory)


def clustered(n: int, d: int, centres: int = 50, spread: float = 0.6, seed: int = 0,
              point_seed: int | None = None) -> np.ndarray:
    """Unit vectors around ``centres`` random directions (shaped like embeddings, not uniform).
    The centres depend on ``seed`` only; ``point_seed`` draws other points around them."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, d)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    if point_seed is not None:
        rng = np.random.default_rng(point_seed)
    x = c[rng.integers(0, centres, n)] + spread * rng.standard_normal((n, d)).astype(np.float32) / np.sqrt(d)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def misbehaving_process(path: str):
    """Scan processor for the isolation test: files named ``crash*`` kill their worker with
    SIGSEGV, ``hang*`` never return, ``hog*`` allocate 5 GiB; everything else goes to the real processor."""
    from engine.library.worker_task import process_file

    name = os.path.basename(path)
    if name.startswith("crash"):
        os.kill(os.getpid(), signal.SIGSEGV)
    if name.startswith("hang"):
        while True:
            time.sleep(1)
    if name.startswith("hog"):
        np.ones(5 << 30, dtype=np.uint8)  # 5 GiB: more than the test's limit allows
    return process_file(path)
