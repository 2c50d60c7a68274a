"""MVPT: one :class:`ContextEncoder` per modality, trained to embed corresponding music and
video segments (and whole tracks, through ``[CLS]``) close together."""

from __future__ import annotations

from torch import Tensor, nn

from .config import MVPTConfig
from .encoder import ContextEncoder, EncoderOutput

MODALITIES = ("visual", "music")


class MVPT(nn.Module):
    def __init__(self, cfg: MVPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.visual = ContextEncoder(cfg.encoder("visual"))
        self.music = ContextEncoder(cfg.encoder("music"))

    def tower(self, modality: str) -> ContextEncoder:
        if modality not in MODALITIES:
            raise ValueError(f"modality must be 'visual' or 'music', got {modality!r}")
        return self.visual if modality == "visual" else self.music

    def forward(self, visual: Tensor, music: Tensor, mask: Tensor | None = None) -> tuple[EncoderOutput, EncoderOutput]:
        """``visual``: (B, L, Dv), ``music``: (B, L, Dm), ``mask``: (B, L) bool (True = real)."""
        return self.visual(visual, mask), self.music(music, mask)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
