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
every time; ambient, rubato and silence say "no steady beat". On four real songs with a
beat map (Frets on Fire charts, 170-190 bpm) tempo right for all four, beat F 0.94-0.99,
downbeat F 0.34-0.90 (downbeats are the weak part on dense real mixes).

Alternatives checked: madmom 0.16 does not install on Python 3.11; ``madmom-infer`` (a
rewrite) downloads madmom's pickled network weights at run time (not allowed here, and those
weights are CC BY-NC-SA); BeatNet pins numba 0.54 (no Python 3.11 build), needs madmom and
pyaudio, and loads its weights with a plain ``torch.load`` (pickle); Essentia is AGPL-3.0
(this app is MIT); aubio has no wheel for Python 3.11.

Own code, where no installable library does the job: the choice of the tempo octave (the
accents half-way between beats and on every other beat decide between x1/2, x1 and x2), the
"no steady beat" decision (pulse clarity of the detrended onset curve, beat salience),
downbeats and the meter (a Viterbi path over bar positions on low-frequency onsets, harmonic
change and loudness accents, for 3 and 4 beats per bar), section boundaries (Foote's
checkerboard novelty on a beat-synchronous self-similarity matrix of chroma, MFCC and
loudness), the 10 Hz energy curve, and the ending (bar loudness: the last downbeat before a
fade-out or the silence).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from engine.rhythm import ENERGY_RATE

log = logging.getLogger(__name__)

RHYTHM_VERSION = 4
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

ANALYSIS_RATE = 16000
"""Everything is measured at 16 kHz (the rate the music encoders decode at, so the scan
hands the same samples over; other rates are resampled first)."""
HOP = 256
"""Frame hop in samples: 16 ms, the resolution of beats before rounding."""
N_FFT = 1024
N_MELS = 64
CHROMA_FFT, CHROMA_HOP = 4096, 1024
TEMPO_RANGE = (40.0, 240.0)
TEMPO_PRIOR_BPM, TEMPO_PRIOR_OCTAVES = 120.0, 1.0
"""Log-normal prior over tempo (as librosa's default): 120 bpm, one octave wide."""
MIN_GRID_SECONDS = 6.0
"""Shorter tracks get no grid: three bars are too few to tell the tempo octave or the meter."""
MIN_CLARITY = 0.25
"""Pulse clarity (peak of the normalised autocorrelation of the detrended onset curve in the
tempo range) below which a track has no steady beat. Generated steady music: 0.85-0.96;
ambient pads: 0.05-0.10; real game music: see bench/rhythm.py."""
MIN_BEAT_SALIENCE = 1.6
"""Mean onset strength on the beats over the track's mean, below which the grid is not kept."""
SILENCE_DBFS = -60.0
DOUBLE_IF_MIDPOINTS = 0.55
"""Take the faster tempo octave when the accents half-way between beats are this strong
relative to the beats themselves (snares on the off-beats of a half-time reading)."""
DOUBLE_IF_MOST_MIDPOINTS = 0.3
"""... and when three midpoints in four are at least this strong against the median beat.
Generated: a half-tempo reading 0.42-0.56, syncopated kicks at the right tempo 0.12-0.21;
real songs read at half tempo 0.48-0.49 (0.33 for a triplet feel read at x2/3)."""
HALVE_IF_ALTERNATE = 0.15
"""Take the slower octave when every other beat is this much weaker (hats alone between the
kicks and snares). On generated music a wrong fast reading measures 0.01-0.07 and a right
one 0.28-1.0 (the beat without a kick, against the snares): set between, with room."""
DOWNBEAT_WEIGHTS = (1.0, 1.0, 0.5)
"""Weights of a beat's low onset (kick, bass), harmonic change and loudness accent (each
z-scored over the track) in the evidence that it starts a bar."""
SWITCH_PENALTY = 3.0
"""Cost (in standard deviations of the downbeat evidence) of a bar-phase jump in the
downbeat path: a missed or doubled beat may shift the bar, noise should not."""


def analyse_rhythm(samples: np.ndarray, rate: int) -> MusicRhythm:
    """Tempo, beats, downbeats, sections, energy and ending of mono ``samples`` at ``rate``.

    Deterministic; never raises on valid audio (silence, noise, a few seconds all give a
    :class:`MusicRhythm` with ``steady=False`` and a ``reason``). Costs about 0.3 s of CPU
    for a 3-minute track, one core (``bench/rhythm.py``), after the first call in a process.
    """
    try:
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
    f = _Frames(y)
    energy = _energy_curve(f, n_energy)
    sound_end = _sound_end(f, duration)
    base = dict(duration=round(duration, 4), energy=energy, sound_end=sound_end)
    if f.peak_dbfs < SILENCE_DBFS:
        return MusicRhythm(steady=False, tempo=None, sections=np.zeros(1), ending=0.0, reason="silent", **base)
    clarity, candidates = _tempo_candidates(f.onset)
    if duration < MIN_GRID_SECONDS:
        return MusicRhythm(steady=False, tempo=None, tempo_alternatives=candidates, sections=_sections(f, None),
                           ending=sound_end, reason="too short for a steady beat", pulse_clarity=clarity, **base)
    if clarity < MIN_CLARITY or not candidates:
        return MusicRhythm(steady=False, tempo=None, tempo_alternatives=candidates, sections=_sections(f, None),
                           ending=sound_end, reason="no steady beat", pulse_clarity=clarity, **base)
    first = candidates[0].bpm
    local = _local_tempo(f.onset, first)  # bpm, or bpm per frame when the tempo changes
    bpm, candidates = _choose_level(f, candidates, local)
    beat_frames = _track_beats(f.onset, bpm)
    if np.ndim(local):  # the tempo seems to move: keep the varying grid only if it hits the onsets better
        varying = _track_beats(f.onset, local * (bpm / first))
        if len(varying) >= 4 and (_grid_strength(f.onset, varying).mean()
                                  > 1.02 * _grid_strength(f.onset, beat_frames).mean()):
            beat_frames = varying
    salience = float(f.onset[beat_frames].mean() / (f.onset.mean() + 1e-9)) if len(beat_frames) else 0.0
    if len(beat_frames) < 4 or salience < MIN_BEAT_SALIENCE:
        return MusicRhythm(steady=False, tempo=None, tempo_alternatives=candidates, sections=_sections(f, None),
                           ending=sound_end, reason="no steady beat", pulse_clarity=clarity, **base)
    beat_frames = _extend_grid(f, beat_frames)
    beats = np.round(beat_frames * (HOP / ANALYSIS_RATE), 4)
    meter, positions = _bar_positions(f, beat_frames)
    downbeats = beats[positions == 1]
    span = min(8, len(beats) - 1)  # beat period over 8 beats: finer than one 16 ms frame
    tempo = round(float(60.0 * span / np.median(beats[span:] - beats[:-span])), 2)
    sections = _sections(f, beat_frames[positions == 1])
    ending = _ending(f, beats, downbeats, sound_end)
    return MusicRhythm(steady=True, tempo=tempo, tempo_alternatives=candidates, meter=meter, beats=beats,
                       downbeats=downbeats, sections=sections, ending=ending, beat_positions=positions,
                       pulse_clarity=clarity, **base)


STFT_CHUNK_FRAMES = 4096
"""Spectrogram frames computed at a time (about a minute): memory stays flat in duration,
so a two-hour mix is analysed like a song (a whole 4096-point STFT of it would take GBs)."""


def _stft_reduce(y: np.ndarray, n_fft: int, hop: int, reduce) -> np.ndarray:
    """``reduce(power [1 + n_fft // 2, F]) -> [k, F]`` over the centred STFT of ``y`` (the
    frames of ``librosa.stft(center=True)``), chunk by chunk; returns [k, 1 + len(y) // hop]."""
    import librosa

    padded = np.pad(y, n_fft // 2)
    n_frames = 1 + len(y) // hop
    out = []
    for f0 in range(0, n_frames, STFT_CHUNK_FRAMES):
        f1 = min(n_frames, f0 + STFT_CHUNK_FRAMES)
        seg = padded[f0 * hop:(f1 - 1) * hop + n_fft]
        power = np.abs(librosa.stft(seg, n_fft=n_fft, hop_length=hop, center=False)) ** 2  # [bins, f1 - f0]
        out.append(reduce(power[:, : f1 - f0]))
    return np.concatenate(out, axis=1)


class _Frames:
    """Frame-level signals of a whole track at 16 kHz, hop 16 ms (T frames)."""

    def __init__(self, y: np.ndarray) -> None:
        import librosa

        sr = ANALYSIS_RATE
        mel_fb = librosa.filters.mel(sr=sr, n_fft=N_FFT, n_mels=N_MELS, fmax=sr / 2)  # [64, 513]
        both = _stft_reduce(y, N_FFT, HOP, lambda p: np.vstack([mel_fb @ p, p.sum(axis=0, keepdims=True)]))
        mel, total = both[:N_MELS], both[N_MELS]  # [64, T] mel power, [T] total power
        self.n = mel.shape[1]
        log_mel = librosa.power_to_db(mel, ref=1.0, top_db=None)
        log_mel = np.maximum(log_mel, log_mel.max() - 80.0)
        self.log_mel = log_mel
        # center=False: our spectrogram is already centred; librosa would shift it again.
        self.onset = librosa.onset.onset_strength(S=log_mel, sr=sr, hop_length=HOP, center=False)  # [T]
        low = int(np.searchsorted(librosa.mel_frequencies(N_MELS + 2, fmax=sr / 2)[1:-1], 200.0))
        self.low_onset = librosa.onset.onset_strength(S=log_mel[: max(low, 2)], sr=sr, hop_length=HOP,
                                                      center=False)  # [T] kick and bass
        # frame loudness (dBFS of a full-scale sine = 0): Parseval with the Hann window's 3/8
        self.loud_db = 10 * np.log10(2 * total / (N_FFT * N_FFT * 0.375) + 1e-10) + 3.0  # [T]
        self.peak_dbfs = float(np.percentile(self.loud_db, 99)) if self.n else -100.0
        # loudness rise: what makes a hit sound strong (kicks, snares), little for soft hats
        self.accent = np.maximum(0.0, np.diff(self.loud_db, prepend=self.loud_db[:1]))  # [T]
        self.mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=13)[1:]  # [12, T] timbre, no loudness
        chroma = _stft_reduce(y, CHROMA_FFT, CHROMA_HOP, lambda p: librosa.feature.chroma_stft(
            S=p, sr=sr, n_fft=CHROMA_FFT, norm=None, tuning=0.0))  # [12, Tc]
        idx = np.minimum(np.arange(self.n) * HOP // CHROMA_HOP, chroma.shape[1] - 1)
        self.chroma = chroma[:, idx]  # [12, T] on the onset grid

    def seconds(self, frames: np.ndarray) -> np.ndarray:
        return np.asarray(frames) * (HOP / ANALYSIS_RATE)


def _lag_of(bpm: float) -> float:
    return 60.0 * ANALYSIS_RATE / (HOP * bpm)


def _prior(bpm: np.ndarray | float) -> np.ndarray:
    return np.exp(-0.5 * (np.log2(np.maximum(bpm, 1e-9) / TEMPO_PRIOR_BPM) / TEMPO_PRIOR_OCTAVES) ** 2)


def _tempo_candidates(onset: np.ndarray) -> tuple[float, tuple[TempoCandidate, ...]]:
    """Pulse clarity and the tempo readings (best, x1/2, x2, x3/2, x2/3) with confidences.

    The autocorrelation of the onset curve minus its 1-second moving average: periodic
    accents give sharp peaks at the beat lag and its multiples, a swelling pad gives none.
    """
    import librosa
    from scipy.ndimage import uniform_filter1d

    o = onset.astype(np.float64) - uniform_filter1d(onset.astype(np.float64), size=63, mode="nearest")
    max_lag = int(np.ceil(_lag_of(TEMPO_RANGE[0]))) + 2
    if len(o) < 2 * int(_lag_of(TEMPO_RANGE[1])) + 2 or not np.any(o):
        return 0.0, ()
    ac = librosa.autocorrelate(o, max_size=max_lag + 1)
    if ac[0] <= 0:
        return 0.0, ()
    ac = ac / ac[0]  # [max_lag + 1]
    lags = np.arange(len(ac), dtype=np.float64)
    bpm = np.where(lags > 0, 60.0 * ANALYSIS_RATE / (HOP * np.maximum(lags, 1e-9)), np.inf)
    valid = (bpm >= TEMPO_RANGE[0]) & (bpm <= TEMPO_RANGE[1]) & (lags < len(o) // 2)
    if not valid.any():
        return 0.0, ()
    clarity = float(max(0.0, ac[valid].max()))
    score = np.where(valid, np.maximum(ac, 0.0) * _prior(bpm), -np.inf)
    best = int(np.argmax(score))
    if not np.isfinite(score[best]) or score[best] <= 0:
        return clarity, ()

    def peak(lag: float) -> tuple[float, float]:
        """(refined bpm, autocorrelation) of the strongest peak within 4 % of ``lag``."""
        lo, hi = int(np.floor(lag * 0.96)), int(np.ceil(lag * 1.04))
        lo, hi = max(lo, 1), min(hi, len(ac) - 2)
        if lo > hi:
            return 60.0 * ANALYSIS_RATE / (HOP * lag), 0.0
        k = lo + int(np.argmax(ac[lo:hi + 1]))
        a, b, c = ac[k - 1], ac[k], ac[k + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
        return 60.0 * ANALYSIS_RATE / (HOP * (k + shift)), float(max(0.0, b))

    base_bpm, _ = peak(float(best))
    out: list[tuple[float, float]] = []
    for ratio in (1.0, 0.5, 2.0, 1.5, 2.0 / 3.0):
        target = base_bpm * ratio
        if not TEMPO_RANGE[0] <= target <= TEMPO_RANGE[1]:
            continue
        b, strength = peak(_lag_of(target)) if ratio != 1.0 else (base_bpm, float(ac[best]))
        out.append((b if strength > 0 else target, strength * float(_prior(b))))
    total = sum(w for _, w in out) or 1.0
    cands = tuple(TempoCandidate(round(float(b), 2), round(float(w) / total, 3)) for b, w in out)
    return round(clarity, 3), tuple(sorted(cands, key=lambda c: -c.confidence))


def _grid_strength(x: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """``x`` at each frame, its max within +-2 frames (16 ms hops; beats are not sample-exact)."""
    idx = np.clip(np.asarray(frames, int)[:, None] + np.arange(-2, 3)[None, :], 0, len(x) - 1)
    return x[idx].max(axis=1)


def _choose_level(f: _Frames, cands: tuple[TempoCandidate, ...],
                  local: float | np.ndarray) -> tuple[float, tuple[TempoCandidate, ...]]:
    """The metrical level to call "the beat", from the best periodicity and its octaves.

    The autocorrelation cannot tell 80 from 160 bpm well; the accents can. Beats tracked at
    the best reading: if the onsets half-way between them are nearly as loud as the beats
    (snare hits on the off-beats), the beat is twice as fast; if every other beat is much
    weaker (a hi-hat between the kicks and snares), it is half as fast. "Nearly as loud"
    holds for most midpoints, not on average: a syncopated kick on some of them is not a
    faster beat. The chosen level's confidence is doubled, then all are normalised again.
    ``local``: the tempo (per frame when it changes) of the best reading, tracked with.
    """
    bpm = cands[0].bpm
    beats = _track_beats(f.onset, local)
    chosen = bpm
    if len(beats) >= 8:
        on = _grid_strength(f.accent, beats)
        mids = (beats[:-1] + beats[1:]) // 2
        off = _grid_strength(f.accent, mids)
        up = float(off.mean() / (on.mean() + 1e-9))
        up_most = float(np.percentile(off, 25) / (np.median(on) + 1e-9))
        even, odd = on[0::2].mean(), on[1::2].mean()
        alternate = float(min(even, odd) / (max(even, odd) + 1e-9))
        if up >= DOUBLE_IF_MIDPOINTS and up_most >= DOUBLE_IF_MOST_MIDPOINTS:
            chosen = _stronger(cands, bpm, (2.0, 1.5))
        elif alternate <= HALVE_IF_ALTERNATE:
            chosen = _stronger(cands, bpm, (0.5, 2.0 / 3.0))
    # match the chosen reading to a candidate (or add it), boost it, renormalise
    listed = list(cands)
    near = [i for i, c in enumerate(listed) if abs(np.log2(c.bpm / chosen)) < 0.05]
    if near:
        i = near[0]
        chosen = listed[i].bpm
        listed[i] = TempoCandidate(listed[i].bpm, listed[i].confidence * 2)
    else:
        listed.append(TempoCandidate(round(chosen, 2), 0.1))
    total = sum(c.confidence for c in listed) or 1.0
    listed = [TempoCandidate(c.bpm, round(c.confidence / total, 3)) for c in listed]
    first = [c for c in listed if c.bpm == round(chosen, 2) or c.bpm == chosen][:1]
    rest = sorted((c for c in listed if c not in first), key=lambda c: -c.confidence)
    return float(chosen), tuple(first + rest)


def _stronger(cands: tuple[TempoCandidate, ...], bpm: float, ratios: tuple[float, ...]) -> float:
    """Of the readings at ``bpm * ratio`` (x2 or x3/2 when the beat is faster, x1/2 or x2/3
    when slower: a triplet feel puts the pulse at x3/2), the one whose periodicity is
    stronger; ``bpm`` itself when none is in the tempo range or periodic at all."""
    best, best_conf = bpm, -1.0
    for ratio in ratios:
        target = bpm * ratio
        if not TEMPO_RANGE[0] <= target <= TEMPO_RANGE[1]:
            continue
        near = [c for c in cands if abs(np.log2(c.bpm / target)) < 0.05]
        conf = near[0].confidence if near else 0.0
        if conf > best_conf and conf > 0.0:  # a reading with no periodicity at all is not one
            best, best_conf = near[0].bpm, conf
    return best


TEMPO_CHANGE = 1.08
"""A track whose local tempo, as a median over some 15 s block, moves further than this from
its tempo is tracked with a tempo that varies over time; the others with one tempo (the local
estimate is coarser and noisier). Even then, the varying grid is kept only when its beats
sit on stronger onsets (by 2 %) than the one-tempo grid: on the charted real songs a noisy
local tempo cost up to 7 points of beat F; on generated tempo changes it gains 30."""


def _local_tempo(onset: np.ndarray, bpm: float) -> float | np.ndarray:
    """``bpm``, or float [T] per frame when the tempo changes: the strongest periodicity of a
    6 s autocorrelation tempogram (every 0.25 s) within x0.77..x1.3 of ``bpm`` (so it never
    jumps an octave), median over 2 s."""
    import librosa
    from scipy.ndimage import median_filter

    win, step = 384, 16  # 6 s windows every 0.25 s (librosa's tempogram takes every frame: 16x the work)
    if len(onset) < 2 * win:
        return bpm
    centres = np.arange(0, len(onset), step)
    padded = np.pad(onset.astype(np.float64), win // 2, mode="linear_ramp")
    frames = np.stack([padded[c:c + win] for c in centres]) * np.hanning(win)[None, :]  # [C, win]
    spec = np.fft.rfft(frames, n=2 * win, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :win]  # [C, win] autocorrelation per window
    freqs = librosa.tempo_frequencies(win, sr=ANALYSIS_RATE, hop_length=HOP)  # [win] bpm per lag
    idx = np.nonzero((freqs >= bpm / 1.3) & (freqs <= bpm * 1.3))[0]
    if len(idx) < 2:
        return bpm
    at_centres = freqs[idx[np.argmax(ac[:, idx], axis=1)]]  # [C]
    local = np.repeat(median_filter(at_centres, size=9, mode="nearest"), step)[: len(onset)]  # [T]
    # a change is a sustained one: the median of some 15 s block away from the tempo
    block = int(15.0 * ANALYSIS_RATE / HOP)
    medians = [np.median(local[i:i + block]) for i in range(0, len(local) - block // 2, block)]
    moved = max((abs(np.log(m / bpm)) for m in medians), default=0.0)
    return local if moved > np.log(TEMPO_CHANGE) else bpm


def _track_beats(onset: np.ndarray, bpm: float | np.ndarray) -> np.ndarray:
    """Beat frames by dynamic programming around ``bpm`` (Ellis 2007; librosa's tracker), a
    number or one per frame."""
    import librosa

    if np.ndim(bpm) == 0:
        bpm = float(bpm)
    _, frames = librosa.beat.beat_track(onset_envelope=onset, sr=ANALYSIS_RATE, hop_length=HOP, bpm=bpm,
                                        tightness=100, trim=True, units="frames")
    return np.asarray(frames, dtype=int)


def _extend_grid(f: _Frames, frames: np.ndarray) -> np.ndarray:
    """The tracker drops weak first and last beats (librosa's ``trim``), which loses the bar
    the track starts on and its final hit. Extend the grid by one beat period at a time, at
    each end, while an onset at least a third as strong as the median beat is there (within
    +-3 frames, 48 ms). A track that starts loud on the first sample (no onset can be seen
    there) starts on a beat when the grid, extended back, lands on its start."""
    onset = f.onset
    if len(frames) < 4:
        return frames
    period = float(np.median(np.diff(frames)))
    need = 0.33 * float(np.median(onset[frames]))
    out = list(frames)
    for direction in (1, -1):
        while True:
            at = (out[-1] if direction > 0 else out[0]) + direction * period
            lo, hi = int(round(at)) - 3, int(round(at)) + 4
            if direction < 0 and lo < 0 <= hi and out[0] > 0 and f.loud_db[:2].max() >= f.peak_dbfs - 20.0:
                out.insert(0, 0)
                break
            if lo < 0 or hi > len(onset):
                break
            k = lo + int(np.argmax(onset[lo:hi]))
            if onset[k] < need or onset[k] <= 0:
                break
            if direction > 0:
                out.append(k)
            else:
                out.insert(0, k)
    return np.asarray(out, dtype=int)


def _zscore(x: np.ndarray) -> np.ndarray:
    s = x.std()
    return (x - x.mean()) / s if s > 1e-9 else np.zeros_like(x)


def _beat_sync(x: np.ndarray, frames: np.ndarray, n: int) -> np.ndarray:
    """``x`` [d, T] averaged over each span between consecutive ``frames`` -> [d, len(frames)]
    (the span of the last frame runs to the end)."""
    edges = np.concatenate([frames, [n]]).astype(int)
    out = np.zeros((x.shape[0], len(frames)), dtype=np.float64)
    for i in range(len(frames)):
        a, b = edges[i], max(edges[i + 1], edges[i] + 1)
        out[:, i] = x[:, a:b].mean(axis=1)
    return out


def _bar_positions(f: _Frames, beats: np.ndarray) -> tuple[int, np.ndarray]:
    """(meter, int8 [n] position of each beat in its bar, 1 = downbeat).

    Own code (librosa has no downbeats): each beat's evidence of starting a bar is a low
    onset (kick, bass note), a harmonic change (chroma of the beat after vs the beat before)
    and a loud accent. For 3 and 4 beats per bar a Viterbi path over bar positions puts the
    downbeats where that evidence peaks, allowing a phase jump at a cost (a missed beat).
    The meter whose downbeats stand out more wins; 4 unless 3 is clearly better.
    """
    n = len(beats)
    low = _grid_strength(f.low_onset, beats)
    acc = _grid_strength(f.accent, beats)
    chroma = _beat_sync(f.chroma, beats, f.n)  # [12, n]
    chroma = chroma / (np.linalg.norm(chroma, axis=0, keepdims=True) + 1e-9)
    change = np.zeros(n)
    change[1:] = 1.0 - np.sum(chroma[:, 1:] * chroma[:, :-1], axis=0)
    w_low, w_change, w_acc = DOWNBEAT_WEIGHTS
    evidence = w_low * _zscore(low) + w_change * _zscore(change) + w_acc * _zscore(acc)  # [n]
    best: tuple[float, int, np.ndarray] | None = None
    for meter in (4, 3):
        pos, score = _viterbi_positions(evidence, meter)
        score /= max(n, 1)  # per beat
        if meter == 3:
            score -= 0.05  # prefer 4/4 unless 3/4 is clearly better
        if best is None or score > best[0]:
            best = (score, meter, pos)
    assert best is not None
    return best[1], (best[2] + 1).astype(np.int8)


def _viterbi_positions(evidence: np.ndarray, meter: int) -> tuple[np.ndarray, float]:
    """(int [n] bar position (0 = downbeat) per beat, the path's score): the path maximising
    the evidence on downbeats minus SWITCH_PENALTY per jump, positions otherwise advancing
    by one per beat."""
    n = len(evidence)
    emit = np.zeros((n, meter))
    emit[:, 0] = evidence
    score = emit[0].copy()
    back = np.zeros((n, meter), dtype=int)
    prev_of = (np.arange(meter) - 1) % meter  # the state that advances into each state
    for i in range(1, n):
        stay = score[prev_of]  # [meter]: advance without a jump
        jump_from = int(np.argmax(score))
        jump = score[jump_from] - SWITCH_PENALTY
        take_jump = jump > stay
        back[i] = np.where(take_jump, jump_from, prev_of)
        score = np.where(take_jump, jump, stay) + emit[i]
    pos = np.zeros(n, dtype=int)
    pos[-1] = int(np.argmax(score))
    for i in range(n - 1, 0, -1):
        pos[i - 1] = back[i, pos[i]]
    return pos, float(score.max())


MAX_SECTION_UNITS = 600
"""Bars (or seconds) in the self-similarity matrix at most; beyond, units span several."""


def _sections(f: _Frames, bars: np.ndarray | None) -> np.ndarray:
    """Section starts (s, first 0.0): peaks of a checkerboard-kernel novelty (Foote 2000) on
    the self-similarity of bar-synchronous chroma + timbre (MFCC) + loudness, so boundaries
    fall on downbeats and beat-to-beat alternation (kick, snare) averages out. Without a
    grid, 1 s frames stand in for bars. Sections are at least four bars (8 s) long."""
    if bars is None:
        step = int(round(1.0 * ANALYSIS_RATE / HOP))
        units = np.arange(0, f.n, step)
        min_gap = 8
    else:
        units = np.asarray(bars, int)
        min_gap = 4
    if len(units) > MAX_SECTION_UNITS:  # a long file: several bars (seconds) per unit, memory flat
        k = int(np.ceil(len(units) / MAX_SECTION_UNITS))
        units, min_gap = units[::k], max(2, min_gap // k)
    n = len(units)
    if n < 9:
        return np.zeros(1)
    half = min(4 if bars is not None else 8, n // 3)
    g = np.arange(-half, half) + 0.5
    taper = np.exp(-0.5 * (g / half) ** 2)
    kernel = np.outer(taper, taper) * np.outer(np.sign(g), np.sign(g))  # [2h, 2h] +1 same side, -1 across
    novelty = np.zeros(n)
    # one self-similarity per view (harmony, timbre, loudness), each novelty scaled to max 1,
    # so that 12 chroma dimensions do not drown the others
    for x, weight in ((f.chroma, 1.0), (f.mfcc, 1.0), (f.loud_db[None, :], 0.5)):
        feats = _beat_sync(x, units, f.n)  # [d, n]
        feats = (feats - feats.mean(axis=1, keepdims=True)) / (feats.std(axis=1, keepdims=True) + 1e-6)
        sq = np.sum(feats ** 2, axis=0)  # [n]
        d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * feats.T @ feats, 0.0)  # [n, n] squared distances
        ssm = np.exp(-d2 / (np.median(d2) + 1e-9))  # 1 = same, -> 0 far apart
        padded = np.pad(ssm - ssm.mean(), half, mode="constant")
        nov = np.array([float(np.sum(padded[i:i + 2 * half, i:i + 2 * half] * kernel)) for i in range(n)])
        nov = np.maximum(nov, 0.0)
        novelty += weight * nov / (nov.max() + 1e-9)
    novelty = np.maximum(novelty, 0.0)
    novelty[:2] = 0.0  # the first units see only half a context
    novelty[n - 2:] = 0.0
    if not novelty.any():
        return np.zeros(1)
    thresh = novelty.mean() + 0.5 * novelty.std()
    picks: list[int] = []
    for i in np.argsort(-novelty, kind="stable"):
        if novelty[i] < thresh:
            break
        if i >= min_gap and n - i >= 2 and all(abs(i - j) >= min_gap for j in picks):
            picks.append(int(i))
    times = np.round(f.seconds(units[sorted(picks)]), 4)
    return np.concatenate([[0.0], times[times > 0.0]])


def _energy_curve(f: _Frames, n_out: int) -> np.ndarray:
    """float32 [n_out] at ENERGY_RATE: half loudness (the top 40 dB of the track mapped to
    0..1), half onset strength (smoothed, scaled by its 95th percentile), mean per 100 ms;
    rounded to 0.001 (so the JSON form round-trips exactly)."""
    if n_out == 0:
        return np.zeros(0, np.float32)
    top = max(f.peak_dbfs, SILENCE_DBFS)
    loud = np.clip((f.loud_db - (top - 40.0)) / 40.0, 0.0, 1.0)
    o = f.onset / (np.percentile(f.onset, 95) + 1e-9) if f.onset.any() else f.onset
    frame_e = 0.5 * loud + 0.5 * np.clip(o, 0.0, 1.0)
    if f.peak_dbfs < SILENCE_DBFS:
        frame_e = np.zeros_like(frame_e)
    t = f.seconds(np.arange(f.n))
    bins = np.minimum((t * ENERGY_RATE).astype(int), n_out - 1)
    sums = np.bincount(bins, weights=frame_e, minlength=n_out)
    counts = np.bincount(bins, minlength=n_out)
    e = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    return np.round(np.clip(e, 0.0, 1.0), 3).astype(np.float32)


def _sound_end(f: _Frames, duration: float) -> float:
    """Where sound ends (s): the last frame within 40 dB of the track's peak loudness (and
    above -60 dBFS), smoothed over 0.25 s; 0.0 for silence."""
    from scipy.ndimage import uniform_filter1d

    if f.peak_dbfs < SILENCE_DBFS:
        return 0.0
    smooth = uniform_filter1d(f.loud_db, size=16, mode="nearest")
    loud = np.nonzero(smooth >= max(f.peak_dbfs - 40.0, SILENCE_DBFS))[0]
    if not len(loud):
        return 0.0
    return round(min(duration, float(f.seconds(loud[-1] + 1))), 4)


def _ending(f: _Frames, beats: np.ndarray, downbeats: np.ndarray, sound_end: float) -> float:
    """The last downbeat before the fade-out or the silence.

    On the loudness smoothed over 0.4 s, against the track's median level: the music stops
    where it was last within 6 dB of that level. When 2 s later it is still within 20 dB and
    beats go on (a final chord ringing out has none; a noise floor is not music), it fades:
    the fade starts where the level averaged over 2 s was last within 2 dB of its median.
    The ending is the last downbeat at or before that point.
    """
    from scipy.ndimage import uniform_filter1d

    if len(downbeats) == 0:
        return sound_end
    smooth = uniform_filter1d(f.loud_db, size=25, mode="nearest")  # [T]
    audible = smooth[smooth >= f.peak_dbfs - 40.0]
    if not len(audible):
        return float(downbeats[0])
    ref = float(np.median(audible))

    def last_at(level: float) -> float:
        k = np.nonzero(smooth >= level)[0]
        return float(f.seconds(k[-1])) if len(k) else 0.0

    stop = last_at(ref - 6.0)
    later = min(f.n - 1, int(round((stop + 2.0) * ANALYSIS_RATE / HOP)))
    playing_on = int(np.sum((beats > stop + 0.2) & (beats <= stop + 2.0)))
    if smooth[later] >= ref - 20.0 and playing_on >= 2:
        # a fade: where the level, averaged over 2 s (a bar or so, so single hits do not
        # count), was last within 2 dB of its median
        slow = uniform_filter1d(f.loud_db, size=125, mode="nearest")
        k = np.nonzero(slow >= float(np.median(slow[smooth >= f.peak_dbfs - 40.0])) - 2.0)[0]
        stop = float(f.seconds(k[-1])) if len(k) else stop
    before = downbeats[downbeats <= stop + 0.1]
    return float(before[-1]) if len(before) else float(downbeats[0])
