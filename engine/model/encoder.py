"""The context Transformer of one modality (f_v or f_m in the paper).

Input: a sequence of ``L`` per-segment base features (padded, with a validity mask).
A linear projection to ``d_model``, optional learned temporal embeddings, a ``[CLS]`` token
in front, pre-norm Transformer blocks whose attention ignores padding, a final LayerNorm, a
projection to the shared space and L2 normalisation. Padding is invisible: the outputs of
the valid segments and of ``[CLS]`` do not depend on what (or how much) padding follows.

Attention is written out here (not ``nn.MultiheadAttention``) so that per-layer attention
maps can be returned for attention rollout; without ``need_weights`` it uses PyTorch's fused
``scaled_dot_product_attention``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import EncoderConfig


@dataclass
class EncoderOutput:
    segments: Tensor            # (B, L, out_dim), unit norm; zeros at padded positions
    cls: Tensor                 # (B, out_dim), unit norm: the whole sequence
    attentions: list[Tensor] | None = None  # per layer (B, H, L+1, L+1), row/col 0 = [CLS]
    track_segments: Tensor | None = None    # (B, L, out_dim) unit norm, zeros at padding: the context-free
                                            # track path per segment (``track_head`` > 0; trained like segments)


class SelfAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.attn_dropout = dropout

    def forward(self, x: Tensor, keep: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        # x: (B, N, C); keep: (B, N) bool, True where the key is a real token
        B, N, C = x.shape
        hs = C // self.n_heads
        q, k, v = self.qkv(x).view(B, N, 3, self.n_heads, hs).permute(2, 0, 3, 1, 4)  # 3 x (B, H, N, hs)
        # keep (B, N): every query may look at every real key; or a full (B, 1, N, N) mask
        mask = keep[:, None, None, :] if keep.dim() == 2 else keep
        p = self.attn_dropout if self.training else 0.0
        weights = None
        if need_weights:
            att = (q @ k.transpose(-2, -1)) * hs ** -0.5  # (B, H, N, N)
            att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
            weights = att
            y = F.dropout(att, p, self.training) @ v  # (B, H, N, hs)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = y.transpose(1, 2).reshape(B, N, C)  # (B, N, C)
        return self.proj(y), weights


class Block(nn.Module):
    """Pre-norm Transformer block: x + Attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = SelfAttention(cfg.d_model, cfg.n_heads, cfg.dropout)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, cfg.ff_dim), nn.GELU(),
                                 nn.Linear(cfg.ff_dim, cfg.d_model))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor, keep: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        a, w = self.attn(self.ln1(x), keep, need_weights)
        x = x + self.drop(a)
        x = x + self.drop(self.mlp(self.ln2(x)))
        return x, w


TRACK_CLS_WEIGHT = 0.25
"""With the track path on, ``cls`` = normalise(mean of the path's segments + this × the [CLS]
output). Held-out track R@10 for weights 0 / 0.25 / 0.5: 300 pairs 66.5 / 67.7 / 69.8 (seed 1:
74.8 / 74.0 / 74.5), 1,000 pairs 88.2 / 87.5 / 86.5 (docs/training.md, "Small sets")."""


def segment_mlp(in_dim: int, hidden: int, n_hidden: int, dropout: float, out_dim: int) -> nn.Sequential:
    """The per-segment MLP of the baseline and of the track path: LayerNorm, then ``n_hidden``
    × (Linear, GELU, Dropout), then a Linear to ``out_dim``."""
    layers: list[nn.Module] = [nn.LayerNorm(in_dim)]
    width = in_dim
    for _ in range(n_hidden):
        layers += [nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout)]
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class TrackHead(nn.Module):
    """The context-free track path (``EncoderConfig.track_head`` > 0): a two-hidden-layer MLP of
    each segment's base feature, trained by the segment loss; the track is the normalised mean of
    its segments' embeddings (blended with the [CLS], ``TRACK_CLS_WEIGHT``). On small sets a [CLS] with a loss of its own memorised the training
    tracks, one without a loss lost to the MLP baseline at track level (docs/training.md, "Small sets")."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.mlp = segment_mlp(cfg.in_dim, cfg.track_head, 2, cfg.dropout, cfg.out_dim)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """``x``: (B, L, in_dim), ``mask``: (B, L) bool -> (segments (B, L, out), track (B, out)), unit norm."""
        seg = F.normalize(self.mlp(x).float(), dim=-1) * mask[..., None]  # (B, L, out); padding -> zeros
        return seg, F.normalize(seg.sum(1), dim=-1)


class ContextEncoder(nn.Module):
    """f: (B, L, in_dim) base features -> per-segment and [CLS] embeddings in the shared space."""

    windowed = True
    """Media longer than ``max_len`` are read in windows (see :mod:`engine.model.windows`)."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.in_norm = nn.LayerNorm(cfg.in_dim)  # base features come at very different scales
        self.in_proj = nn.Linear(cfg.in_dim, cfg.d_model)
        self.time = nn.Parameter(torch.zeros(cfg.max_len, cfg.d_model)) if cfg.use_time else None
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.d_model))
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.out_proj = nn.Linear(cfg.d_model, cfg.out_dim)
        self._init_weights()
        self.track = TrackHead(cfg) if cfg.track_head else None  # PyTorch's default init, as the baseline MLP

    @property
    def max_len(self) -> int:
        return self.cfg.max_len

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        if self.time is not None:
            nn.init.trunc_normal_(self.time, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def forward(self, x: Tensor, mask: Tensor | None = None, need_weights: bool = False) -> EncoderOutput:
        """``x``: (B, L, in_dim); ``mask``: (B, L) bool, True for real segments (None: all real).
        Padding must come after the real segments (temporal embeddings count from 0)."""
        B, L, _ = x.shape
        if L > self.cfg.max_len:
            raise ValueError(f"sequence of {L} segments is longer than this encoder's L={self.cfg.max_len}; "
                             "use engine.model.windows.encode_sequence for long media")
        if mask is None:
            mask = torch.ones(B, L, dtype=torch.bool, device=x.device)
        h = self.in_proj(self.in_norm(x))  # (B, L, d)
        if self.time is not None:
            h = h + self.time[:L]
        cls = self.cls_token.expand(B, 1, -1).to(h.dtype)  # (B, 1, d)
        if self.cfg.cls_mean:  # the real segments' mean input, projected: the track with its noise averaged out
            w = mask[..., None].to(x.dtype)  # (B, L, 1)
            cls = cls + self.in_proj(self.in_norm((x * w).sum(1) / w.sum(1).clamp_min(1)))[:, None].to(h.dtype)
        h = torch.cat([cls, h], dim=1)  # (B, L+1, d)
        keep = torch.cat([torch.ones(B, 1, dtype=torch.bool, device=x.device), mask], dim=1)  # (B, L+1)
        if self.cfg.cls_mean:  # [CLS] only reads: segments do not see the track summary (a shortcut to memorise)
            keep = keep[:, None, None, :].expand(B, 1, L + 1, L + 1).clone()  # (B, 1, L+1, L+1)
            keep[:, :, 1:, 0] = False
        h = self.drop(h)
        maps: list[Tensor] = []
        for block in self.blocks:
            h, w = block(h, keep, need_weights)
            if w is not None:
                maps.append(w)
        out = F.normalize(self.out_proj(self.ln_f(h)).float(), dim=-1)  # (B, L+1, out_dim)
        segments = out[:, 1:] * mask[..., None]  # padded positions -> exact zeros
        cls, track_segments = out[:, 0], None
        if self.track is not None and self.cfg.track_head:  # the whole track: the context-free path + [CLS]
            track_segments, head = self.track(x, mask)  # (B, L, out), (B, out)
            cls = F.normalize(head + TRACK_CLS_WEIGHT * cls, dim=-1)
        return EncoderOutput(segments=segments, cls=cls, attentions=maps if need_weights else None,
                             track_segments=track_segments)
