"""The cue sheet as an OpenTimelineIO timeline (``.otio``) for Resolve, Premiere, Kdenlive.

- Track "Footage" (video): the whole footage clip; the speech regions are markers on it
  (``otio.schema.Marker``, colour GREEN, name "speech").
- Track "Music" (audio): one clip per cue (``Cue.pieces``: one clip per piece) with its
  source range in the track, gaps where no music plays, and real ``otio.schema.Transition``
  objects (SMPTE_Dissolve) centred on each boundary where cues/pieces crossfade. The clips'
  ranges (cut points) and the gaps add up to the video's duration; a transition borrows
  half its length from each side, as OTIO defines. A stretched cue (fit to length's tempo
  factor) carries an ``otio.schema.LinearTimeWarp`` (``time_scalar`` = the factor) on each
  of its clips; as OTIO's own range arithmetic ignores time effects, the clip's
  ``source_range`` keeps its length on the timeline (so the track still adds up) and
  starts at the media time heard first; it plays ``duration × time_scalar`` of media
  (``metadata["mvpt"]["media_range"]``).
- The ducking: OTIO has no native volume keyframes (its ``effects`` carry no standard
  audio-level curve the NLE adapters read), so each music clip carries them as metadata,
  ``clip.metadata["mvpt"]["volume_keyframes"] = [[t, dB], ...]`` with ``t`` in seconds of
  the clip's own time (0 = its first frame), plus gain, fades and the mix settings on the
  timeline's metadata. An adapter or script can turn them into the NLE's keyframes.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from engine.media.probe import probe

from .cuesheet import CueSheet, MixSettings
from .envelope import duck_keyframes
from .render import Segment, layout, track_lengths

DEFAULT_RATE = 25.0


def build_timeline(video: str | os.PathLike[str], sheet: CueSheet, settings: MixSettings | None = None,
                   speech: np.ndarray | None = None, rhythms=None, video_rhythm=None):
    """The :class:`opentimelineio.schema.Timeline` of ``sheet`` under ``video``. With a
    ``video_rhythm`` its cuts are red markers on the footage clip; with ``rhythms`` each music
    clip carries its track's downbeats (blue) and section starts (yellow) as markers, in the
    clip's source time, so an editor can snap to them in Resolve/Premiere/Kdenlive."""
    import opentimelineio as otio

    settings = settings or MixSettings()
    video = Path(video).resolve()
    vinfo = probe(video)
    duration = float(vinfo.duration)
    rate = float(vinfo.video.fps) if vinfo.video is not None and vinfo.video.fps else DEFAULT_RATE
    rt = otio.opentime.RationalTime

    def t(seconds: float):
        return rt(seconds * rate, rate)

    def span(start: float, seconds: float):
        return otio.opentime.TimeRange(t(start), t(seconds))

    timeline = otio.schema.Timeline(name=f"{video.stem} – music")
    timeline.global_start_time = rt(0, rate)
    timeline.metadata["mvpt"] = {
        "mix": {k: v for k, v in vars(settings).items() if k != "extra"},
        "crossfade": sheet.crossfade, "fade_in": sheet.fade_in, "fade_out": sheet.fade_out,
    }
    vtrack = otio.schema.Track(name="Footage", kind=otio.schema.TrackKind.Video)
    vclip = otio.schema.Clip(name=video.name, source_range=span(0.0, duration),
                             media_reference=otio.schema.ExternalReference(
                                 target_url=video.as_uri(), available_range=span(0.0, duration)))
    regs = np.zeros((0, 2)) if speech is None else np.asarray(speech, np.float64).reshape(-1, 2)
    for s, e in regs:
        vclip.markers.append(otio.schema.Marker(name="speech", marked_range=span(float(s), float(e - s)),
                                                color=otio.schema.MarkerColor.GREEN))
    for c in np.asarray(getattr(video_rhythm, "cuts", ()), np.float64):
        if 0.0 <= c < duration:
            vclip.markers.append(otio.schema.Marker(name="cut", marked_range=span(float(c), 0.0),
                                                    color=otio.schema.MarkerColor.RED))
    vclip.metadata["mvpt"] = {"original": settings.original, "original_level": settings.original_level,
                              "volume_keyframes": _original_keyframes(regs, settings),
                              "volume_keyframes_note": "the footage's own sound (dB) over clip time (s)"}
    vtrack.append(vclip)

    atrack = otio.schema.Track(name="Music", kind=otio.schema.TrackKind.Audio)
    segs = layout(sheet, duration, rhythms, track_lengths(sheet))
    cues = sorted(sheet.cues, key=lambda c: c.start)
    # cut points: a crossfade's centre is the cut; elsewhere the segment's own ends
    cuts = [_cut_range(segs, i) for i in range(len(segs))]
    pos = 0.0
    music_len: dict[str, float] = {}
    for i, (seg, (a, b)) in enumerate(zip(segs, cuts)):
        if a - pos > 1e-6:
            atrack.append(otio.schema.Gap(source_range=span(0.0, a - pos)))
        elif i and a - pos < -1e-6:
            a = pos
        xf_in = _crossfade_len(segs, i - 1) if i else 0.0
        if xf_in > 0:
            before = max(0.0, a - seg.t0)           # into the outgoing clip, before the cut
            after = max(0.0, segs[i - 1].t1 - a)    # into the incoming clip, after the cut
            tr = otio.schema.Transition(name="crossfade",
                                        transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                                        in_offset=t(before), out_offset=t(after))
            tr.metadata["mvpt"] = {"kind": "equal-power crossfade", "seconds": xf_in}
            atrack.append(tr)
        path = Path(seg.path).resolve()
        if seg.path not in music_len:
            music_len[seg.path] = float(probe(seg.path).duration)
        cue = cues[seg.cue_index]
        src_start = seg.src0 + (a - seg.t0) * seg.stretch
        clip = otio.schema.Clip(
            name=cue.title or path.name, source_range=span(src_start, b - a),
            media_reference=otio.schema.ExternalReference(target_url=path.as_uri(),
                                                          available_range=span(0.0, music_len[seg.path])))
        clip.metadata["mvpt"] = {
            "cue": seg.cue_index, "item_id": cue.item_id, "in_point": cue.in_point, "gain_db": cue.gain_db,
            "note": cue.note, "piece": bool(cue.pieces),
            "fades": [[r.a - a, r.b - a, "in" if r.rising else "out"] for r in seg.ramps],
            "volume_keyframes": [[round(k - a, 4), db] for k, db in duck_keyframes(regs, settings, a, b)],
            "volume_keyframes_note": "music gain (dB) over clip time (s); OTIO has no native volume keyframes",
        }
        if abs(seg.stretch - 1.0) > 1e-6:
            clip.effects.append(otio.schema.LinearTimeWarp(name="fit to length", time_scalar=float(seg.stretch)))
            clip.metadata["mvpt"]["stretch"] = float(seg.stretch)
            clip.metadata["mvpt"]["media_range"] = [src_start, src_start + (b - a) * seg.stretch]
        _beat_markers(clip, (rhythms or {}).get(seg.path), src_start, (b - a) * seg.stretch, span)
        atrack.append(clip)
        pos = b
    if duration - pos > 1e-6:
        atrack.append(otio.schema.Gap(source_range=span(0.0, duration - pos)))
    timeline.tracks.append(vtrack)
    timeline.tracks.append(atrack)
    return timeline


def _beat_markers(clip, rhythm, start: float, length: float, span) -> None:
    """Downbeats and section starts of the clip's stretch of its track, in source time."""
    import opentimelineio as otio

    if rhythm is None or not getattr(rhythm, "steady", False):
        return
    end = start + length
    for d in np.asarray(rhythm.downbeats, np.float64):
        if start <= d < end:
            clip.markers.append(otio.schema.Marker(name="downbeat", marked_range=span(float(d), 0.0),
                                                   color=otio.schema.MarkerColor.BLUE))
    for k, s in enumerate(np.asarray(rhythm.sections, np.float64), 1):
        if start <= s < end:
            clip.markers.append(otio.schema.Marker(name=f"section {k}", marked_range=span(float(s), 0.0),
                                                   color=otio.schema.MarkerColor.YELLOW))


def _original_keyframes(speech: np.ndarray, s: MixSettings) -> list[list[float]]:
    """The footage's own level: "speech" mode is ``original_level`` outside speech and full
    under it (the ducking's corners, mirrored); "full" 0 dB; "off" silent."""
    if s.original == "off":
        return [[0.0, -120.0]]
    if s.original == "full" or not len(speech):
        return [[0.0, 0.0 if s.original == "full" else _db(s.original_level)]]
    low = _db(s.original_level)
    corners = duck_keyframes(speech, replace(s, duck=True))
    return [[round(t, 4), 0.0 if db != 0.0 else low] for t, db in corners]


def _db(level: float) -> float:
    return float(20 * np.log10(level)) if level > 0 else -120.0


def _meets(segs: list[Segment], i: int) -> bool:
    """Segments ``i`` and ``i + 1`` touch or crossfade (the layout makes them overlap by the
    crossfade's length, or meet exactly when it is 0)."""
    return 0 <= i < len(segs) - 1 and segs[i + 1].t0 <= segs[i].t1 + 1e-9


def _crossfade_len(segs: list[Segment], i: int) -> float:
    """Length (s) of the crossfade between segment ``i`` and ``i + 1``; 0 when they do not meet."""
    return max(0.0, segs[i].t1 - segs[i + 1].t0) if _meets(segs, i) else 0.0


def _cut_range(segs: list[Segment], i: int) -> tuple[float, float]:
    """The clip's range on the video timeline: between its cuts (a crossfade straddles a cut)."""
    seg = segs[i]
    a = seg.edit0 if seg.edit0 is not None else seg.t0
    b = seg.edit1 if seg.edit1 is not None else seg.t1
    return a, b


def write_otio(timeline, out: str | os.PathLike[str]) -> Path:
    """Write ``timeline`` as ``.otio`` JSON atomically (temp file, fsync, rename)."""
    import opentimelineio as otio

    from engine.atomic import atomic_write_text
    from engine.media.writer import output_error

    text = otio.adapters.write_to_string(timeline, adapter_name="otio_json")
    try:
        return atomic_write_text(out, text)
    except OSError as e:  # full disk, no permission: one clear line, the earlier file kept
        err = output_error(e, Path(out))
        if err is e:
            raise
        raise err from e
