"""Model configurations: plain dataclasses, one comment per field, saved in every checkpoint.

Follows open_clip's ``model.py``/``factory.py`` and nanoGPT's ``GPTConfig``: the resolved
config is the model's full description, so ``build_model(config)`` rebuilds the exact
architecture a checkpoint's weights belong to.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

SegmentTime = Literal["visual", "music", "both", "none"]
SEGMENT_TIME_CHOICES: tuple[str, ...] = ("visual", "music", "both", "none")
MODEL_KINDS: tuple[str, ...] = ("mvpt", "baseline")

DEFAULT_SEQ_LEN = 30
"""The paper's L: consecutive segments one Transformer pass sees."""


@dataclass(frozen=True)
class EncoderConfig:
    """One modality's context Transformer (f_v or f_m)."""

    in_dim: int                 # base-feature dimension of this modality (e.g. 512 for CLIP ViT-B/32)
    d_model: int = 256          # Transformer width
    n_layers: int = 4           # encoder blocks (pre-norm)
    n_heads: int = 8            # attention heads; d_model must divide evenly
    ff_dim: int = 768           # hidden width of each block's MLP
    dropout: float = 0.1        # dropout on inputs, attention weights and residual branches
    out_dim: int = 256          # shared embedding dimension (same for both modalities)
    max_len: int = DEFAULT_SEQ_LEN  # rows of the temporal-embedding table (>= the L it runs with)
    use_time: bool = True       # add learned temporal (position) embeddings to the inputs
    cls_mean: bool = False      # [CLS] starts from the projected mean of the real inputs (a denoised
                                # whole-track summary) instead of a constant token
    track_head: int = 0         # > 0: hidden width of a context-free MLP track path; ``cls`` is then the
                                # normalised mean of its per-segment embeddings (trained by the segment
                                # loss), not the Transformer's [CLS]. 0: the [CLS] (older checkpoints)

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if min(self.in_dim, self.d_model, self.n_layers, self.ff_dim, self.out_dim, self.max_len) < 1:
            raise ValueError("encoder dimensions must be positive")
        if self.track_head < 0:
            raise ValueError(f"track_head must be 0 (off) or a positive width, got {self.track_head}")


@dataclass(frozen=True)
class MVPTConfig:
    """The MVPt pair: one :class:`EncoderConfig` per modality, differing only in
    ``in_dim`` and in whether temporal embeddings are on (``segment_time``)."""

    visual_dim: int = 512           # visual base-feature dimension
    music_dim: int = 512            # music base-feature dimension
    d_model: int = 256              # Transformer width (both towers)
    n_layers: int = 4               # encoder blocks per tower
    n_heads: int = 8                # attention heads per block
    ff_dim: int = 768               # MLP hidden width per block (768 gives ~5.5 M params at 512/512)
    dropout: float = 0.1            # dropout (inputs, attention, residuals)
    out_dim: int = 256              # shared embedding dimension
    seq_len: int = DEFAULT_SEQ_LEN  # L: segments per Transformer pass (windows at inference)
    segment_time: SegmentTime = "visual"  # which tower gets temporal embeddings (paper: visual)
    cls_mean: bool = False          # [CLS] starts from the projected mean input (EncoderConfig.cls_mean)
    track_head: int = 0             # hidden width of the context-free track path (EncoderConfig.track_head; 0: off)
    kind: str = "mvpt"              # model family tag, checked on load

    def __post_init__(self) -> None:
        if self.segment_time not in SEGMENT_TIME_CHOICES:
            raise ValueError(f"segment_time must be one of {SEGMENT_TIME_CHOICES}, got {self.segment_time!r}")
        if self.kind != "mvpt":
            raise ValueError("MVPTConfig.kind is always 'mvpt'")

    def encoder(self, modality: str) -> EncoderConfig:
        in_dim = self.visual_dim if modality == "visual" else self.music_dim
        use_time = self.segment_time in ("both", modality)
        return EncoderConfig(in_dim=in_dim, d_model=self.d_model, n_layers=self.n_layers,
                             n_heads=self.n_heads, ff_dim=self.ff_dim, dropout=self.dropout,
                             out_dim=self.out_dim, max_len=self.seq_len, use_time=use_time,
                             cls_mean=self.cls_mean, track_head=self.track_head)


@dataclass(frozen=True)
class BaselineConfig:
    """Prétet et al. (2021): an MLP per modality on base features averaged over one segment
    (``level="segment"``) or over the whole track (``level="track"``), trained with a triplet loss."""

    visual_dim: int = 512           # visual base-feature dimension
    music_dim: int = 512            # music base-feature dimension
    hidden_dim: int = 1344          # hidden width (2 hidden layers: ~5.6 M params at 512/512, as MVPT)
    n_hidden: int = 2               # hidden layers per MLP
    dropout: float = 0.1            # dropout after each hidden layer
    out_dim: int = 256              # shared embedding dimension
    seq_len: int = DEFAULT_SEQ_LEN  # crop length used when training on sequences
    level: str = "segment"          # what the training loss sees: "segment" or "track" averages
    kind: str = "baseline"          # model family tag, checked on load

    def __post_init__(self) -> None:
        if self.level not in ("segment", "track"):
            raise ValueError(f"baseline level must be 'segment' or 'track', got {self.level!r}")
        if self.kind != "baseline":
            raise ValueError("BaselineConfig.kind is always 'baseline'")


ModelConfig = MVPTConfig | BaselineConfig


def config_to_dict(config: ModelConfig) -> dict[str, Any]:
    return asdict(config)


def config_from_dict(data: dict[str, Any]) -> ModelConfig:
    """Rebuild a config from its JSON form; unknown keys are an error (a newer, different model)."""
    if not isinstance(data, dict):
        raise ValueError("model config must be a JSON object")
    kind = data.get("kind")
    cls = {"mvpt": MVPTConfig, "baseline": BaselineConfig}.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"unknown model kind {kind!r} (expected one of {MODEL_KINDS})")
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {kind} config fields: {sorted(unknown)}")
    return cls(**data)
