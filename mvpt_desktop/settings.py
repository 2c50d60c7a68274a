"""The GUI's preferences, typed and declared in one place (Picard's ``options.py``).

Engine settings (model, extractors, device, library folders, segment length, k) are
:class:`engine.settings.EngineSettings`; this file holds only what the desktop app adds.
Both live in the config folder (``$MVPT_DATA_DIR/config`` when set, so tests never read
the developer's own). A damaged file never stops the app: defaults are used.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
GUI_FILE = "desktop.json"


@dataclass(frozen=True)
class GuiSettings:
    original_level: float = 0.0
    """Level of the footage's own sound under the music in preview and export (0 = muted)."""
    fade_in: float = 0.5
    """Seconds of fade-in of the music."""
    fade_out: float = 2.0
    """Seconds of fade-out at the end."""
    audition_seconds: float = 6.0
    """Length of an audition of a suggested music segment."""
    hover_audition: bool = True
    """Play an audition when the pointer rests on a suggestion."""
    last_folder: str = ""
    """Where the last file dialog was."""
    labelled_image_set: str = ""
    """Folder of class sub-folders for the Insights attribute matrix ("": none chosen)."""
    persist: bool = True
    """Save changes (False in throw-away sessions such as screenshots)."""

    def with_(self, **changes: Any) -> GuiSettings:
        return replace(self, **changes)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> GuiSettings:
        p = Path(path) if path else gui_settings_path()
        if not p.exists():
            return cls()
        try:
            d = json.loads(p.read_text())
            known = {f.name: f.type for f in fields(cls)}
            return cls(**{k: v for k, v in d.items() if k in known})
        except (ValueError, TypeError, OSError) as e:
            log.warning("desktop settings %s are damaged (%s); using defaults", p, e)
            return cls()

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        p = Path(path) if path else gui_settings_path()
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".desktop.", dir=p.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(self), f, indent=2)
        os.replace(tmp, p)
        return p


def gui_settings_path() -> Path:
    from engine.paths import config_dir

    return config_dir() / GUI_FILE
