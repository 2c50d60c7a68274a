"""Generated music with known beats, downbeats, sections and ending: the reference that
:mod:`engine.rhythm.music` is measured against (``bench/rhythm.py``) and tested with
(``tests/test_rhythm_music.py``), and that fit-to-length and the sync score can use too.

Numpy only, deterministic per seed. A track is drums (kick on every downbeat, snare on the
back beats, hi-hats on the eighths, swung or straight), a bass note and a chord pad that
change on bar lines, and sections every few bars whose timbre (pad partials, hat density)
differs, so that structure is audible the way it is in real music. ``ambient`` is pads that
swell in and out with no onsets (no steady beat), ``silence`` is digital silence.

    t = synth_track("waltz", seed=3, duration=20.0)
    t.samples  # float32 [n] mono at t.rate
    t.beats, t.downbeats, t.sections   # float64 seconds (empty for ambient/silence)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STYLES = ("slow", "straight", "fast", "swing", "waltz", "tempo_change", "fade_out", "syncopated", "ambient",
          "rubato", "silence")
"""What :func:`synth_track` can make. ``straight``: 110-130 bpm 4/4; ``slow``: 60-90;
``fast``: 160-185; ``swing``: 4/4 with swung eighths (2:1); ``waltz``: 3/4; ``tempo_change``:
4/4 whose tempo moves by 15-25 % in the middle; ``fade_out``: 4/4 that fades to silence over
its last bars (its ``ending`` is the last downbeat before the fade); ``syncopated``: 4/4 whose
kick also falls off the beat (the "and" of 2 and 3), with sixteenth hats and a room reverb;
``rubato``: piano notes whose pulse wanders freely (no steady beat, though every note is an
onset)."""

_CHORDS = ((0, 4, 7), (9, 12, 16), (5, 9, 12), (7, 11, 14), (2, 5, 9), (4, 7, 11))
"""Semitone offsets of triads (I, vi, IV, V, ii, iii) above the key's root."""


@dataclass(frozen=True)
class SynthTrack:
    style: str
    samples: np.ndarray
    """float32 [n] mono, peak <= 1."""
    rate: int
    tempo: float | None
    """The (initial) tempo in bpm; None without a beat."""
    meter: int | None
    beats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """float64 [n] seconds."""
    downbeats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sections: np.ndarray = field(default_factory=lambda: np.zeros(1))
    """float64 section starts (s), first 0.0."""
    ending: float = 0.0
    """Where the music really ends (s): the last downbeat before the fade, or the last downbeat
    played (each track ends with a final hit on a downbeat)."""
    steady: bool = True

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


def _env(n: int, rate: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / rate
    return np.minimum(t / max(attack, 1e-4), 1.0) * np.exp(-t / decay)


def _kick(rate: int) -> np.ndarray:
    n = int(0.35 * rate)
    t = np.arange(n) / rate
    f = 50 + 90 * np.exp(-t / 0.04)  # pitch sweep 140 -> 50 Hz
    return np.sin(2 * np.pi * np.cumsum(f) / rate) * _env(n, rate, 0.002, 0.12)


def _snare(rate: int, rng: np.random.Generator) -> np.ndarray:
    n = int(0.2 * rate)
    noise = rng.standard_normal(n)
    noise = noise - np.convolve(noise, np.ones(4) / 4, mode="same")  # crude high-pass
    t = np.arange(n) / rate
    return (0.6 * noise + 0.5 * np.sin(2 * np.pi * 190 * t)) * _env(n, rate, 0.001, 0.06)


def _hat(rate: int, rng: np.random.Generator) -> np.ndarray:
    n = int(0.06 * rate)
    noise = rng.standard_normal(n)
    noise = np.diff(noise, prepend=0.0)  # brighter
    return 0.25 * noise * _env(n, rate, 0.0005, 0.015)


def _add(out: np.ndarray, sound: np.ndarray, at: float, rate: int, gain: float = 1.0,
         rng: np.random.Generator | None = None) -> None:
    """Mix ``sound`` in at ``at`` seconds; with ``rng``, played by a human: timing off by
    a few ms (sd 6 ms) and loudness by +-1.5 dB."""
    if rng is not None:
        at += float(rng.normal(0.0, 0.006))
        gain *= float(10 ** (rng.normal(0.0, 1.5) / 20))
    i = int(round(at * rate))
    if i >= len(out) or i < 0:
        return
    m = min(len(sound), len(out) - i)
    out[i:i + m] += gain * sound[:m]


def _tone(freq: float, n: int, rate: int, partials: tuple[float, ...]) -> np.ndarray:
    t = np.arange(n) / rate
    return sum(a * np.sin(2 * np.pi * freq * (k + 1) * t) for k, a in enumerate(partials))


def _beat_times(duration: float, bpm: float, bpm2: float | None, change_at: float) -> np.ndarray:
    times, t = [], 0.0
    while t < duration - 1e-9:
        times.append(t)
        t += 60.0 / (bpm if bpm2 is None or t < change_at else bpm2)
    return np.asarray(times)


def synth_track(style: str, seed: int = 0, duration: float = 30.0, rate: int = 16000,
                bpm: float | None = None) -> SynthTrack:
    """One generated track of ``style`` (see :data:`STYLES`); ``bpm`` overrides the drawn tempo."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    rng = np.random.default_rng(seed)
    n = int(round(duration * rate))
    if style == "silence":
        return SynthTrack(style, np.zeros(n, np.float32), rate, None, None, steady=False, ending=0.0)
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)  # A2..G#3
    if style == "ambient":
        return _ambient(rng, n, rate, root)
    if style == "rubato":
        return _rubato(rng, n, rate, root)
    lo, hi = {"slow": (60, 90), "fast": (160, 185), "waltz": (90, 150), "swing": (100, 140)}.get(style, (105, 132))
    tempo = float(bpm) if bpm is not None else float(rng.uniform(lo, hi))
    meter = 3 if style == "waltz" else 4
    bpm2 = tempo * float(rng.choice([0.8, 0.85, 1.18, 1.25])) if style == "tempo_change" else None
    beats = _beat_times(duration - 0.5, tempo, bpm2, duration * 0.5)
    # end on a bar line: the final downbeat is the last hit
    n_bars = (len(beats) - 1) // meter
    beats = beats[: n_bars * meter + 1]
    downbeats = beats[::meter]
    out = np.zeros(n + rate, np.float64)  # room for tails, cut below
    kick, snare, hat = _kick(rate), _snare(rate, rng), _hat(rate, rng)
    bars_per_section = int(rng.choice([4, 8])) if duration > 20 else 4
    section_bars = np.arange(0, n_bars + 1, bars_per_section)
    sections = downbeats[section_bars[section_bars < len(downbeats) - 1]] if n_bars > 1 else np.zeros(1)
    timbres = [(1.0, 0.0, 0.0), (0.6, 0.5, 0.35), (0.8, 0.0, 0.4), (0.5, 0.45, 0.3, 0.2)]
    swing = style == "swing"
    syncopated = style == "syncopated"
    fade_from = None
    if style == "fade_out" and n_bars > 8:
        fade_bar = n_bars - 4
        fade_from = downbeats[fade_bar]
    for b, t0 in enumerate(downbeats[:-1]):
        t1 = downbeats[b + 1]
        sec = int(np.searchsorted(sections, t0, side="right")) - 1
        busy = sec % 2 == 1  # alternate sections: denser hats, brighter pad
        chord = _CHORDS[4 + b % 2] if sec % 2 else _CHORDS[b % 4]  # ii-iii vs I-vi-IV-V: a new section sounds new at once
        bar_beats = beats[b * meter:(b + 1) * meter + 1]
        _add(out, kick, t0, rate, 0.9, rng=rng)
        for k in range(meter):
            tb = bar_beats[k]
            span = bar_beats[k + 1] - tb
            if syncopated:
                if k in (1, 2):
                    _add(out, kick, tb + span / 2, rate, 0.7, rng=rng)
                for q in (0.25, 0.75):
                    _add(out, hat, tb + span * q, rate, 0.15, rng=rng)
            if meter == 4 and k in (1, 3) or meter == 3 and k in (1, 2):
                _add(out, snare, tb, rate, 0.45 if meter == 4 else 0.3, rng=rng)
            if meter == 4 and k == 2 and busy:
                _add(out, kick, tb, rate, 0.45, rng=rng)
            _add(out, hat, tb, rate, 0.5, rng=rng)
            off = tb + span * (2 / 3 if swing else 0.5)
            _add(out, hat, off, rate, 0.3 if busy or swing else 0.2, rng=rng)
        # bass on the bar, pad for the bar (soft attack so it marks the bar without a click)
        m = int((t1 - t0) * rate)
        bass = _tone(root / 2 * 2 ** (chord[0] / 12), m, rate, (1.0, 0.3)) * _env(m, rate, 0.01, 0.6 * (t1 - t0))
        _add(out, bass, t0, rate, 0.35)
        partials = timbres[(sec + (1 if busy else 0)) % len(timbres)]
        pad = sum(_tone(root * 2 ** (c / 12), m, rate, partials) for c in chord)
        fade = np.minimum(1.0, np.minimum(np.arange(m), m - np.arange(m)) / (0.03 * rate))
        _add(out, pad * fade, t0, rate, 0.06)
    _add(out, kick, downbeats[-1], rate, 0.9)  # the final hit
    _add(out, snare, downbeats[-1], rate, 0.3)
    out = out[:n]
    ending = float(downbeats[-1])
    if fade_from is not None:
        t = np.arange(n) / rate
        fade_len = downbeats[-1] - fade_from
        out *= np.clip(1 - (t - fade_from) / fade_len, 0, 1) ** 2
        ending = float(fade_from)
        keep = downbeats <= fade_from + 1e-9
        beats = beats[beats <= fade_from + 1e-9]
        downbeats = downbeats[keep]
    if syncopated:  # a room: exponentially decaying noise as impulse response, 0.4 s
        m = int(0.4 * rate)
        ir = rng.standard_normal(m) * np.exp(-np.arange(m) / (0.08 * rate))
        ir[0] = 8.0
        out = np.convolve(out, ir / np.abs(ir).sum() * 4.0)[:n]
    out += 0.002 * rng.standard_normal(n)  # a little room noise
    out /= max(1e-9, np.abs(out).max()) / 0.8
    return SynthTrack(style, out.astype(np.float32), rate, tempo, meter, beats, downbeats,
                      np.asarray(sections, float), ending)


def _rubato(rng: np.random.Generator, n: int, rate: int, root: float) -> SynthTrack:
    """Piano-like notes (sharp attack, decaying partials) whose pulse wanders: each gap is the
    last one times a random factor (sd 20 %), note values of 1/2, 1 or 3/2 of it, 0.25-1.2 s."""
    out = np.zeros(n)
    t, gap = 0.0, float(rng.uniform(0.4, 0.8))
    duration = n / rate
    while t < duration - 0.5:
        m = min(int(2.0 * rate), n - int(t * rate))
        note = _CHORDS[int(rng.integers(0, len(_CHORDS)))][int(rng.integers(0, 3))]
        tone = _tone(root * 2 * 2 ** (note / 12), m, rate, (1.0, 0.5, 0.25, 0.1)) * _env(m, rate, 0.003, 0.5)
        _add(out, tone, t, rate, float(rng.uniform(0.3, 1.0)))
        gap = float(np.clip(gap * np.exp(rng.normal(0.0, 0.2)), 0.25, 1.2))
        t += gap * float(rng.choice([0.5, 1.0, 1.5]))
    out += 0.002 * rng.standard_normal(n)
    out /= max(1e-9, np.abs(out).max()) / 0.7
    return SynthTrack("rubato", out.astype(np.float32), rate, None, None, steady=False, ending=duration)


def _ambient(rng: np.random.Generator, n: int, rate: int, root: float) -> SynthTrack:
    """Pads that swell in and out over 3-7 s at irregular times: no onsets, no pulse."""
    out = np.zeros(n)
    t = 0.0
    duration = n / rate
    while t < duration:
        length = float(rng.uniform(4.0, 9.0))
        m = min(int(length * rate), n - int(t * rate))
        if m <= 0:
            break
        chord = _CHORDS[int(rng.integers(0, len(_CHORDS)))]
        pad = sum(_tone(root * 2 ** (c / 12) * (1 + 0.002 * rng.standard_normal()), m, rate, (1.0, 0.2, 0.05))
                  for c in chord)
        swell = np.sin(np.pi * np.arange(m) / m) ** 2  # slow in, slow out
        _add(out, pad * swell, t, rate, 0.1)
        t += float(rng.uniform(1.5, 4.0))  # overlapping
    # a slowly moving noise wash (wind)
    noise = rng.standard_normal(n)
    k = int(0.01 * rate)
    wash = np.convolve(noise, np.ones(k) / k, mode="same")
    lfo = 0.5 + 0.5 * np.sin(2 * np.pi * np.arange(n) / rate / 11.0 + rng.uniform(0, 6))
    out += 0.05 * wash * lfo
    out /= max(1e-9, np.abs(out).max()) / 0.7
    return SynthTrack("ambient", out.astype(np.float32), rate, None, None, steady=False, ending=duration)
