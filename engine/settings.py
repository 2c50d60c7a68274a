"""The engine's settings, declared in one place, persisted as JSON in the config folder.

Front ends hold an :class:`EngineSettings`, change it, and ``save()`` it; the session is
built from it. A damaged settings file never stops the app: it is kept aside as
``settings.json.bad`` and defaults are used, with a warning.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from engine.media.grid import DEFAULT_SEGMENT_SECONDS

log = logging.getLogger(__name__)
SETTINGS_FILE = "settings.json"


class SettingsFile:
    """Load and save for a settings dataclass kept as one JSON file (the engine's and the
    desktop app's): unknown keys are ignored, a damaged file is kept aside as ``.bad`` and
    defaults are used, and saving is atomic (:mod:`engine.atomic`)."""

    @classmethod
    def default_path(cls) -> Path:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None):
        p = Path(path) if path else cls.default_path()
        if not p.exists():
            return cls()
        try:
            return cls.from_dict(json.loads(p.read_text()))
        except (ValueError, TypeError, OSError) as e:
            bad = p.with_suffix(p.suffix + ".bad")
            log.warning("settings file %s is damaged (%s); using defaults, kept it as %s", p, e, bad)
            try:
                os.replace(p, bad)
            except OSError:
                pass
            return cls()

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write atomically: a crash or a full disk never leaves half a file."""
        from engine.atomic import atomic_write_text

        return atomic_write_text(Path(path) if path else self.default_path(), json.dumps(self.to_dict(), indent=2))


@dataclass(frozen=True)
class EngineSettings(SettingsFile):
    checkpoint: str | None = None
    """Folder (or model.safetensors) of the trained MVPt model; None: none configured."""
    device: str = "auto"
    """"auto" (CUDA when present), "cpu" or "cuda"."""
    visual_extractor: str = "auto"
    """"auto" follows the checkpoint (or CLIP when its weights are here, else classic)."""
    music_extractor: str = "auto"
    """"auto" follows the checkpoint (or musicnn when installed, else classic-music)."""
    clip_model: str = "ViT-B-32"
    clip_pretrained: str | None = None
    """An open_clip tag found in the local cache, or a path to a weights file."""
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    """Segment length when no checkpoint decides it (a checkpoint's own value wins)."""
    top_k: int = 10
    sync_weight: float | None = None
    """0..1: how much "sync to cuts" (cuts on beats, energy following the music) counts against
    the model's score in the whole-video list (0 = the model alone); ``None`` (the default):
    chosen by the model (:meth:`engine.session.EngineSession.sync_weight`). The app's "Sync to
    cuts" slider and `--sync` set it."""
    music_folders: tuple[str, ...] = field(default_factory=tuple)
    footage_folders: tuple[str, ...] = field(default_factory=tuple)
    data_dir: str | None = None
    """Where the library, caches and analyses live; None: the per-user data folder."""

    def with_(self, **changes: Any) -> EngineSettings:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["music_folders"] = list(self.music_folders)
        d["footage_folders"] = list(self.footage_folders)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EngineSettings:
        known = {f.name for f in fields(cls)}
        clean = {k: v for k, v in d.items() if k in known}
        for key in ("music_folders", "footage_folders"):
            if key in clean:
                clean[key] = tuple(str(x) for x in clean[key] or ())
        return cls(**clean)

    @classmethod
    def default_path(cls) -> Path:
        return settings_path()


def settings_path() -> Path:
    from engine.paths import config_dir

    return config_dir() / SETTINGS_FILE
