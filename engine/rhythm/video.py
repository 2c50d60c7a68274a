"""Shot cuts, gradual transitions and a visual-energy curve of footage.

Fed by the analysis pass, frame by frame, with small RGB frames (short side
``CUT_FRAME_SHORT_SIDE``), so the footage is decoded once for everything:

    det = CutDetector(fps=info.video.fps)
    for t, small in frames:                   # small: uint8 [h, w, 3]
        det.push(t, small)
    rhythm = det.finish(duration)             # VideoRhythm
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.rhythm import ENERGY_RATE

CUTS_VERSION = 1
CUT_FRAME_SHORT_SIDE = 48
"""Short side (px) of the frames the detector reads; the analysis pass makes them."""


@dataclass(frozen=True)
class Transition:
    start: float
    end: float
    kind: str
    """"cut" (hard), "fade" (to/from black or white) or "dissolve"."""
    confidence: float


@dataclass(frozen=True)
class VideoRhythm:
    duration: float
    cuts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """float64 [n] hard-cut times (s): the first frame of the new shot."""
    cut_confidence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    """float32 [n] 0..1."""
    transitions: tuple[Transition, ...] = ()
    """Gradual transitions (fades, dissolves)."""
    energy: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    """float32 [ceil(duration * ENERGY_RATE)] motion + brightness change + flashes, 0..1."""
    energy_rate: float = ENERGY_RATE
    version: int = CUTS_VERSION
