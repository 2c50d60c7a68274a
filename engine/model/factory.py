"""Build a model from its config (the one place that maps ``kind`` to a class)."""

from __future__ import annotations

from torch import nn

from .baseline import BaselineMLP
from .config import BaselineConfig, ModelConfig, MVPTConfig
from .mvpt import MVPT


def build_model(config: ModelConfig) -> nn.Module:
    if isinstance(config, MVPTConfig):
        return MVPT(config)
    if isinstance(config, BaselineConfig):
        return BaselineMLP(config)
    raise TypeError(f"not a model config: {type(config).__name__}")
