"""The chosen cue's beat grid placed on the video, and the video's cuts against it: what the
timeline's beat lane and the cut list show (each cut's nearest beat and the shift to snap).
Plain data from the engine's rhythm analyses (:mod:`mvpt_desktop.tasks` re-exports it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.recommend import track_rhythm
from engine.session import EngineSession


def mmss(seconds: float) -> str:
    """"m:ss.s" (the cut list's times; the timeline's axes read the same)."""
    s = max(0.0, float(seconds))
    return f"{int(s // 60)}:{s % 60:04.1f}"


@dataclass(frozen=True)
class CutRow:
    """One cut of the video against the chosen cue's beats (video times, s)."""
    cut: float
    beat: float | None = None
    """The nearest beat of the cue's track, on the video's clock; None outside the cue or
    without a steady beat."""
    downbeat: bool = False

    @property
    def shift(self) -> float | None:
        """Seconds the music (or the cut) moves to put this cut on the beat (+: the beat is later)."""
        return None if self.beat is None else self.beat - self.cut

    def text(self) -> str:
        """"0:12.4 → beat at 0:12.5, +0.1 s"."""
        if self.beat is None:
            return f"{mmss(self.cut)} (no beat under it)"
        kind = "downbeat" if self.downbeat else "beat"
        return f"{mmss(self.cut)} → {kind} at {mmss(self.beat)}, {round(self.shift, 1) + 0.0:+.1f} s"  # never "-0.0"


@dataclass(frozen=True)
class CueRhythm:
    """The chosen cue's beat grid placed on the video's clock, and the video's cuts against it.

    Track time t plays at video time ``start + (t - in_point)``; only what falls inside the
    cue [start, end] is kept."""
    title: str
    start: float
    end: float
    in_point: float
    beats: np.ndarray  # float64 [n] video times
    downbeats: np.ndarray  # float64 [m] video times
    sections: np.ndarray  # float64 [s] video times
    cuts: np.ndarray  # float64 [c] video times (all the video's shot changes)
    rows: tuple[CutRow, ...] = ()
    steady: bool = False
    reason: str = ""
    """Why there is no grid ("no steady beat", "not in the library", ...); empty when steady."""
    has_cuts: bool = False
    tempo: float | None = None
    music_path: str = ""
    first_section: int = 0
    """The track's number (0-based) of ``sections[0]``: the lane labels sections as the track counts them."""


def video_cuts(video_rhythm) -> np.ndarray:
    """float64 [c] the video's shot changes (hard cuts and gradual transitions' middles)."""
    if video_rhythm is None:
        return np.zeros(0)
    return np.asarray(video_rhythm.shot_boundaries(), np.float64)


def place_rhythm(rhythm, title: str, start: float, end: float, in_point: float, cuts) -> CueRhythm:
    """``rhythm`` (a MusicRhythm, or None) of a cue's track on the video's clock, with each
    cut's nearest beat (pure: no catalog, no Qt)."""
    cuts = np.asarray(cuts, np.float64)

    def on_video(times) -> np.ndarray:
        v = start + (np.asarray(times, np.float64) - in_point)
        return v[(v >= start - 1e-6) & (v <= end + 1e-6)]

    if rhythm is None:
        return CueRhythm(title, start, end, in_point, np.zeros(0), np.zeros(0), np.zeros(0), cuts,
                         tuple(CutRow(float(c)) for c in cuts), False, "no beat analysis for this track",
                         bool(len(cuts)))
    steady = bool(rhythm.steady and len(rhythm.beats))
    if not steady:
        return CueRhythm(title, start, end, in_point, np.zeros(0), np.zeros(0), np.zeros(0), cuts,
                         tuple(CutRow(float(c)) for c in cuts), False, rhythm.reason or "no steady beat",
                         bool(len(cuts)))
    beats, downbeats = on_video(rhythm.beats), on_video(rhythm.downbeats)
    sections = on_video(rhythm.sections)
    all_sections = start + (np.asarray(rhythm.sections, np.float64) - in_point)
    first_section = int(np.sum(all_sections < start - 1e-6))  # sections begun before the cue
    all_beats = start + (np.asarray(rhythm.beats, np.float64) - in_point)  # nearest may lie just outside
    db = set(np.round(start + (np.asarray(rhythm.downbeats, np.float64) - in_point), 4).tolist())
    rows = []
    for c in cuts:
        if not start - 1e-6 <= c <= end + 1e-6:
            rows.append(CutRow(float(c)))
            continue
        b = float(all_beats[int(np.argmin(np.abs(all_beats - c)))])
        rows.append(CutRow(float(c), b, round(b, 4) in db))
    return CueRhythm(title, start, end, in_point, beats, downbeats, sections, cuts, tuple(rows), True, "",
                     bool(len(cuts)), rhythm.tempo, first_section=first_section)


def cue_rhythm(session: EngineSession, cue, video_rhythm) -> CueRhythm:
    """The cue's track rhythm read from the library (a catalog read: a worker's job)."""
    from dataclasses import replace

    r = track_rhythm(session, int(cue.item_id)) if cue.item_id is not None else None
    placed = place_rhythm(r, cue.title, float(cue.start), float(cue.end), float(cue.in_point), video_cuts(video_rhythm))
    return replace(placed, music_path=str(cue.music_path))
