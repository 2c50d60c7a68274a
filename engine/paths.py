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


STARTER = "starter"
"""The starter model's folder inside :func:`resource_dir`."""
ENV_NO_STARTER = "MVPT_NO_STARTER"
"""Set to 1: no starter model falls in when no model is configured (tests of the no-model
state; a user who wants the app without any model)."""
_INSTALLED_RESOURCES = ("share", "mvpt-desktop", "resources")


def resource_dir() -> Path:
    """What ships with the app (the starter model): ``resources/`` beside the packages in a
    source checkout or an editable install; ``<prefix>/share/mvpt-desktop/resources`` when
    installed from a wheel (pyproject's data-files put it there). Not created."""
    here = Path(__file__).resolve().parents[1] / "resources"
    if (here / STARTER).is_dir():
        return here
    import sys
    import sysconfig

    for prefix in (sys.prefix, sysconfig.get_path("data"), sys.base_prefix):
        installed = Path(prefix).joinpath(*_INSTALLED_RESOURCES)
        if installed.is_dir():
            return installed
    return here


def starter_model_dir() -> Path | None:
    """The shipped starter model's checkpoint folder; None when ``MVPT_NO_STARTER`` is set."""
    if os.environ.get(ENV_NO_STARTER, "").strip() not in ("", "0"):
        return None
    return resource_dir() / STARTER
