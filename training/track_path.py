"""The context-free track path (``MVPTConfig.track_head``): its loss, and its own early stopping.

The track path (an MLP of each segment) overfits a small set long before the Transformer's
segments do: on 1,000 generated pairs its held-out track R@10 peaked at step 72 (93.0) and had
fallen to 88 by the step the whole model's score chose (144-192), where the segments were still
improving (docs/training.md, "Small sets"). So on validation, the track path keeps its best
weights by the held-out track score; after ``patience`` validations without a better one it
goes back to them and stops learning, while the rest trains on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from engine.model.encoder import EncoderOutput
from engine.model.losses import info_nce, info_nce_gathered

from .distributed import DistInfo, gather_plain, gather_with_grad

TRACK_PATIENCE = 3
"""Validations without a better held-out track score before the track path is frozen at its best."""


def track_path_loss(out_v: EncoderOutput, out_m: EncoderOutput, valid: torch.Tensor, tau: float,
                    info: DistInfo) -> torch.Tensor | float:
    """The context-free track path (``track_head``) learns from segments, as the MLP baseline does:
    InfoNCE over the batch's real segments (0 when the model has no such path)."""
    if out_v.track_segments is None:
        return 0.0
    d = out_v.track_segments.shape[-1]
    return segment_nce(out_v.track_segments.reshape(-1, d), out_m.track_segments.reshape(-1, d), valid, tau, info)


def segment_nce(v: torch.Tensor, m: torch.Tensor, valid: torch.Tensor, tau: float, info: DistInfo) -> torch.Tensor:
    """InfoNCE over a batch's real segments, ``v``/``m`` (B·L, d), ``valid`` (B·L,); under DDP the
    negatives come from every rank (each rank's batch has the same shape)."""
    if not info.enabled:
        return info_nce(v, m, tau, valid)
    all_v, all_m = gather_with_grad(v, info), gather_with_grad(m, info)
    return info_nce_gathered(v, m, all_v, all_m, info.rank * v.shape[0], gather_plain(valid, info), tau, valid)


def track_score(result: dict[str, Any]) -> float:
    """The mean of track-level R@1, R@5, R@10 in both directions (R@10 alone saturates on small pools)."""
    return float(np.mean([result["track"][d][f"R@{k}"] for d in ("v2m", "m2v") for k in (1, 5, 10)]))


class TrackPathStop:
    """Keeps the track path's best weights; freezes it at them once it stops improving."""

    def __init__(self, model: nn.Module, patience: int = TRACK_PATIENCE) -> None:
        self.params = {n: p for n, p in model.named_parameters() if ".track." in n}
        self.patience = patience
        self.best = -np.inf
        self.since = 0
        self.frozen = False
        self._snapshot: dict[str, torch.Tensor] | None = None

    @property
    def active(self) -> bool:
        return bool(self.params) and not self.frozen

    def update(self, result: dict[str, Any]) -> bool:
        """After a validation (``result``: ``EvalReport.result``). Returns True when the track
        path was just restored to its best and frozen (the caller validates again)."""
        if not self.active:
            return False
        score = track_score(result)
        if score > self.best:
            self.best, self.since = score, 0
            self._snapshot = {n: p.detach().clone() for n, p in self.params.items()}
            return False
        self.since += 1
        if self.since < self.patience:
            return False
        self.freeze()
        return True

    def freeze(self) -> None:
        with torch.no_grad():
            for n, p in self.params.items():
                if self._snapshot is not None:
                    p.copy_(self._snapshot[n])
                p.requires_grad_(False)  # no gradient: AdamW and clipping skip it, weight decay included
                p.grad = None
        self.frozen = True

    def state(self) -> dict[str, Any]:
        return {"track_best": self.best, "track_since": self.since, "track_frozen": self.frozen}

    def load_state(self, state: dict[str, Any]) -> None:
        """On --resume: the weights come from RUN/last (saved after the freeze); the best snapshot
        of a path still learning is not kept, so it restarts from the resumed weights."""
        self.best = float(state.get("track_best", -np.inf))
        self.since = int(state.get("track_since", 0))
        if state.get("track_frozen"):
            self._snapshot = None
            self.freeze()
