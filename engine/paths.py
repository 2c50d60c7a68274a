"""Where the app keeps its files: data (feature cache, models, library), cache and config.

The directories come from :mod:`platformdirs` (per-user, per-platform). The environment
variable ``MVPT_DATA_DIR`` overrides all three with sub-folders of one directory, so tests,
CI and portable installs never touch the real home::

    MVPT_DATA_DIR=/tmp/x  ->  data /tmp/x, cache /tmp/x/cache, config /tmp/x/config

Functions read the environment on every call (nothing is frozen at import), and create the
directory they return.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "MVPT Desktop"
ENV_DATA_DIR = "MVPT_DATA_DIR"


def _override() -> Path | None:
    value = os.environ.get(ENV_DATA_DIR, "").strip()
    return Path(value).expanduser() if value else None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Persistent per-user data: feature cache, installed models, the library catalog."""
    base = _override()
    if base is None:
        import platformdirs

        base = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return _ensure(base)


def cache_dir() -> Path:
    """Files that can be rebuilt at any time (thumbnails, previews)."""
    base = _override()
    if base is not None:
        return _ensure(base / "cache")
    import platformdirs

    return _ensure(Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)))


def config_dir() -> Path:
    """Settings written by the user (preferences)."""
    base = _override()
    if base is not None:
        return _ensure(base / "config")
    import platformdirs

    return _ensure(Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)))


def features_dir() -> Path:
    """The on-disk feature cache (see :mod:`engine.features.cache`)."""
    return _ensure(data_dir() / "features")


def models_dir() -> Path:
    """Model weights installed for the app (e.g. ``models/clip/ViT-B-32-openai.safetensors``)."""
    return _ensure(data_dir() / "models")
