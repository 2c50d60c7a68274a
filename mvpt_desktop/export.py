"""Export: the footage with its new soundtrack as MP4 (the engine's writer), and an
OpenTimelineIO timeline (``.otio``) for editors (Resolve, Premiere, Kdenlive) with the
footage on a video track and the music on an audio track from its start offset.

Plain Python (no Qt): the GUI runs :func:`export_job` on its io worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.jobs import CancelCheck, Job, Progress
from engine.media.probe import probe
from engine.media.writer import SoundtrackSpec, write_with_soundtrack

DEFAULT_RATE = 25.0


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


@dataclass(frozen=True)
class ExportResult:
    mp4: Path | None
    otio: Path | None


def spec_for(choice: Soundtrack, fade_in: float, fade_out: float, original_level: float | None) -> SoundtrackSpec:
    return SoundtrackSpec(choice.music_path, max(0.0, choice.offset), fade_in, fade_out, 0.0,
                          original_level or None)


def write_otio(video: str | os.PathLike[str], choice: Soundtrack, out: str | os.PathLike[str],
               fade_in: float = 0.0, fade_out: float = 0.0) -> Path:
    """A timeline: the whole footage clip, and the music clip with its source range starting
    at ``choice.offset`` for as long as the footage (or the rest of the track) lasts."""
    import opentimelineio as otio

    video, out = Path(video).resolve(), Path(out)
    vinfo = probe(video)
    minfo = probe(choice.music_path)
    rate = float(vinfo.video.fps) if vinfo.video is not None and vinfo.video.fps else DEFAULT_RATE
    rt = otio.opentime.RationalTime

    def span(start: float, seconds: float):
        return otio.opentime.TimeRange(rt(round(start * rate, 3), rate), rt(round(seconds * rate, 3), rate))

    offset = max(0.0, choice.offset)
    music_len = max(0.0, min(vinfo.duration, minfo.duration - offset))
    timeline = otio.schema.Timeline(name=f"{video.stem} – {choice.title}")
    timeline.global_start_time = rt(0, rate)
    vtrack = otio.schema.Track(name="Footage", kind=otio.schema.TrackKind.Video)
    vtrack.append(otio.schema.Clip(
        name=video.name, source_range=span(0.0, vinfo.duration),
        media_reference=otio.schema.ExternalReference(target_url=video.as_uri(),
                                                      available_range=span(0.0, vinfo.duration))))
    atrack = otio.schema.Track(name="Music", kind=otio.schema.TrackKind.Audio)
    music = Path(choice.music_path).resolve()
    clip = otio.schema.Clip(
        name=choice.title or music.name, source_range=span(offset, music_len),
        media_reference=otio.schema.ExternalReference(target_url=music.as_uri(),
                                                      available_range=span(0.0, minfo.duration)))
    clip.metadata["mvpt"] = {"offset_seconds": offset, "fade_in": fade_in, "fade_out": fade_out,
                             "item_id": choice.item_id, "note": choice.note}
    atrack.append(clip)
    timeline.tracks.append(vtrack)
    timeline.tracks.append(atrack)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    otio.adapters.write_to_file(timeline, str(tmp), adapter_name="otio_json")
    os.replace(tmp, out)
    return out


def export_job(video: str, choice: Soundtrack, mp4: str | None, otio_path: str | None, *,
               fade_in: float = 0.5, fade_out: float = 2.0, original_level: float | None = None,
               cancel: CancelCheck | None = None) -> Job[ExportResult]:
    """Write the MP4 (when ``mp4``) and the timeline (when ``otio_path``)."""
    written = None
    if mp4:
        spec = spec_for(choice, fade_in, fade_out, original_level)
        written = yield from write_with_soundtrack(video, spec, mp4, cancel=cancel)
    timeline = None
    if otio_path:
        yield Progress("otio", 0, 1, "writing the timeline")
        timeline = write_otio(video, choice, otio_path, fade_in, fade_out)
    yield Progress("done", 1, 1, "exported")
    return ExportResult(written, timeline)
