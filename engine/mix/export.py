"""The engine's export and preview jobs: one mix (:mod:`engine.mix.render`), written as MP4
(:func:`engine.media.writer.write_with_audio`) and/or OTIO (:mod:`engine.mix.otio`).

Front ends (the app, ``mvpt export``) call these two jobs only::

    result = run(export_job(video, sheet, settings, mp4="out.mp4", otio="out.otio",
                            speech=analysis_speech, rhythms={path: music_rhythm}, cancel=stop))
    path = run(preview_job(video, sheet, settings, out=cache_file, speech=..., rhythms=...))

``speech``: float64 ``[n, 2]`` regions (seconds) from the analysis; None detects them here
from the footage's sound when the settings need them (ducking, original "speech"); pass an
empty array for "no speech". ``rhythms``: ``{music_path: MusicRhythm}`` puts fades and
crossfades on downbeats. The preview file is the export's MP4, byte for byte the same mix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.jobs import CancelCheck, Job, Progress, relabel
from engine.media.writer import write_with_audio

from .cuesheet import CueSheet, MixSettings
from .render import MixPlan, prepare_mix


@dataclass(frozen=True)
class ExportResult:
    mp4: Path | None
    otio: Path | None
    loudness_lufs: float | None = None
    """Integrated loudness of the master as rendered (predicted from the measurement pass)."""
    true_peak_dbtp: float | None = None
    """True peak of the MP4's decoded sound (as a player hears it), else of the render."""
    gain_db: float | None = None
    """Master gain applied to reach the target."""
    speech: np.ndarray | None = None
    """float64 [n, 2] speech regions the mix ducked under."""
    note: str = ""


def export_job(video: str | os.PathLike[str], sheet: CueSheet, settings: MixSettings | None = None, *,
               mp4: str | os.PathLike[str] | None = None, otio: str | os.PathLike[str] | None = None,
               speech: np.ndarray | None = None, rhythms: Mapping[str, object] | None = None,
               video_rhythm=None, cancel: CancelCheck | None = None) -> Job[ExportResult]:
    """Job: the mix of ``sheet`` under ``video`` -> ``mp4`` (when given) and ``otio`` (when
    given). Each file is written atomically; a cancel leaves earlier files as they were.
    ``rhythms`` ({music path: MusicRhythm}) puts fades on downbeats and downbeat/section
    markers on the music clips; ``video_rhythm`` (the footage's VideoRhythm) puts its cuts as
    markers on the footage clip."""
    settings = settings or MixSettings()
    plan: MixPlan = yield from relabel(prepare_mix(video, sheet, settings, speech=speech, rhythms=rhythms,
                                                   cancel=cancel), "mix")
    written = None
    post_peak = None
    if mp4:
        written, post_peak = yield from _write_checked(video, Path(mp4), plan, settings, cancel)
    timeline = None
    if otio:
        from .otio import build_timeline, write_otio

        yield Progress("otio", 0, 1, "writing the timeline")
        timeline = write_otio(build_timeline(video, sheet, settings, plan.speech, rhythms, video_rhythm), otio)
    m = plan.master
    yield Progress("done", 1, 1, "exported")
    return ExportResult(written, timeline, float(m.predicted_lufs) if m else None,
                        post_peak if post_peak is not None else float(m.predicted_peak_dbtp) if m else None,
                        float(20 * np.log10(m.gain)) if m and m.gain > 0 else None, plan.speech, m.note if m else "")


AAC_CHECKS = 3
"""Encodes at most, to bring the decoded AAC's true peaks under the ceiling."""


def _write_checked(video, mp4: Path, plan: MixPlan, settings: MixSettings,
                   cancel: CancelCheck | None) -> Job[tuple[Path, float]]:
    """Write the MP4 under a hidden name, decode its sound and measure the true peak as a
    player will hear it; where the encoder pushed a block over the ceiling (dense, clipped
    material: the limiter worked on the band-limited mix, the codec's quantisation adds
    more), lower the limiter there and encode again. Then rename into place: the target is
    replaced once, complete, and a cancel leaves the earlier file as it was."""
    from engine.atomic import replace

    from .loudness import tighten

    tmp = mp4.with_name(f".{mp4.stem}.{os.getpid()}.checked.mp4")
    try:
        for attempt in range(AAC_CHECKS):
            yield from relabel(write_with_audio(video, tmp, plan.chunks(cancel), cancel=cancel), "mp4")
            yield Progress("check", attempt, AAC_CHECKS, "checking the true peak of the encoded sound")
            peaks = _decoded_peaks(tmp, cancel)
            post = float(20 * np.log10(peaks.max())) if peaks.size and peaks.max() > 0 else float("-inf")
            tighter = None if plan.master is None else tighten(plan.master, peaks, settings.true_peak)
            if tighter is None or attempt == AAC_CHECKS - 1:
                break
            plan.master = tighter
        replace(tmp, mp4)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return mp4, post


def _decoded_peaks(path: Path, cancel: CancelCheck | None) -> np.ndarray:
    from engine.media.audio import iter_audio_channels

    from .loudness import BlockMeter

    meter = BlockMeter()
    for chunk in iter_audio_channels(path, 48000, cancel=cancel):
        meter.add(chunk)
    meter.finish()
    return meter.peaks


def preview_job(video: str | os.PathLike[str], sheet: CueSheet, settings: MixSettings | None = None, *,
                out: str | os.PathLike[str], speech: np.ndarray | None = None,
                rhythms: Mapping[str, object] | None = None,
                cancel: CancelCheck | None = None) -> Job[Path]:
    """Job: the preview file ``out`` (MP4): exactly what :func:`export_job` writes."""
    result = yield from export_job(video, sheet, settings, mp4=out, speech=speech, rhythms=rhythms,
                                   cancel=cancel)
    return result.mp4


def whole_video_sheet(video: str | os.PathLike[str], music_path: str, offset: float = 0.0, title: str = "", *,
                      item_id: int | None = None, fade_in: float = 0.5, fade_out: float = 2.0,
                      note: str = "") -> CueSheet:
    """:func:`single_cue_sheet` over the whole of ``video`` (probed: header only)."""
    from engine.media.probe import probe

    return single_cue_sheet(music_path, probe(video).duration, offset, title, item_id=item_id,
                            fade_in=fade_in, fade_out=fade_out, note=note)


def single_cue_sheet(music_path: str, duration: float, offset: float = 0.0, title: str = "", *,
                     item_id: int | None = None, fade_in: float = 0.5, fade_out: float = 2.0,
                     note: str = "") -> CueSheet:
    """The whole-video pick as a sheet: one cue over ``[0, duration)`` from ``offset``."""
    from .cuesheet import Cue

    cue = Cue(music_path, title or Path(music_path).stem, 0.0, float(duration), max(0.0, float(offset)),
              item_id=item_id, note=note)
    return CueSheet((cue,), fade_in=fade_in, fade_out=fade_out)
