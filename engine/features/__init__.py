"""Base features: extractors behind one protocol, and the on-disk feature cache.

Importing this package is light (numpy only): torch and open_clip load when a CLIP or
musicnn extractor is built. Typical use::

    from engine.features import FeatureCache, cached_extract, default_extractors
    visual, music = default_extractors()
    feats = run(cached_extract(visual, path, grid, FeatureCache()))   # [T, visual.dim]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.features.base import FeatureError, FeatureExtractor, Modality
from engine.features.cache import CacheKey, FeatureCache, cached_extract, content_key
from engine.features.classic_visual import ClassicVisualExtractor
from engine.features.registry import (
    NAMES,
    create_extractor,
    default_extractors,
    describe,
    describe_active,
    plan_defaults,
)
from engine.features.weights import (
    DEFAULT_MODEL,
    DEFAULT_PRETRAINED,
    ResolvedWeights,
    WeightsMissing,
    list_clip_weights,
    resolve_clip_weights,
)

if TYPE_CHECKING:
    from engine.features.clip import ClipExtractor

__all__ = [
    "CacheKey", "ClassicVisualExtractor", "ClipExtractor", "DEFAULT_MODEL", "DEFAULT_PRETRAINED",
    "FeatureCache", "FeatureError", "FeatureExtractor", "Modality", "NAMES", "ResolvedWeights",
    "WeightsMissing", "cached_extract", "content_key", "create_extractor", "default_extractors",
    "describe", "describe_active", "list_clip_weights", "plan_defaults", "resolve_clip_weights",
]


def __getattr__(name: str) -> Any:
    if name == "ClipExtractor":
        from engine.features.clip import ClipExtractor

        return ClipExtractor
    raise AttributeError(name)
