"""musicnn (Pons & Serra, ISC licence) in PyTorch, from the TF checkpoints of ``musicnn==0.1.0``.

``MusicnnExtractor`` is imported lazily so that the numpy-only parts (``preprocess``,
``tags``) can be used without loading torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .tags import MSD_LABELS, MTT_LABELS, labels_for

if TYPE_CHECKING:
    from .extractor import MusicnnExtractor, MusicnnOutput

__all__ = ["MSD_LABELS", "MTT_LABELS", "MusicnnExtractor", "MusicnnOutput", "labels_for"]


def __getattr__(name: str) -> Any:
    if name in ("MusicnnExtractor", "MusicnnOutput"):
        from . import extractor

        return getattr(extractor, name)
    raise AttributeError(name)
