"""musicnn (Pons & Serra, ISC licence) in PyTorch, from the TF checkpoints of ``musicnn==0.1.0``.

``MusicnnExtractor`` is imported lazily so that the numpy-only parts (``preprocess``,
``tags``, ``output``; the classic music extractor uses them) load without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .output import MusicnnOutput
from .tags import MSD_LABELS, MTT_LABELS, labels_for

if TYPE_CHECKING:
    from .extractor import MusicnnExtractor

__all__ = ["MSD_LABELS", "MTT_LABELS", "MusicnnExtractor", "MusicnnOutput", "labels_for"]


def __getattr__(name: str) -> Any:
    if name == "MusicnnExtractor":
        from .extractor import MusicnnExtractor

        return MusicnnExtractor
    raise AttributeError(name)
