"""Section boundaries, the 10 Hz energy curve, where sound ends and where the music really ends."""

from __future__ import annotations

import numpy as np

from engine.rhythm import ENERGY_RATE
from engine.rhythm.signals import ANALYSIS_RATE, HOP, SILENCE_DBFS, Frames, beat_sync

MAX_SECTION_UNITS = 600
"""Bars (or seconds) in the self-similarity matrix at most; beyond, units span several."""


def find_sections(f: Frames, bars: np.ndarray | None) -> np.ndarray:
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
        if len(units) >= 2:
            # Bars before the first downbeat found (a soft intro the tracker skipped): counted at
            # the median bar length back to the start, so that an intro of four bars ends a
            # section on its own downbeat, not four found bars later (bench/rhythm_why.py:
            # intros were found one bar late, or not at all).
            bar = float(np.median(np.diff(units)))
            k = int(units[0] / bar + 0.5)
            units = np.concatenate([np.maximum(units[0] - bar * np.arange(k, 0, -1), 0).round().astype(int), units])
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
        feats = beat_sync(x, units, f.n)  # [d, n]
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


def energy_curve(f: Frames, n_out: int) -> np.ndarray:
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


def sound_end_of(f: Frames, duration: float) -> float:
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


def ending_of(f: Frames, beats: np.ndarray, downbeats: np.ndarray, sound_end: float) -> float:
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
