"""What the cut detector finds in footage, as data: :class:`VideoRhythm` (cuts, gradual
transitions, flashes, a visual-energy curve) and :class:`Transition`, with their JSON form.

Made by :class:`engine.rhythm.cut_detector.CutDetector`; read by sync, the analysis cache, the
app and the OTIO export (all through :mod:`engine.rhythm.video`, which re-exports them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.rhythm import ENERGY_RATE

CUTS_VERSION = 2
"""Bump when any output of :class:`CutDetector` would change; a stored result with another
version is stale (the analysis cache does not check it yet)."""


@dataclass(frozen=True)
class Transition:
    start: float
    end: float
    kind: str
    """"cut" (hard), "fade" (to/from black or white) or "dissolve"."""
    confidence: float
    through: str = ""
    """For fades: "black" or "white"; empty otherwise."""


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
    flashes: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """float64 [f] times (s) of flashes: brief brightness spikes that return to the same shot."""
    frames: int = 0
    """Frames the detector read."""

    @property
    def has_cuts(self) -> bool:
        """False means "no cuts found" (no hard cut and no gradual transition)."""
        return bool(len(self.cuts) or self.transitions)

    def shot_boundaries(self) -> np.ndarray:
        """float64 [k] sorted times where a new shot starts: hard cuts and the middles of
        gradual transitions."""
        mids = [0.5 * (t.start + t.end) for t in self.transitions]
        return np.sort(np.concatenate([np.asarray(self.cuts, np.float64), np.asarray(mids, np.float64)]))

    def cut_rate(self, segments: Iterable[Any], *, include_transitions: bool = True) -> np.ndarray:
        """float32 [n]: shot changes per second in each segment (anything with ``.start`` and
        ``.end``, e.g. a :class:`~engine.media.grid.SegmentGrid`, or (start, end) pairs)."""
        times = self.shot_boundaries() if include_transitions else np.asarray(self.cuts, np.float64)
        out = []
        for seg in segments:
            a, b = (seg.start, seg.end) if hasattr(seg, "start") else seg
            n = np.count_nonzero((times >= a) & (times < b))
            out.append(n / max(b - a, 1e-9))
        return np.asarray(out, np.float32)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (lists of floats), times rounded to the millisecond."""
        return {
            "duration": round(float(self.duration), 3),
            "cuts": [round(float(t), 3) for t in self.cuts],
            "cut_confidence": [round(float(c), 3) for c in self.cut_confidence],
            "transitions": [{"start": round(t.start, 3), "end": round(t.end, 3), "kind": t.kind,
                             "confidence": round(t.confidence, 3), **({"through": t.through} if t.through else {})}
                            for t in self.transitions],
            "flashes": [round(float(t), 3) for t in self.flashes],
            "energy_rate": self.energy_rate,
            "energy": [round(float(e), 3) for e in self.energy],
            "frames": self.frames,
            "version": self.version,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> VideoRhythm:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VideoRhythm:
        """Inverse of :meth:`to_dict`; raises KeyError/ValueError on a malformed dict."""
        return cls(duration=float(d["duration"]), cuts=np.asarray(d.get("cuts", []), np.float64),
                   cut_confidence=np.asarray(d.get("cut_confidence", []), np.float32),
                   transitions=tuple(Transition(float(t["start"]), float(t["end"]), str(t["kind"]),
                                                float(t["confidence"]), str(t.get("through", "")))
                                     for t in d.get("transitions", [])),
                   energy=np.asarray(d.get("energy", []), np.float32),
                   energy_rate=float(d.get("energy_rate", ENERGY_RATE)), version=int(d.get("version", CUTS_VERSION)),
                   flashes=np.asarray(d.get("flashes", []), np.float64), frames=int(d.get("frames", 0)))
