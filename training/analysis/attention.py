"""Attention (paper Sec. 5, Fig. 5): rollout weights of the visual Transformer per segment.

A video is cut on the checkpoint's segment grid, read by the checkpoint's visual base-feature
extractor, and encoded by f_v with its attention maps; attention rollout (Abnar & Zuidema
2020, :mod:`engine.model.rollout`) gives one weight per segment (how much the video's
``[CLS]`` output draws on it; windows of L are merged as the recommender does). The plot shows
each segment's thumbnail with its weight as a bar under it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from engine.jobs import CancelCheck, Job, Progress, check_cancel, run

from .plots import thumbnail_strip
from .report import Report


@dataclass
class AttentionResult:
    video: str
    checkpoint: str
    extractor: str
    segment_seconds: float
    starts: list[float]
    ends: list[float]
    weights: list[float]            # (T,) rollout weight per segment, sums to 1
    windows: list[tuple[int, int]]  # (start, length) of the windows of L the video was read in


def attention(video: str | os.PathLike[str], checkpoint: str, device: str = "cpu",
              cancel: CancelCheck | None = None) -> Job[tuple[AttentionResult, list[np.ndarray]]]:
    """(result, thumbnails uint8 [h, w, 3] per segment) for ``video``."""
    from engine.analysis.read import read_media
    from engine.features.registry import extractor_for_id
    from engine.model.checkpoint import load_checkpoint
    from engine.model.windows import encode_sequence

    loaded = load_checkpoint(checkpoint, device=device)
    path = Path(video)
    extractor = extractor_for_id(loaded.config.visual_id, device)
    yield Progress("attention", 0, 2, "base features and thumbnails")
    read = yield from read_media(path, extractor, loaded.config.segment_seconds, thumbnails=True, cancel=cancel)
    grid, feats, thumbs = read.grid, read.features, list(read.thumbnails)  # [T, Dv]
    check_cancel(cancel)
    yield Progress("attention", 1, 2, "f_v with attention")
    out = encode_sequence(loaded.model.visual, torch.as_tensor(np.asarray(feats, np.float32)), need_weights=True)
    assert out.attention is not None
    yield Progress("attention", 2, 2, "done")
    result = AttentionResult(str(path), str(loaded.path), extractor.id, float(grid.segment_seconds),
                             [s.start for s in grid], [s.end for s in grid],
                             [float(w) for w in out.attention.weights], [tuple(w) for w in out.attention.windows])
    return result, thumbs


def write_attention(result: AttentionResult, thumbs: list[np.ndarray], out: str | os.PathLike[str]) -> Path:
    """``out/attention.png`` (thumbnails with their weight), ``attention.json``, ``attention.md``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    w = np.asarray(result.weights)
    T = len(w)
    labels = [f"{_mmss(s)} {100 * x:.1f}%" for s, x in zip(result.starts, w, strict=True)]
    thumbnail_strip(out / "attention.png", thumbs, w, f"Attention rollout of f_v: {Path(result.video).name} "
                    f"({T} segments x {result.segment_seconds:g} s; grey line: uniform {100 / T:.1f} %)", labels=labels,
                    reference=1.0 / T)
    (out / "attention.json").write_text(json.dumps(asdict(result), indent=1) + "\n")
    rep = Report(f"Attention: {Path(result.video).name}")
    rep.para(f"Checkpoint `{result.checkpoint}`, visual features `{result.extractor}`. Attention rollout over "
             f"the visual Transformer f_v: one weight per segment (they sum to 100 %; uniform would be "
             f"{100 / T:.1f} %). Read in {len(result.windows)} window(s) of L segments.")
    rep.image("attention.png", "thumbnails with their attention weight")
    top = np.argsort(-w)[:min(5, T)]
    rep.heading("Most attended segments")
    rep.table(["segment", "time", "weight (%)", "x uniform"],
              [[str(i), f"{_mmss(result.starts[i])}–{_mmss(result.ends[i])}", f"{100 * w[i]:.2f}", f"{w[i] * T:.2f}"]
               for i in top])
    rep.heading("All segments")
    rep.table(["segment", "start (s)", "end (s)", "weight (%)"],
              [[str(i), f"{result.starts[i]:.1f}", f"{result.ends[i]:.1f}", f"{100 * w[i]:.2f}"] for i in range(T)])
    return rep.write(out / "attention.md")


def _mmss(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def attention_report(video: str, checkpoint: str, out: str, device: str = "cpu") -> Path:
    result, thumbs = run(attention(video, checkpoint, device))
    return write_attention(result, thumbs, out)
