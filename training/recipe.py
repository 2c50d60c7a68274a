"""The training recipe by the size of the set: the fixed recipe of the benchmark figures for
large sets and whenever epochs are given, and below ``LARGE_SET`` training videos a recipe
that adapts to the data (step budget, capacity, L, batch, temperature, early stopping),
measured in ``bench/learn.py`` (docs/training.md, "Small sets"). :mod:`training.train` uses it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

LARGE_SET = 1000
"""Training videos from which the automatic recipe is the fixed one the benchmark figures of
docs/training.md were measured with (30 epochs of the 5.6 M-parameter model) with a [CLS]
that reads the mean (``LARGE``); below it the recipe adapts to the data (:func:`auto_recipe`)."""
SOFT_TAU_BELOW = 200
"""Training videos below which the InfoNCE temperature is 0.1 instead of 0.05 (docs/training.md,
"Small sets")."""
MIN_JUDGE_VIDEOS = 20
"""A held-out split with fewer videos than this cannot tell a good model from a lucky one:
training warns."""

LEGACY: dict[str, Any] = dict(epochs=30, batch_size=64, lr=7e-4, weight_decay=0.05, warmup_epochs=2.0, tau=0.05,
                              seq_len=30, d_model=256, n_layers=4, n_heads=8, ff_dim=768, hidden_dim=1344,
                              dropout=0.1, out_dim=256, save_every=1, augment=False, cls_mean=False, track_weight=1.0,
                              track_head=0)
"""The fixed recipe (every field that ``None`` leaves to the data, at its value before the
recipe adapted): used whenever ``epochs`` is given (the benchmark figures of docs/training.md,
"Results", were measured with it), and, with a [CLS] that reads the mean (``LARGE``), for sets
of ``LARGE_SET`` training videos and more."""
LARGE: dict[str, Any] = dict(LEGACY, cls_mean=True, track_head=LEGACY["hidden_dim"])
"""The default from ``LARGE_SET`` training videos on: the fixed recipe with ``cls_mean`` (the
track-level [CLS] starts from the denoised mean input; on 300 pairs the plain [CLS] lost to an
MLP of the mean feature at track level, 42.5 vs 62.7 R@10: docs/training.md, "Small sets")."""


def auto_recipe(n_videos: int, lengths: np.ndarray) -> dict[str, Any]:
    """The settings for a set of ``n_videos`` training videos of ``lengths`` segments each.

    From ``LARGE_SET`` videos on, ``LARGE``. Below, a step budget instead of epochs (a
    set of 160 pairs got ~60 optimiser steps from 30 epochs), a smaller and more regularised
    model (the 5.6 M-parameter one memorises a few hundred pairs; width 64 under 5,000
    training segments, 128 above), L from the clips' own
    lengths (no crop longer than most clips), a batch of ~1,000 segments (InfoNCE's
    negatives), validation ~25 times over the budget with early stopping; measured in
    ``bench/learn.py`` (docs/training.md, "Small sets")."""
    if n_videos >= LARGE_SET:
        return dict(LARGE)
    lengths = np.asarray(lengths, dtype=np.float64)
    L = int(np.clip(np.percentile(lengths, 90), 1, LEGACY["seq_len"])) if len(lengths) else LEGACY["seq_len"]
    crop = float(np.mean(np.minimum(lengths, L))) if len(lengths) else float(L)
    batch = int(np.clip(round(1024 / max(crop, 1.0)), 8, 256))
    batch = max(2, min(batch, n_videos // 3 if n_videos >= 6 else n_videos))
    steps = int(np.clip(3 * n_videos, 400, 3000))
    spe = max(1, n_videos // batch)
    epochs = max(1, math.ceil(steps / spe))
    # capacity by what the set holds in segments, not videos: 240 videos of ~30 segments did
    # better at width 128 than 64 (docs/training.md, "Small sets"); 255 of ~15 well at 64
    small = float(lengths.sum()) < 5000 if len(lengths) else True
    # a softer softmax for the smallest sets: at 100 pairs τ 0.1 beat 0.05 at both levels (track R@10
    # 30.2 vs 25.3, segment 5.0 vs 4.1); at 300 it traded track for segment (58.2 vs 61.7, 29.0 vs 26.7)
    tau = 0.1 if n_videos < SOFT_TAU_BELOW else 0.05
    return dict(epochs=epochs, steps=steps, batch_size=batch, lr=1e-3, weight_decay=0.1,
                warmup_epochs=max(1.0, 0.05 * epochs), tau=tau, seq_len=L,
                d_model=64 if small else 128, n_layers=2, n_heads=4, ff_dim=128 if small else 256,
                hidden_dim=256 if small else 512, dropout=0.3 if small else 0.2, out_dim=128,
                save_every=max(1, round(steps / 25 / spe)), patience=8, augment=False,
                # the [CLS] starts from the mean input, reads the segments (they do not see it) and has no
                # loss of its own: its own InfoNCE memorised the few hundred training tracks (300 pairs:
                # track R@10 52.2 with it, 61.7 without; the plain [CLS] 42.5; docs/training.md)
                cls_mean=True, track_weight=0.0,
                # the track embedding: the context-free path (an MLP of each segment, as wide as the baseline's,
                # trained by the segment loss), mean over the segments (docs/training.md, "Small sets")
                track_head=256 if small else 512)


def val_score(rep, cfg: Any, adaptive: bool) -> float:
    """The number best/ and early stopping follow. The fixed recipe: segment avg R@10 (track
    level for the track baseline). Adaptive: the mean of R@1, R@5 and R@10, both directions,
    segment and track level — on a small pool R@10 alone saturates."""
    levels = ["track"] if (cfg.model == "baseline" and cfg.baseline_level == "track") else ["segment"]
    if not adaptive:
        return float(rep.result[levels[0]]["avg_R@10"])
    if levels == ["segment"]:
        levels = ["segment", "track"]
    vals = [rep.result[lv][d][f"R@{k}"] for lv in levels for d in ("v2m", "m2v") for k in (1, 5, 10)]
    return float(np.mean(vals))
