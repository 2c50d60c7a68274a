"""The GUI's preferences, typed and declared in one place (Picard's ``options.py``).

Engine settings (model, extractors, device, library folders, segment length, k) are
:class:`engine.settings.EngineSettings`; this file holds only what the desktop app adds.
Both live in the config folder (``$MVPT_DATA_DIR/config`` when set, so tests never read
the developer's own). A damaged file never stops the app: defaults are used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.settings import SettingsFile

log = logging.getLogger(__name__)
GUI_FILE = "desktop.json"


@dataclass(frozen=True)
class GuiSettings(SettingsFile):
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
    weights: dict = field(default_factory=dict)
    """The attribute sliders as last left ({name: -1..1}); each video's own are in its project."""
    reopen_last: bool = True
    """Start with the video opened last (its cues and sliders) when no file is given."""
    persist: bool = True
    """Save changes (False in throw-away sessions such as screenshots)."""

    def with_(self, **changes: Any) -> GuiSettings:
        return replace(self, **changes)

    @classmethod
    def default_path(cls) -> Path:
        return gui_settings_path()


def gui_settings_path() -> Path:
    from engine.paths import config_dir

    return config_dir() / GUI_FILE
