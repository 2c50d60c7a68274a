"""The front door for what leaves the app: the cue sheet, the mix settings, the preview and
export jobs, the editor's timeline (OTIO), and audio for the app's player to audition
(:func:`playable_audio`). Front ends (the desktop app, the CLI) import
these names from here; the work lives in :mod:`engine.mix` and :mod:`engine.media.writer`.
"""

from __future__ import annotations

from engine.media.playable import playable_audio
from engine.media.writer import SoundtrackSpec, write_with_soundtrack
from engine.mix.cuesheet import Cue, CueSheet, MixSettings, Piece, scene_cue
from engine.mix.export import ExportResult, export_job, preview_job, whole_video_sheet
from engine.mix.otio import build_timeline, write_otio

__all__ = ["Cue", "CueSheet", "ExportResult", "MixSettings", "Piece", "SoundtrackSpec", "build_timeline",
           "export_job", "playable_audio", "preview_job", "scene_cue", "whole_video_sheet", "write_otio", "write_with_soundtrack"]
