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

from engine.export import MixSettings
from engine.settings import SettingsFile

log = logging.getLogger(__name__)
GUI_FILE = "desktop.json"
_MIX = MixSettings()
"""The engine's mix defaults: the app's Mix settings start from them (one place to change)."""


@dataclass(frozen=True)
class GuiSettings(SettingsFile):
    original: str = _MIX.original
    """The footage's own sound in preview and export: "full", "speech" (full under speech,
    ``original_level`` elsewhere) or "off" (no dialogue to keep audible: no ducking either)."""
    original_level: float = _MIX.original_level
    """Level of the footage's own sound outside speech (0 = silent there)."""
    duck: bool = _MIX.duck
    """Lower the music under the footage's speech."""
    duck_depth_db: float = _MIX.duck_depth_db
    duck_attack: float = _MIX.attack
    duck_release: float = _MIX.release
    duck_lookahead: float = _MIX.lookahead
    duck_hold: float = _MIX.hold
    """Pauses in speech shorter than this keep the music down (no pumping)."""
    loudness_target: float | None = _MIX.loudness_target
    """Integrated LUFS of the master (web -14, broadcast -23); None keeps the levels."""
    true_peak: float = _MIX.true_peak
    """dBTP ceiling of the master."""
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
    clip_note_dismissed: bool = False
    """The welcome page's note on adding CLIP weights was dismissed ("Got it")."""
    guide_done: bool = False
    """The three first steps were done once (a scene picked): the "pick a scene" hint stays away."""
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
