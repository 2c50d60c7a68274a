"""Bars of a track and how alike they sound, from its samples (for fit to length's splices,
:mod:`engine.rhythm.fit`): per beat of each bar, chroma (harmony), a cepstrum of log band
energies (timbre) and loudness; and where the sound ends.
"""

from __future__ import annotations

import numpy as np

SILENCE_DB = -50.0
"""Below this (relative to the loudest 50 ms) the track has ended."""


def _mono(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples, np.float32)
    return x.mean(axis=1) if x.ndim == 2 else x


def sound_end(samples: np.ndarray, rate: int) -> float:
    """Seconds to the end of sound: the last 50 ms block above ``SILENCE_DB`` of the loudest,
    plus that block."""
    x = _mono(samples)
    hop = max(1, int(0.05 * rate))
    n = len(x) // hop
    if n == 0:
        return len(x) / rate
    rms = np.sqrt((x[: n * hop].reshape(n, hop) ** 2).mean(1) + 1e-20)
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > SILENCE_DB) if rms.max() > 0 else []
    return len(x) / rate if len(loud) == 0 else min(len(x) / rate, (loud[-1] + 1) * hop / rate)


def bar_features(samples: np.ndarray, rate: int, bounds: np.ndarray, beats_per_bar: int = 4) -> np.ndarray:
    """Per bar (``bounds`` [m + 1] seconds), per beat: chroma [12], timbre [12], loudness [1].
    float32 [m, beats_per_bar * 25]."""
    x = _mono(samples).astype(np.float64)
    step = max(1, int(rate // 22050))  # features need no more than 11 kHz of bandwidth
    if step > 1:
        x = x[: len(x) // step * step].reshape(-1, step).mean(1)
    r = rate / step
    n_fft = 2048 if r > 16000 else 1024
    hop = n_fft // 4
    n = 1 + max(0, (len(x) - n_fft) // hop)
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
    frames = np.pad(x, (0, n_fft))[idx] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # [n, n_fft/2+1]
    freqs = np.fft.rfftfreq(n_fft, 1 / r)
    # chroma: bins 65 Hz..4 kHz folded onto pitch classes ([bins, 12] map)
    ok = (freqs >= 65) & (freqs <= 4000)
    pc = np.round(12 * np.log2(np.where(ok, freqs, 440.0) / 440.0)).astype(int) % 12
    fold = np.zeros((len(freqs), 12))
    fold[np.flatnonzero(ok), pc[ok]] = 1.0
    chroma = power @ fold
    chroma /= chroma.sum(1, keepdims=True) + 1e-12
    # timbre: DCT of 24 log band energies (60 Hz .. Nyquist), coefficients 1..12
    edges = np.geomspace(60, r / 2, 25)
    band = np.searchsorted(edges, freqs) - 1
    inside = (band >= 0) & (band < 24)
    to_bands = np.zeros((len(freqs), 24))
    to_bands[np.flatnonzero(inside), band[inside]] = 1.0
    bands = power @ to_bands
    logb = np.log(bands + 1e-10)
    k = np.arange(24)
    dct = np.cos(np.pi / 24 * (k[None, :] + 0.5) * np.arange(1, 13)[:, None])  # [12, 24]
    timbre = logb @ dct.T / 24
    loud = 10 * np.log10(power.sum(1) / n_fft + 1e-12)[:, None]
    per_frame = np.concatenate([chroma, timbre, loud], 1)  # [n, 25]
    t = (np.arange(n) * hop + n_fft / 2) / r
    m = len(bounds) - 1
    out = np.zeros((m, beats_per_bar, 25))
    for i in range(m):
        sub = np.linspace(bounds[i], bounds[i + 1], beats_per_bar + 1)
        a = np.searchsorted(t, sub)
        for b in range(beats_per_bar):
            lo, hi = a[b], max(a[b + 1], a[b] + 1)
            out[i, b] = per_frame[min(lo, n - 1):min(hi, n)].mean(0) if n else 0
    return out.reshape(m, -1).astype(np.float32)


def bar_similarity(features: np.ndarray, beats_per_bar: int = 4) -> np.ndarray:
    """float64 [m, m] in [0, 1]: 0.4 harmony (cosine of chroma), 0.4 timbre, 0.2 loudness."""
    f = features.reshape(len(features), beats_per_bar, 25).astype(np.float64)
    chroma = f[:, :, :12].reshape(len(f), -1)
    chroma = chroma / (np.linalg.norm(chroma, axis=1, keepdims=True) + 1e-12)
    s_chroma = np.clip(chroma @ chroma.T, 0, 1)
    timbre = f[:, :, 12:24].reshape(len(f), -1)
    d = np.sqrt(((timbre[:, None, :] - timbre[None, :, :]) ** 2).sum(-1))
    scale = np.median(d[d > 0]) if (d > 0).any() else 1.0
    s_timbre = np.exp(-d / max(scale, 1e-9))
    loud = f[:, :, 24].mean(1)
    s_loud = np.exp(-np.abs(loud[:, None] - loud[None, :]) / 6.0)
    return 0.4 * s_chroma + 0.4 * s_timbre + 0.2 * s_loud
