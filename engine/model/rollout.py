"""Attention rollout (Abnar & Zuidema, 2020): how much the ``[CLS]`` output draws on each
input segment, through all layers. The paper uses it on the visual Transformer (Fig. 5);
the GUI draws it as a heatmap under the timeline.

Per layer: average the heads, add the identity for the residual path (0.5 A + 0.5 I), and
renormalise rows; multiply the layers' matrices from the first to the last; read the
``[CLS]`` row over the segment columns and normalise it to sum to one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def attention_rollout(attn_maps: Sequence[Tensor], residual: float = 0.5) -> Tensor:
    """``attn_maps``: one tensor per layer, (H, N, N) or (B, H, N, N), token 0 = ``[CLS]``.
    Returns per-segment weights (N-1,) or (B, N-1), non-negative, summing to 1 (padded
    segments, which nobody attends to, get 0)."""
    if not attn_maps:
        raise ValueError("attention_rollout needs at least one layer's attention map")
    batched = attn_maps[0].dim() == 4
    rollout: Tensor | None = None
    for att in attn_maps:
        a = att.float()
        if not batched:
            a = a[None]
        a = a.mean(dim=1)  # (B, N, N): heads averaged
        eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
        a = (1.0 - residual) * a + residual * eye
        a = a / a.sum(dim=-1, keepdim=True)
        rollout = a if rollout is None else a @ rollout  # (B, N, N)
    assert rollout is not None
    w = rollout[:, 0, 1:]  # (B, N-1): [CLS] row over the segments
    w = w / w.sum(dim=-1, keepdim=True).clamp_min(1e-12)
    return w if batched else w[0]
