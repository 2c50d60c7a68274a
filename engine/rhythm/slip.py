"""Slipping a cue's music under the picture: where in its track a cue starts, moved a beat or a
bar on the track's own grid, to where the cuts inside the cue land on its beats, or to the
other starts that fit those cuts as well.

An editor who hears the music one bar off (the sync search cannot always tell bar-shifted
starts apart, and says so) slips it by a bar or steps through the starts that fit
(:func:`fitting_starts`); one whose cuts fall just off the beat aligns it to the grid
(:func:`align_in_point`). Pure: rhythms in, track times out (the cue sheet's edit is
:meth:`engine.mix.cuesheet.CueSheet.slipped`; :mod:`engine.track_rhythm` reads the rhythms).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.media.grid import clock
from engine.rhythm import ENERGY_RATE
from engine.rhythm.music import MusicRhythm
from engine.rhythm.shots import VideoRhythm
from engine.rhythm.sync_offset import SyncFit, _beat_of, best_offset, fitting_offsets, offset_scores

NO_GRID_BEAT = 0.5
"""Seconds a "beat" slips a track without a steady beat (a "bar": four of them)."""
ALIGN_CONFIDENCE = 0.5
"""Sync confidence (z = 2) under which "Align to cuts" leaves a cue where it is: below it an
unrelated video would fit the track about as well, so a move would be a guess."""
MIN_SYNC_SECONDS = 4.0
"""A cue's stretch of video shorter than this (under the track) is too little to sync."""
ON_GRID = 0.03
"""Seconds: an in-point this close to a beat (or downbeat) is on it; a slip moves from there."""


@dataclass(frozen=True)
class Slip:
    in_point: float
    """The new track time (s) heard at the cue's start."""
    words: str
    """What moved, for the status line: "one bar later in the track, on the downbeat at 1:02.3"."""


def _count(n: int, unit: str) -> str:
    return f"{'one' if abs(n) == 1 else abs(n)} {unit}{'' if abs(n) == 1 else 's'}"


def slip_in_point(in_point: float, music: MusicRhythm | None, *, beats: int = 0, bars: int = 0,
                  duration: float | None = None) -> Slip:
    """``in_point`` moved ``beats`` beats or ``bars`` bars (negative: earlier in the track) on
    the track's grid. An in-point between two grid marks goes first to the next mark in that
    direction, so a slip always lands on the grid. Bars follow the track's downbeats (3/4 and
    4/4 alike). Without a steady beat (or without a rhythm at all) a beat is
    :data:`NO_GRID_BEAT` seconds, and the words say so.

    Raises ``ValueError`` with what to do when the slip would leave the track: before its
    start, or (with ``duration``, the track's length) at or past its end."""
    if (beats == 0) == (bars == 0):
        raise ValueError("slip by beats or by bars, not both or neither")
    n, unit = (beats, "beat") if beats else (bars, "bar")
    later = "later" if n > 0 else "earlier"
    grid = None
    if music is not None and music.steady and len(music.beats):
        grid = np.asarray(music.downbeats if bars else music.beats, np.float64)
        if not len(grid):
            grid = None
    if grid is None:
        new = in_point + n * NO_GRID_BEAT * (4 if bars else 1)
        why = "no steady beat" if music is not None else "no beat analysis for this track"
        words = f"{abs(new - in_point):.1f} s {later} in the track ({why}: not on a grid)"
    else:
        on = np.flatnonzero(np.abs(grid - in_point) <= ON_GRID)
        if len(on):
            k = int(on[0]) + n
        elif n > 0:
            k = int(np.searchsorted(grid, in_point, side="right")) + n - 1  # the next mark is step one
        else:
            k = int(np.searchsorted(grid, in_point, side="left")) + n  # the previous mark (index - 1) is step one
        if k < 0:
            if in_point <= ON_GRID:
                raise ValueError("the music already starts at the very start of the track: nothing earlier "
                                 "to slip to")
            new = 0.0  # a pickup before the first downbeat: the track's own start
            words = f"to the start of the track ({_count(n, unit)} {later} would be before it)"
        elif k >= len(grid):
            raise ValueError(f"no {unit} {later} than {clock(in_point)} in this track: slip it the other way "
                             f"or choose a longer track")
        else:
            new = float(grid[k])
            mark = "downbeat" if bars else "beat"
            if len(on):
                words = f"{_count(n, unit)} {later} in the track, on the {mark} at {clock(new)}"
            else:  # from off the grid, the first step is onto it
                words = f"onto the {'next' if n > 0 else 'previous'} {mark}" + (
                    f" and {_count(abs(n) - 1, unit)} {later}" if abs(n) > 1 else "") + f": the {mark} at {clock(new)}"
    if new < 0.0:
        if in_point <= 1e-6:
            raise ValueError("the music already starts at the very start of the track: nothing earlier to slip to")
        new, words = 0.0, "to the start of the track"
    if duration is not None and new >= duration - 1e-6:
        raise ValueError(f"the track ends at {clock(duration)}: nothing to play from {clock(new)}; slip it "
                         f"the other way")
    return Slip(round(float(new), 4), words)


def video_part(video: VideoRhythm, start: float, end: float) -> VideoRhythm:
    """The stretch ``[start, end)`` of a video's rhythm on its own clock (0 at ``start``):
    the cuts, gradual transitions and flashes inside it, and its energy samples."""
    start, end = max(0.0, float(start)), min(float(video.duration), float(end))
    cuts = np.asarray(video.cuts, np.float64)
    conf = np.asarray(video.cut_confidence, np.float32)
    inside = (cuts > start) & (cuts < end)  # a cut at the very start is the cue's own edge
    conf = conf[inside] if conf.shape == cuts.shape else np.ones(int(inside.sum()), np.float32)
    trans = tuple(replace(t, start=t.start - start, end=t.end - start) for t in video.transitions
                  if start < t.start < end)
    flashes = np.asarray(video.flashes, np.float64)
    e = np.asarray(video.energy, np.float32)
    rate = video.energy_rate or ENERGY_RATE
    i0, i1 = int(np.floor(start * rate)), int(np.ceil(end * rate))
    return VideoRhythm(max(0.0, end - start), cuts[inside] - start, conf, trans, e[i0:i1].copy(), rate,
                       video.version, flashes[(flashes > start) & (flashes < end)] - start, 0)


def sync_in_point(video: VideoRhythm, music: MusicRhythm, start: float, end: float,
                  in_point: float) -> SyncFit:
    """Where in the track a cue over video ``[start, end)`` should start so that the cuts
    inside it land on the track's beats: the sync search (:func:`best_offset`) over this
    stretch of the video, one bar either side of ``in_point``. Where the track would end
    inside the cue from the far side of that window, only the part it covers is read. A
    ``SyncFit`` whose ``reason`` says why not ("no cuts found" inside the cue, "no steady
    beat", the track ending too soon after ``in_point``)."""
    bar = _beat_of(music) * (music.meter or 4)
    lo, hi = max(0.0, in_point - bar), in_point + bar
    length = min(float(end) - float(start), float(music.duration) - hi)
    if length < MIN_SYNC_SECONDS:
        return SyncFit(None, 0.0, 0.0, 0.0, False, (), f"the track ends {clock(music.duration)}, too soon after "
                       f"{clock(in_point)} to read the cue's cuts against it: slip it earlier in the track")
    return best_offset(video_part(video, start, start + length), music, search=(lo, hi))


def align_in_point(video: VideoRhythm, music: MusicRhythm, start: float, end: float,
                   in_point: float) -> tuple[float, SyncFit]:
    """"Align to cuts": the in-point :func:`sync_in_point` finds, or ``in_point`` itself when
    it finds nothing or the cuts follow the beats there little better than chance (sync
    confidence < :data:`ALIGN_CONFIDENCE`); with the fit, which says which."""
    fit = sync_in_point(video, music, start, end, in_point)
    if not fit.informative or fit.offset is None or fit.confidence < ALIGN_CONFIDENCE:
        return float(in_point), fit
    return float(fit.offset), fit


def fitting_starts(video: VideoRhythm, music: MusicRhythm, start: float, end: float
                   ) -> tuple[list[float], SyncFit]:
    """The starts anywhere in the track at which the cuts inside a cue over video ``[start,
    end)`` fit within noise of the best (sync cannot tell them apart: a steady tempo cut on
    bar lines fits every bar-shifted start alike), in track order, and the best fit (its
    ``confidence`` says whether any of them is better than chance; its ``reason`` why there
    are none). Only the part of the cue the track can cover is read."""
    part = video_part(video, start, min(float(end), float(start) + float(music.duration)))
    scored = offset_scores(part, music)
    fit = best_offset(part, music, scored=scored)
    return sorted(o for o, _ in fitting_offsets(scored, music)), fit
