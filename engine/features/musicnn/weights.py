"""Finding musicnn's trained checkpoints on disk, without importing the ``musicnn`` package.

``find_weights`` is cheap (no torch): the library uses it to pick the default extractor.

The PyPI package ``musicnn==0.1.0`` (ISC licence) is installed with ``--no-deps`` as a weight
container only: importing it would pull in TensorFlow and librosa, so we only ask the import
system *where* it is (``importlib.util.find_spec``) and read ``<package>/<model>/.index`` and
``.data-00000-of-00001`` with our own TensorBundle reader.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING

from engine.features.base import FeatureError
from engine.features.tensorbundle import TensorBundle

from .tags import labels_for

if TYPE_CHECKING:
    from .network import Musicnn

MODELS: tuple[str, ...] = ("MTT_musicnn", "MSD_musicnn")
"""The taggers this port runs (the VGG variants have another graph and are not ported)."""
INSTALL_HINT = "pip install --no-deps musicnn==0.1.0"


def _missing(detail: str) -> FeatureError:
    return FeatureError(f"musicnn weights not found ({detail}). Install them with "
                        f"`{INSTALL_HINT}` in the project's environment, or run `make setup`.")


def _has_checkpoint(folder: Path) -> bool:
    return (folder / ".index").is_file()


def find_weights(model: str = "MTT_musicnn", weights_dir: str | os.PathLike[str] | None = None) -> Path:
    """The checkpoint folder of ``model``: ``weights_dir/<model>`` or ``weights_dir`` itself
    when given, else ``<installed musicnn package>/<model>``."""
    if model not in MODELS:
        raise FeatureError(f"unknown musicnn model {model!r}; choose one of {', '.join(MODELS)}")
    if weights_dir is not None:
        base = Path(weights_dir).expanduser()
        for folder in (base / model, base):
            if _has_checkpoint(folder):
                return folder
        raise _missing(f"no {model} checkpoint (.index) in {base}")
    for location in _package_dirs():
        folder = location / model
        if _has_checkpoint(folder):
            return folder
    raise _missing("the musicnn package is not installed" if not _package_dirs()
                   else f"the installed musicnn package has no {model} folder")


def _package_dirs() -> list[Path]:
    """Folders of the installed ``musicnn`` package: where the import system would find it,
    and where pip's record of the distribution says it is (a script or folder named
    ``musicnn`` earlier on ``sys.path`` must not hide it)."""
    dirs: list[Path] = []
    try:
        spec = importlib.util.find_spec("musicnn")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        dirs += [Path(p) for p in spec.submodule_search_locations]
    try:
        dist = importlib.metadata.distribution("musicnn")
        dirs.append(Path(str(dist.locate_file("musicnn"))))
    except importlib.metadata.PackageNotFoundError:
        pass
    return [d for d in dict.fromkeys(dirs) if d.is_dir()]


def load_pretrained(model: str = "MTT_musicnn", weights_dir: str | os.PathLike[str] | None = None) -> Musicnn:
    """A :class:`Musicnn` in eval mode with the trained weights of ``model`` (CPU, float32)."""
    from .network import load_musicnn  # torch: only when a model is actually loaded

    folder = find_weights(model, weights_dir)
    return load_musicnn(TensorBundle(folder), n_tags=len(labels_for(model)))
