"""Export from the app: a thin layer over the engine's mix (:mod:`engine.mix.export`), which
renders the cue sheet (crossfades, ducking under the footage's speech, loudness target) for
both the preview and the MP4, and writes the OTIO timeline.

New code calls :func:`export_sheet_job` / :func:`preview_sheet_job` (the engine's jobs) with a
:class:`CueSheet` and :class:`MixSettings`. The single-track names (:class:`Soundtrack`,
:func:`export_job`, :func:`write_otio`, :func:`spec_for`) are kept for the callers that
still choose one track for the whole video: a Soundtrack is one cue over the whole video.

Plain Python (no Qt): the GUI runs these jobs on its io worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.export import CueSheet, ExportResult, MixSettings, whole_video_sheet
from engine.export import export_job as export_sheet_job
from engine.export import preview_job as preview_sheet_job
from engine.jobs import CancelCheck, Job

from .settings import GuiSettings

__all__ = ["Soundtrack", "ExportResult", "CueSheet", "MixSettings", "spec_for", "sheet_for", "write_otio",
           "export_job", "export_sheet_job", "preview_sheet_job"]


@dataclass(frozen=True)
class Soundtrack:
    """The music the creator chose for the footage, and where in it to start."""
    music_path: str
    title: str
    offset: float
    """Seconds into the music at the footage's first frame."""
    item_id: int | None = None
    note: str = ""
    """Why the offset is what it is (e.g. "scene 3 lines up with 0:12 of the track")."""


def spec_for(choice: Soundtrack, fade_in: float, fade_out: float, original_level: float | None):
    """The older single-track writer's spec (kept for the preview path that still uses it)."""
    from engine.export import SoundtrackSpec

    return SoundtrackSpec(choice.music_path, max(0.0, choice.offset), fade_in, fade_out, 0.0,
                          original_level or None)


def sheet_for(video: str | os.PathLike[str], choice: Soundtrack, fade_in: float = 0.5,
              fade_out: float = 2.0) -> CueSheet:
    """The whole-video choice as a cue sheet: one cue over the whole footage."""
    return whole_video_sheet(video, choice.music_path, choice.offset, choice.title, item_id=choice.item_id,
                             fade_in=fade_in, fade_out=fade_out, note=choice.note)


def settings_for(source: GuiSettings | float | None) -> MixSettings:
    """The mix of preview and export from the app's settings (what you hear is what you export).

    ``source`` is the app's :class:`GuiSettings`, or the older single "original sound level"
    knob: None or 0 drops the footage's sound; a level keeps it at that level outside speech
    (full under speech). With the footage's sound off there is no dialogue to keep audible, so
    the music is not ducked either."""
    if source is None or isinstance(source, (int, float)):
        if not source:
            return MixSettings(original="off", duck=False)
        return MixSettings(original="speech", original_level=float(source))
    g = source
    original = g.original if g.original in ("full", "speech", "off") else "speech"
    return MixSettings(duck=bool(g.duck) and original != "off", duck_depth_db=float(g.duck_depth_db),
                       attack=float(g.duck_attack), release=float(g.duck_release),
                       lookahead=float(g.duck_lookahead), hold=float(g.duck_hold), original=original,
                       original_level=float(g.original_level),
                       loudness_target=None if g.loudness_target is None else float(g.loudness_target),
                       true_peak=float(g.true_peak))


def write_otio(video: str | os.PathLike[str], choice: Soundtrack, out: str | os.PathLike[str],
               fade_in: float = 0.0, fade_out: float = 0.0) -> Path:
    """A timeline: the whole footage clip, and the music clip from ``choice.offset``."""
    from engine.export import build_timeline
    from engine.export import write_otio as write

    sheet = sheet_for(video, choice, fade_in, fade_out)
    return write(build_timeline(video, sheet, MixSettings(duck=False)), out)


def export_job(video: str, choice: Soundtrack, mp4: str | None, otio_path: str | None, *,
               fade_in: float = 0.5, fade_out: float = 2.0, original_level: float | None = None,
               settings: MixSettings | None = None, cancel: CancelCheck | None = None) -> Job[ExportResult]:
    """Write the MP4 (when ``mp4``) and the timeline (when ``otio_path``) of one track under
    the whole video, through the engine's mix (ducking and loudness per ``settings``)."""
    sheet = sheet_for(video, choice, fade_in, fade_out)
    return (yield from export_sheet_job(video, sheet, settings or settings_for(original_level), mp4=mp4,
                                        otio=otio_path, cancel=cancel))
