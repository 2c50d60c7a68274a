"""Losses, small and exact (after open_clip's ``ClipLoss``).

- :func:`info_nce`: the paper's Eq. (1), cosine similarity / τ (τ = 0.3), symmetric
  (v→m + m→v); every other item in the batch is a negative. At segment level the items are
  all B·L real segments of the batch (a B·L × B·L matrix), at track level the B ``[CLS]``
  outputs.
- :func:`triplet`: the baseline's hinge loss with a margin, over in-batch negatives.

Both take a validity mask so padded segments are neither anchors nor negatives, and optional
extra candidates gathered from other ranks (DDP).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

DEFAULT_TAU = 0.3
DEFAULT_MARGIN = 0.2


def _similarities(a: Tensor, b: Tensor) -> Tensor:
    return F.normalize(a.float(), dim=-1) @ F.normalize(b.float(), dim=-1).T


def info_nce(v: Tensor, m: Tensor, tau: float = DEFAULT_TAU, valid: Tensor | None = None) -> Tensor:
    """Symmetric InfoNCE. ``v``, ``m``: (N, d) paired rows (row i of v goes with row i of m);
    ``valid``: (N,) bool, False rows are dropped from anchors and negatives.
    Returns L_v→m + L_m→v, each the mean over anchors of −log softmax(s/τ)[positive]."""
    if valid is not None:
        v, m = v[valid], m[valid]
    logits = _similarities(v, m) / tau  # (N, N): rows = visual anchors, cols = music candidates
    target = torch.arange(logits.shape[0], device=logits.device)
    return F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)


def info_nce_gathered(v: Tensor, m: Tensor, all_v: Tensor, all_m: Tensor, offset: int,
                      all_valid: Tensor, tau: float = DEFAULT_TAU, valid: Tensor | None = None) -> Tensor:
    """InfoNCE for one rank under DDP: local anchors ``v``/``m`` (n, d) against every rank's
    candidates ``all_v``/``all_m`` (W·n, d), whose positives sit at ``offset + i``.
    ``all_valid`` (W·n,) masks padding among candidates; ``valid`` (n,) among anchors."""
    bad = ~all_valid
    logits_vm = (_similarities(v, all_m) / tau).masked_fill(bad[None, :], float("-inf"))  # (n, W·n)
    logits_mv = (_similarities(m, all_v) / tau).masked_fill(bad[None, :], float("-inf"))
    target = torch.arange(v.shape[0], device=v.device) + offset
    if valid is not None:
        logits_vm, logits_mv, target = logits_vm[valid], logits_mv[valid], target[valid]
    return F.cross_entropy(logits_vm, target) + F.cross_entropy(logits_mv, target)


def triplet(v: Tensor, m: Tensor, margin: float = DEFAULT_MARGIN, valid: Tensor | None = None) -> Tensor:
    """Symmetric triplet (hinge) loss with cosine similarity: for anchor i and every in-batch
    negative j != i, max(0, margin − s(i, i) + s(i, j)), averaged; both directions summed."""
    if valid is not None:
        v, m = v[valid], m[valid]
    s = _similarities(v, m)  # (N, N)
    n = s.shape[0]
    if n < 2:
        return s.sum() * 0.0
    pos = s.diagonal()
    off = ~torch.eye(n, dtype=torch.bool, device=s.device)
    l_vm = (margin - pos[:, None] + s).clamp_min(0)[off].mean()  # visual anchors
    l_mv = (margin - pos[None, :] + s).clamp_min(0)[off].mean()  # music anchors (columns)
    return l_vm + l_mv
