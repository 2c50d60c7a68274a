"""The demo's instruments: small numpy synths and drums (see :mod:`training.demo_music`).

Additive tones with per-partial decay (piano, plucked guitar, harpsichord, sitar with a
moving "jawari" formant, electric piano), detuned saws (pads, strings with vibrato, acid
bass with a swept resonance), naive pulse waves (chiptune), power chords, and drums from
filtered noise and swept sines. Every function returns float32 mono at :data:`SR`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

SR = 22050
"""Sample rate of the synthesis and of the written tracks (Hz)."""


def hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def additive(f0: float, seconds: float, amps: Sequence[float] | np.ndarray,
             decays: float | Sequence[float] | np.ndarray = 0.0, *, inharm: float = 0.0,
             vibrato: tuple[float, float] = (0.0, 0.0), attack: float = 0.004, bend: float = 0.0,
             shape: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
             rng: np.random.Generator | None = None) -> np.ndarray:
    """Sum of partials ``k f0 sqrt(1 + inharm k^2)`` with amplitudes ``amps[k-1]``, each
    decaying as ``exp(-decays[k-1] t)``. Options: vibrato (rate Hz, depth as a fraction), an
    initial upward bend (semitones, gliding to pitch in ~60 ms), and ``shape(fk [K,1], t [1,n])
    -> weights [K,n]``: a time-varying spectral envelope (a swept filter, a sitar's buzz)."""
    n = max(1, int(seconds * SR))
    t = np.arange(n, dtype=np.float32) / SR
    k = np.arange(1, len(amps) + 1, dtype=np.float32)
    fk = f0 * k * np.sqrt(1 + inharm * k**2)
    amps = np.asarray(amps, np.float32)
    keep = (fk < 0.45 * SR) & (np.abs(amps) > 0.003 * np.abs(amps).max())  # inaudible partials cost time
    k, fk, amps = k[keep], fk[keep], amps[keep]
    dec = np.broadcast_to(np.asarray(decays, np.float32), keep.shape)[keep]
    ratio = np.ones(n, np.float32)
    if vibrato[1]:
        ratio += vibrato[1] * np.sin(2 * np.pi * vibrato[0] * t + (rng.uniform(0, 6.3) if rng else 0.0))
    if bend:
        ratio *= 2.0 ** (-bend * np.exp(-t / 0.06) / 12.0)
    phase = (2 * np.pi / SR) * np.cumsum(ratio, dtype=np.float64).astype(np.float32)
    ph0 = (rng.uniform(0, 6.3, len(k)) if rng is not None else np.zeros(len(k))).astype(np.float32)
    parts = np.sin(np.outer(fk, phase) + ph0[:, None]) * (amps[:, None] * np.exp(-np.outer(dec, t)))
    if shape is not None:
        parts *= shape(fk[:, None], t[None, :])
    env = np.minimum(1.0, t / max(attack, 1e-4))
    return (parts.sum(axis=0) * env).astype(np.float32)


def fft_filter(x: np.ndarray, low: float = 0.0, high: float = SR / 2, slope: float = 2.0) -> np.ndarray:
    """Band-pass by spectral weighting (Butterworth-like magnitude of order ``slope``)."""
    size = 1 << int(np.ceil(np.log2(x.shape[-1])))  # a power of two: pocketfft is slow on large primes
    f = np.fft.rfftfreq(size, 1.0 / SR).astype(np.float32)
    w = 1.0 / np.sqrt(1 + (f / high) ** (2 * slope))
    if low > 0:
        w = w / np.sqrt(1 + (low / np.maximum(f, 1e-3)) ** (2 * slope))
    return np.fft.irfft(np.fft.rfft(x, size) * w, size)[: x.shape[-1]].astype(np.float32)


def decay_env(seconds: float, tau: float, attack: float = 0.001) -> np.ndarray:
    t = np.arange(int(seconds * SR), dtype=np.float32) / SR
    return np.minimum(1.0, t / attack) * np.exp(-t / tau)


def noise(seconds: float, rng: np.random.Generator, hold: int = 1) -> np.ndarray:
    n = int(seconds * SR)
    x = rng.uniform(-1, 1, n // hold + 1).astype(np.float32)
    return np.repeat(x, hold)[:n]


def sweep(f_start: float, f_end: float, seconds: float, tau_pitch: float, tau_amp: float) -> np.ndarray:
    """A sine whose pitch falls exponentially from ``f_start`` to ``f_end`` (kicks, toms, 808s)."""
    t = np.arange(int(seconds * SR), dtype=np.float32) / SR
    f = f_end + (f_start - f_end) * np.exp(-t / tau_pitch)
    return (np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t / tau_amp)).astype(np.float32)


def smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Cheap low-pass for whole stems: two passes of a box filter (a triangle kernel)."""
    for _ in range(2):
        c = np.cumsum(np.concatenate([np.zeros(width, np.float32), x]), dtype=np.float64)
        x = ((c[width:] - c[:-width]) / width).astype(np.float32)
    return x


def _comb(x: np.ndarray, delay: int, g: float) -> np.ndarray:
    """y[n] = x[n] + g y[n - delay], computed a block of ``delay`` samples at a time."""
    n, m = len(x), -(-len(x) // delay)
    y = np.zeros(m * delay, np.float32)
    y[:n] = x
    y = y.reshape(m, delay)
    for i in range(1, m):
        y[i] += g * y[i - 1]
    return y.reshape(-1)[:n]


def reverb(x: np.ndarray, rt60: float) -> np.ndarray:
    """Stereo [2, n] room of a mono send: early reflections (a few taps), then four parallel
    feedback combs per side tuned to decay by 60 dB in ``rt60`` seconds, darkened."""
    early = x.copy()
    for d_ms, g in ((7.1, 0.6), (11.3, 0.5), (17.9, 0.4), (23.3, 0.35)):
        d = int(d_ms * SR / 1000)
        early[d:] += g * x[:-d]
    out = []
    for side in (0, 1):
        acc = np.zeros_like(x)
        for d_ms in (29.7, 37.1, 41.1, 43.7):
            d = int((d_ms + 1.3 * side) * SR / 1000)
            acc += _comb(early, d, 10 ** (-3 * d / (rt60 * SR)))
        out.append(smooth(acc, 3))
    return np.stack(out) * 0.2


# --- instruments: (midi, seconds, energy, rng) -> mono sample ---------------------------------

def _k(n: int) -> np.ndarray:
    return np.arange(1, n + 1, dtype=np.float32)


def _saws(f: float, s: float, cents: tuple[float, ...], cutoff: float, *, vibrato: float = 0.0,
          attack: float = 0.004, rng: np.random.Generator | None = None) -> np.ndarray:
    """Detuned band-limited (PolyBLEP) sawtooths, low-passed: the analogue-synth staple behind
    pads, string sections and stabs. ``vibrato``: depth as a fraction at 5.6 Hz."""
    n = max(1, int(s * SR))
    t = np.arange(n, dtype=np.float32) / SR
    out = np.zeros(n, np.float32)
    for c in cents:
        ph0 = rng.uniform(0, 6.3) if rng is not None else 0.0
        dt = (f * 2 ** (c / 1200) / SR) * (1 + vibrato * np.sin(2 * np.pi * 5.6 * t + ph0))
        p = (np.cumsum(dt, dtype=np.float64) + ph0 / 6.3) % 1.0
        x = 2 * p - 1
        lo, hi = p < dt, p > 1 - dt  # the two samples around each wrap get the polynomial fix
        u = p[lo] / dt[lo]
        x[lo] -= u + u - u * u - 1
        u = (p[hi] - 1) / dt[hi]
        x[hi] -= u * u + u + u + 1
        out += x.astype(np.float32)
    out = smooth(out, max(1, int(SR / (2.2 * cutoff)))) if cutoff < SR / 4 else out
    return out * np.minimum(1.0, t / max(attack, 1e-4)) / np.sqrt(len(cents))


def _piano(m, s, e, rng):
    f, k = hz(m), _k(18)
    amps = (1 / k**1.4) * (0.6 + 0.4 * np.abs(np.sin(np.pi * k / 7))) * np.exp(-k * f * (1.3 - e) / 4000)
    return additive(f, s, amps, (0.5 + 0.45 * k) * (f / 262) ** 0.5, inharm=3e-4, attack=0.002, rng=rng)


def _epiano(m, s, e, rng):
    f = hz(m)
    out = additive(f, s, [1, 0.3, 0.06], [0.9, 1.8, 3], rng=rng)
    bell = additive(7.0 * f, min(s, 0.3), [1], 14, rng=rng)  # the tine's metallic attack
    out[: len(bell)] += (0.2 + 0.2 * e) * bell
    return out


def _pluck(m, s, e, rng, pos=0.18, bright=1.0, decay=(1.2, 0.8)):
    f, k = hz(m), _k(28)
    amps = np.abs(np.sin(np.pi * k * pos)) / k ** (1.1 - 0.3 * bright)
    return additive(f, s, amps, (decay[0] + decay[1] * k) * (f / 200) ** 0.4, inharm=1e-4, attack=0.001, rng=rng)


def _harpsichord(m, s, e, rng):
    a = _pluck(m, s, e, rng, pos=0.07, bright=1.6, decay=(1.5, 0.25))
    return a + 0.4 * _pluck(m + 12, s, e, rng, pos=0.1, bright=1.6, decay=(2.0, 0.3))


def _buzz(fc0: float, fc1: float, tau: float, width: float):
    """A sitar's "jawari": a formant that sweeps down the partials as the string settles."""
    def shape(fk, t):
        fc = fc1 + (fc0 - fc1) * np.exp(-t / tau)
        return 0.35 + np.exp(-(((fk - fc) / width) ** 2))
    return shape


def _sitar(m, s, e, rng):  # bright, quickly settling partials, a fast jawari sweep and a meend
    f, k = hz(m), _k(50)
    return additive(f, s, 1 / k**0.3, 2.0 + 0.15 * k, bend=0.75 + 1.5 * rng.random(), attack=0.001,
                    shape=_buzz(5000, 1500, 0.15, 500), rng=rng)


def _tanpura(m, s, e, rng):
    f, k = hz(m), _k(36)
    return additive(f, s, 1 / k**0.5, 0.35 + 0.03 * k, attack=0.01, shape=_buzz(3000, 1200, 1.2, 900), rng=rng)


def _pad(m, s, e, rng):
    return _saws(hz(m), s, (-9, 0, 7), 700 + 900 * e, attack=min(1.5, s / 3), rng=rng)


def _strings(m, s, e, rng):
    return _saws(hz(m), s, (-6, 0, 5), 2500 + 1500 * e, vibrato=0.0035, attack=min(0.25, s / 3), rng=rng)


def _spiccato(m, s, e, rng):
    return _strings(m, s, e, rng) * decay_env(s, 0.12, 0.01)[: int(s * SR)]


def _bass(m, s, e, rng):
    return additive(hz(m), s, [1, 0.6, 0.3, 0.15, 0.08, 0.04], 1.5 + 0.8 * _k(6), attack=0.006, rng=rng)


def _sub808(m, s, e, rng):
    f = hz(m)
    return np.tanh(2.0 * sweep(2.2 * f, f, s, 0.03, 0.9))


def _acid(m, s, e, rng):
    f, k = hz(m), _k(60)
    peak = 400 + 2400 * e

    def shape(fk, t):
        fc = peak * (0.35 + 0.65 * np.exp(-t / 0.12))
        return 1 / np.sqrt(1 + (fk / fc) ** 6) + 2.5 * np.exp(-(((fk - fc) / (0.12 * fc)) ** 2))
    return np.tanh(1.5 * additive(f, s, 1 / k, 3.0, attack=0.003, shape=shape, rng=rng))


def _stab(m, s, e, rng):
    return _saws(hz(m), s, (-14, -5, 0, 6, 13), 1800 + 2500 * e, attack=0.003) * decay_env(s, 0.25)[: int(s * SR)]


def _pulse(m, s, e, rng, duty=0.25):
    t = np.arange(int(s * SR), dtype=np.float32) / SR
    wave = np.where((hz(m) * t) % 1.0 < duty, 1.0, -1.0).astype(np.float32)
    return wave * (0.55 + 0.45 * np.exp(-t / 0.08)) * 0.5


def _triangle(m, s, e, rng):
    t = np.arange(int(s * SR), dtype=np.float32) / SR
    return (np.abs(4 * ((hz(m) * t) % 1.0) - 2) - 1) * 0.8


def _guitar(m, s, e, rng):  # a power chord on plucked strings; the overdrive comes at the bus
    return sum(_pluck(m + d, s, e, rng, pos=0.12, bright=1.4, decay=(0.6, 0.25)) for d in (0, 7, 12))


def _flute(m, s, e, rng):
    tone = additive(hz(m), s, [1, 0.25, 0.08, 0.03], vibrato=(5.0, 0.004), attack=0.08, rng=rng)
    return tone + 0.06 * fft_filter(noise(s, rng), 1500, 5000) * np.minimum(1.0, np.arange(len(tone)) / 2000)


INSTRUMENTS = {
    "piano": _piano, "epiano": _epiano, "pluck": _pluck, "harpsichord": _harpsichord, "sitar": _sitar,
    "tanpura": _tanpura, "pad": _pad, "strings": _strings, "spiccato": _spiccato, "bass": _bass,
    "sub808": _sub808, "acid": _acid, "stab": _stab, "square": _pulse,
    "square50": lambda m, s, e, r: _pulse(m, s, e, r, 0.5), "triangle": _triangle, "guitar": _guitar,
    "flute": _flute,
}


def drum(name: str, rng: np.random.Generator, tonic: float = 262.0) -> np.ndarray:
    """One-shot drum samples from swept sines and filtered noise (varied a little per track)."""
    v = rng.uniform(0.9, 1.1)
    if name == "kick":
        return sweep(170 * v, 48, 0.45, 0.03, 0.16) + 0.3 * fft_filter(noise(0.45, rng), 1000) * decay_env(0.45, 0.004)
    if name == "kick808":
        return np.tanh(1.5 * sweep(130 * v, 46, 0.8, 0.04, 0.35))
    if name == "kickrock":
        return sweep(120 * v, 58, 0.35, 0.02, 0.12) + 0.5 * fft_filter(noise(0.35, rng), 1500, 6000) * decay_env(0.35, 0.006)
    if name == "kickchip":
        return np.sign(sweep(200 * v, 50, 0.18, 0.02, 0.5)) * decay_env(0.18, 0.06) * 0.6
    if name in ("snare", "snarerock"):
        tau = 0.09 if name == "snare" else 0.14
        body = sweep(240 * v, 180, 0.35, 0.03, 0.06)
        return 0.55 * body + fft_filter(noise(0.35, rng), 900, 9000) * decay_env(0.35, tau)
    if name == "clap":  # three quick bursts and a short tail
        env = sum(np.roll(decay_env(0.3, 0.008), int(d * SR)) for d in (0, 0.011, 0.022))
        env = env + 0.6 * np.roll(decay_env(0.3, 0.07), int(0.03 * SR))
        return fft_filter(noise(0.3, rng), 900, 5000) * env
    if name in ("hat", "ohat", "ride"):
        tau = {"hat": 0.018, "ohat": 0.16, "ride": 0.3}[name]
        return 0.5 * fft_filter(noise(min(1.2, 6 * tau), rng), 7000 * v) * decay_env(min(1.2, 6 * tau), tau)
    if name == "crash":
        return 0.6 * fft_filter(noise(2.0, rng), 3500) * decay_env(2.0, 0.7)
    if name == "shaker":
        env = np.minimum(1.0, np.arange(int(0.12 * SR)) / (0.02 * SR)) * decay_env(0.12, 0.03)
        return 0.5 * fft_filter(noise(0.12, rng), 4000, 11000) * env
    if name in ("chipsnare", "chiphat"):
        hold, tau = (6, 0.07) if name == "chipsnare" else (1, 0.02)
        return 0.5 * noise(0.25, rng, hold) * decay_env(0.25, tau)
    if name in ("na", "tin"):  # tabla dayan: a harmonic membrane tuned to the tonic, and its slap
        amps, dec = ([1, 0.8, 0.6, 0.45, 0.3], [6, 7, 9, 12, 15]) if name == "na" else \
            ([0.7, 0.35, 0.5, 0.2, 0.3], [15, 18, 20, 25, 30])
        x = additive(tonic, 0.6, amps, dec, attack=0.001, rng=rng)
        x[: int(0.02 * SR)] += 0.3 * fft_filter(noise(0.02, rng), 2000) * np.linspace(1, 0, int(0.02 * SR))
        return x
    if name == "ge":  # bayan: a low stroke whose pitch rises under the heel of the hand
        return 1.4 * sweep(75 * v, 110, 0.7, 0.2, 0.35)
    raise ValueError(f"unknown drum {name!r}")
