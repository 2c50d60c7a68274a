"""The baseline of Prétet et al. (2021), as re-implemented in the paper: an MLP per modality
on base features averaged over one segment (segment level) or over the whole track (track
level), trained with a triplet loss. It sees no temporal context.

Each tower follows the encoder interface (``forward(x, mask) -> EncoderOutput``) so windows,
evaluation and the recommender treat both model families alike: ``segments`` is the MLP of
each segment's feature, ``cls`` the MLP of the track's mean feature.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .config import BaselineConfig
from .encoder import EncoderOutput, segment_mlp
from .mvpt import MODALITIES


class MLPTower(nn.Module):
    windowed = False
    """No context: the whole track is read at once (its mean is the track-level input)."""

    def __init__(self, in_dim: int, cfg: BaselineConfig) -> None:
        super().__init__()
        self.mlp = segment_mlp(in_dim, cfg.hidden_dim, cfg.n_hidden, cfg.dropout, cfg.out_dim)

    def embed(self, x: Tensor) -> Tensor:
        return F.normalize(self.mlp(x).float(), dim=-1)

    def forward(self, x: Tensor, mask: Tensor | None = None, need_weights: bool = False) -> EncoderOutput:
        # x: (B, L, D); mask: (B, L) bool
        if mask is None:
            mean = x.mean(dim=1)
            segments = self.embed(x)
        else:
            m = mask[..., None].to(x.dtype)  # (B, L, 1)
            mean = (x * m).sum(1) / m.sum(1).clamp_min(1)  # (B, D): average over the real segments
            segments = self.embed(x) * mask[..., None]
        return EncoderOutput(segments=segments, cls=self.embed(mean), attentions=None)


class BaselineMLP(nn.Module):
    def __init__(self, cfg: BaselineConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.visual = MLPTower(cfg.visual_dim, cfg)
        self.music = MLPTower(cfg.music_dim, cfg)

    def tower(self, modality: str) -> MLPTower:
        if modality not in MODALITIES:
            raise ValueError(f"modality must be 'visual' or 'music', got {modality!r}")
        return self.visual if modality == "visual" else self.music

    def forward(self, visual: Tensor, music: Tensor, mask: Tensor | None = None) -> tuple[EncoderOutput, EncoderOutput]:
        return self.visual(visual, mask), self.music(music, mask)
