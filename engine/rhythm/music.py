"""Beats, downbeats, bars, sections, an energy curve and the real ending of a track.

Contract shared with the sync score, fit-to-length, the catalog and the mix (fields may be
added, not renamed):

    r = analyse_rhythm(samples, rate)        # mono float32 at any rate
    r.steady        # False: "no steady beat" -> beats/downbeats empty, tempo None
    r.tempo         # bpm or None
    r.beats         # float64 [n] seconds
    r.downbeats     # float64 [m] seconds (subset of beats)
    r.sections      # float64 [s] section starts (first is 0.0)
    r.energy        # float32 [ceil(duration * ENERGY_RATE)]
    MusicRhythm.from_json(r.to_json()) == r
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.rhythm import ENERGY_RATE

RHYTHM_VERSION = 1
"""Bump when any output of :func:`analyse_rhythm` would change (stored rows are redone)."""


@dataclass(frozen=True)
class TempoCandidate:
    bpm: float
    confidence: float
    """0..1; the candidates of one track sum to at most 1."""


@dataclass(frozen=True)
class MusicRhythm:
    duration: float
    steady: bool
    """False when the track has no steady beat (ambient, rubato, silence): no grid is made up."""
    tempo: float | None
    """Beats per minute of the chosen beat level, None when not steady."""
    tempo_alternatives: tuple[TempoCandidate, ...] = ()
    """The chosen tempo and its x1/2, x2 (and x3/2, x2/3) readings, best first, with confidences."""
    meter: int | None = None
    """Beats per bar (3 or 4), None when not steady."""
    beats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """float64 [n] beat times (s)."""
    downbeats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """float64 [m] bar starts (s), each also in ``beats``."""
    sections: np.ndarray = field(default_factory=lambda: np.zeros(1))
    """float64 [s] section start times (s); the first is 0.0."""
    energy: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    """float32 [ceil(duration * ENERGY_RATE)] onset/loudness energy, 0..1 per track."""
    energy_rate: float = ENERGY_RATE
    ending: float = 0.0
    """Where the music really ends (s): the last downbeat before the fade-out/silence, or the
    end of sound when there is no grid."""
    version: int = RHYTHM_VERSION
