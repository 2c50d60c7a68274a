"""The terms of the sync score and their vectorised evaluation over offsets (see
:mod:`engine.rhythm.sync` for what each term means and how they were weighed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from engine.rhythm import ENERGY_RATE
from engine.rhythm.music import MusicRhythm
from engine.rhythm.shots import VideoRhythm

SYNC_VERSION = 1
PULSE_RATE = 100.0
"""Samples per second of the beat pulse and of the dense offset search (10 ms steps)."""
CUT_SIGMA = 0.05
"""Seconds; a cut 70 ms off a beat still earns exp(-0.98) = 0.37 of an exact hit."""
PULSE_PARTS = (0.6, 0.25, 0.15)
"""Pulse height of a beat, extra on a downbeat, extra on a section start (sum 1)."""
TRANSITION_WEIGHT = 0.5
"""A fade or dissolve starting on a beat counts half as much as a hard cut."""
FINE_WINDOW = 2.0
"""Seconds of moving average removed from each energy curve for the onset term."""
COARSE_WINDOW = 1.0
"""Seconds of smoothing of each energy curve for the sections term."""
PHRASE_WEIGHT = 0.1
"""Weight of the section-hit term per unit of its z-like statistic (``bench/sync.py``)."""
NO_STEADY_BEAT = "no steady beat"
NO_CUTS = "no cuts found"
TOO_SHORT = "track too short"
GRIDLESS_UNIT = 1.0
"""Seconds: without a beat grid, the stand-in for a beat where offsets are told apart (ties
half of it apart; a 60-76 bpm ambient beat is 0.8-1 s)."""


@dataclass(frozen=True)
class SyncWeights:
    cuts: float = 0.5
    """Cuts on beats, downbeats and section starts."""
    onset: float = 0.2
    """Fine energy detail of picture and music together."""
    sections: float = 0.2
    """Smoothed energy: the picture follows verse and chorus."""
    tempo: float = 0.1
    """Cut intervals as whole beats (offset-independent)."""
    phrase: float = PHRASE_WEIGHT
    """Section starts that get a cut, beyond the rate at which any downbeat gets one: the
    non-periodic structure that tells bar-shifted offsets apart (per unit of its z-like
    statistic, see :func:`_phrase_term`)."""


WEIGHTS = SyncWeights()


def has_grid(music: MusicRhythm) -> bool:
    """The track has a steady beat to score cuts against (else only its onsets and energy)."""
    return bool(music.steady and len(music.beats) >= 4)


def _has_onsets(music: MusicRhythm) -> bool:
    e = np.asarray(music.energy, np.float64).reshape(-1)
    return len(e) >= 8 and float(np.ptp(e)) > 1e-6


def sync_problem(video: VideoRhythm, music: MusicRhythm) -> str:
    """Why sync cannot say anything about this pair ("" when it can). A track without a
    steady beat still carries its onsets and energy (:func:`onset_pulse`); only a flat or
    missing energy curve leaves nothing to match ("no steady beat")."""
    if not has_grid(music) and not _has_onsets(music):
        return NO_STEADY_BEAT
    if music.duration < 2.0:
        return TOO_SHORT
    if len(_events(video)[0]) == 0:
        return NO_CUTS
    return ""


# --- the pieces -------------------------------------------------------------------------


def _events(video: VideoRhythm) -> tuple[np.ndarray, np.ndarray]:
    """Cut times (s) float64 [n] and weights float64 [n]: hard cuts by confidence, gradual
    transitions (their start) at half weight."""
    cuts = np.asarray(video.cuts, np.float64).reshape(-1)
    conf = np.asarray(video.cut_confidence, np.float64).reshape(-1)
    w = conf if conf.shape == cuts.shape else np.ones_like(cuts)
    t = [cuts] + [np.array([tr.start]) for tr in video.transitions if tr.kind != "cut"]
    ws = [w] + [np.array([TRANSITION_WEIGHT * tr.confidence]) for tr in video.transitions if tr.kind != "cut"]
    times, weights = np.concatenate(t), np.concatenate(ws)
    keep = (times >= 0) & (times <= video.duration) & (weights > 0)
    order = np.argsort(times[keep], kind="stable")
    return times[keep][order], weights[keep][order]


def _nearest_distance(t: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """|t - nearest mark| for each t (inf when there are no marks). marks sorted."""
    if len(marks) == 0:
        return np.full(t.shape, np.inf)
    i = np.searchsorted(marks, t)
    left = marks[np.clip(i - 1, 0, len(marks) - 1)]
    right = marks[np.clip(i, 0, len(marks) - 1)]
    return np.minimum(np.abs(t - left), np.abs(right - t))


def _bumps(marks: np.ndarray, n: int, rate: float) -> np.ndarray:
    """float64 [n]: Gaussian bumps (``CUT_SIGMA``, height 1) at ``marks`` (s); the nearest
    mark wins where two overlap."""
    g = np.zeros(n)
    marks = np.asarray(marks, np.float64).reshape(-1)
    if len(marks) == 0:
        return g
    half = int(np.ceil(4 * CUT_SIGMA * rate))
    k = np.arange(-half, half + 1)
    centre = np.rint(marks * rate).astype(np.int64)
    idx = centre[:, None] + k[None, :]  # [marks, kernel]
    val = np.exp(-0.5 * ((idx / rate - marks[:, None]) / CUT_SIGMA) ** 2)
    ok = (idx >= 0) & (idx < n)
    np.maximum.at(g, idx[ok], val[ok])
    return g


def _section_starts(music: MusicRhythm) -> np.ndarray:
    """Section changes (s, sorted): the track's start is not one."""
    sections = np.sort(np.asarray(music.sections, np.float64).reshape(-1))
    return sections[sections > 0.5]


def beat_pulse(music: MusicRhythm, rate: float = PULSE_RATE) -> np.ndarray:
    """float64 [ceil(duration * rate) + 1]: the pulse a cut at each time would earn."""
    n = int(np.ceil(music.duration * rate)) + 1
    out = np.zeros(n)
    for height, marks in zip(PULSE_PARTS, (music.beats, music.downbeats, _section_starts(music))):
        out += height * _bumps(marks, n, rate)
    return out


def onset_pulse(music: MusicRhythm, rate: float = PULSE_RATE) -> np.ndarray:
    """float64 [ceil(duration * rate) + 1]: what a cut at each time earns on a track without a
    beat grid: the rises of its 10 Hz energy curve (note and chord starts), 0..1.

    The energy of bin k is the mean over [k, k+1) / 10 s, so a step at time t raises bins
    floor(10 t) and floor(10 t) + 1 in the proportion of where t falls: the rise into bin k,
    placed at k / 10 s and linearly interpolated, centres on t. Scaled by the 95th percentile
    of the rises (a few big ones do not flatten the rest). No beat is assumed."""
    n = int(np.ceil(music.duration * rate)) + 1
    e = np.asarray(music.energy, np.float64).reshape(-1)
    if len(e) < 2:
        return np.zeros(n)
    er = float(getattr(music, "energy_rate", ENERGY_RATE) or ENERGY_RATE)
    rise = np.maximum(np.diff(e, prepend=e[:1]), 0.0)  # [E] rise into bin k, at k / er seconds
    top = float(np.percentile(rise[rise > 0], 95)) if (rise > 0).any() else 0.0
    if top <= 0:
        return np.zeros(n)
    pulse = np.interp(np.arange(n) / rate * er, np.arange(len(e)), rise, right=0.0)
    return np.clip(pulse / top, 0.0, 1.0)


def music_pulse(music: MusicRhythm, rate: float = PULSE_RATE) -> np.ndarray:
    """:func:`beat_pulse` of a track with a grid, else its :func:`onset_pulse`."""
    return beat_pulse(music, rate) if has_grid(music) else onset_pulse(music, rate)


@dataclass(frozen=True)
class _Phrase:
    """What the section-hit term needs of a track: unit pulses at its section starts and
    its downbeats, and those marks."""
    sections: np.ndarray  # float64 [s] section starts
    downbeats: np.ndarray  # float64 [d]
    section_pulse: np.ndarray  # float64 [P] at PULSE_RATE
    downbeat_pulse: np.ndarray  # float64 [P]


def _phrase_marks(music: MusicRhythm, rate: float = PULSE_RATE) -> _Phrase:
    n = int(np.ceil(music.duration * rate)) + 1
    sec = _section_starts(music)
    db = np.sort(np.asarray(music.downbeats, np.float64).reshape(-1))
    return _Phrase(sec, db, _bumps(sec, n, rate), _bumps(db, n, rate))


def _inside(marks: np.ndarray, offsets: np.ndarray, duration: float) -> np.ndarray:
    """How many marks fall inside the video (away from its first and last half second) when
    the track starts at each offset. float64 [K]."""
    a = np.searchsorted(marks, offsets + 0.5, side="right")
    b = np.searchsorted(marks, offsets + duration - 0.5, side="left")
    return np.maximum(b - a, 0).astype(np.float64)


def _phrase_term(hit_sections: np.ndarray, hit_downbeats: np.ndarray, n_sections: np.ndarray,
                 n_downbeats: np.ndarray) -> np.ndarray:
    """Section starts hit by a cut beyond chance, as a z-like statistic (same shape as its
    inputs). ``hit_*``: confidence-weighted cut hits on the section starts / downbeats inside
    the video; ``n_*``: how many there are. Chance is the rate at which this video's cuts hit
    any downbeat (cutting on the bar is common; cutting where the music changes section is the
    non-periodic part: a bar or a repeated section away, the downbeats still get their cuts,
    the section starts do not)."""
    p = np.clip(hit_downbeats / np.maximum(n_downbeats, 1.0), 0.0, 1.0)
    excess = hit_sections - n_sections * p
    # scaled by the largest binomial spread (p = 1/2), not this offset's: where p is small (a
    # cut pattern at another tempo) one chance hit would otherwise count as much as many
    return excess / np.sqrt(0.25 * n_sections + 0.5)


def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average along the last axis, edges held. Same shape, float64."""
    x = np.asarray(x, np.float64)
    if width <= 1 or x.shape[-1] == 0:
        return x
    pad = [(0, 0)] * (x.ndim - 1) + [(width // 2, width - 1 - width // 2)]
    c = np.cumsum(np.pad(x, pad, mode="edge"), -1)
    c = np.concatenate([np.zeros(x.shape[:-1] + (1,)), c], -1)
    return (c[..., width:] - c[..., :-width]) / width


def _xcorr(v: np.ndarray, m: np.ndarray, n_shifts: int) -> np.ndarray:
    """c[..., s] = Σ_t v[..., t] m[t + s] for s in [0, n_shifts) (m zero past its end), for
    one v [T] or a batch [B, T]. Via rFFT."""
    return _xcorr_many(v, [m], n_shifts)[0]


def _xcorr_many(v: np.ndarray, ms: Sequence[np.ndarray], n_shifts: int) -> list[np.ndarray]:
    """:func:`_xcorr` of one v (or batch) with each of several m, sharing v's transform
    (scipy's FFT at a fast length: no wrap-around for s < n_shifts)."""
    from scipy import fft

    size = fft.next_fast_len(max(v.shape[-1] + n_shifts, 2), real=True)
    vf = np.conj(fft.rfft(v, size))
    return [fft.irfft(vf * fft.rfft(m[:size], size), size)[..., :n_shifts] for m in ms]


def _pearson_over_shifts(v: np.ndarray, m: np.ndarray, n_shifts: int) -> np.ndarray:
    """Pearson r between v[:L] and m[s:s+L] (L = the overlap) for every shift s, scaled by
    L / len(v) so that a track covering half the video earns half. v [T] or [B, T] ->
    float64 [n_shifts] or [B, n_shifts]."""
    nv, nm = v.shape[-1], len(m)
    out = np.zeros(v.shape[:-1] + (n_shifts,))
    if nv < 4 or nm < 4:
        return out
    s = np.arange(n_shifts)
    L = np.clip(np.minimum(nv, nm - s), 0, None)
    zero = np.zeros(v.shape[:-1] + (1,))
    cv = np.concatenate([zero, np.cumsum(v, -1)], -1)
    cvv = np.concatenate([zero, np.cumsum(v * v, -1)], -1)
    cm, cmm = np.concatenate([[0], np.cumsum(m)]), np.concatenate([[0], np.cumsum(m * m)])
    sv, svv = cv[..., L], cvv[..., L]
    a, end = np.minimum(s, nm), np.minimum(s + L, nm)
    sm, smm = cm[end] - cm[a], cmm[end] - cmm[a]
    num = _xcorr(v, m, n_shifts)  # sums over the overlap only (m is zero past its end)
    Lf = np.maximum(L, 1).astype(np.float64)
    cov = num - sv * sm / Lf
    den = np.sqrt(np.clip(svv - sv * sv / Lf, 0, None) * np.clip(smm - sm * sm / Lf, 0, None))
    ok = (L >= 4) & (den > 1e-9)
    out[..., :] = np.where(ok, cov / np.where(ok, den, 1.0) * (L / nv), 0.0)
    return out


def tempo_fit(event_times: np.ndarray, music: MusicRhythm) -> float:
    """How much more than chance the cut intervals are whole numbers of beats, in [0, 1]
    (best of the track's beat period and its ×½, ×2)."""
    if len(music.beats) < 4 or len(event_times) < 3:
        return 0.0
    gaps = np.diff(np.sort(event_times))
    gaps = gaps[gaps > 0.2]
    if len(gaps) < 2:
        return 0.0
    period = float(np.median(np.diff(np.asarray(music.beats, np.float64))))
    best = 0.0
    for p in (period, period / 2, period * 2):
        if p < 0.15:
            continue
        k = np.maximum(1.0, np.round(gaps / p))
        hit = np.exp(-0.5 * ((gaps - k * p) / (1.4 * CUT_SIGMA)) ** 2)  # two cuts' jitter
        chance = min(1.0, 1.4 * CUT_SIGMA * np.sqrt(2 * np.pi) / p)
        best = max(best, float((hit.mean() - chance) / max(1e-6, 1 - chance)))
    return float(np.clip(best, 0.0, 1.0))


@dataclass(frozen=True)
class _Curves:
    """What scoring a pair needs, computed once: the pulse, the events and the energy
    correlations over every 10 Hz shift."""
    pulse: np.ndarray  # float64 [P] at PULSE_RATE
    times: np.ndarray  # float64 [n] event times (s)
    weights: np.ndarray  # float64 [n]
    onset: np.ndarray  # float64 [S] Pearson of fine energy per 10 Hz shift
    sections: np.ndarray  # float64 [S] Pearson of smoothed energy per 10 Hz shift
    tempo: float
    phrase: _Phrase
    duration: float  # of the video (s)


def _ranks(x: np.ndarray) -> np.ndarray:
    """Each row's values replaced by their rank / length (ties share the mean rank): the
    curve's order kept, its scale and outliers not. Same shape, float64."""
    from scipy.stats import rankdata

    return rankdata(x, axis=-1) / max(x.shape[-1], 1)


def _energy_parts(v: np.ndarray, music: MusicRhythm, n_shifts: int) -> tuple[np.ndarray, np.ndarray]:
    """Onset and sections Pearson curves for video energy v [T] or [B, T] over every 10 Hz
    shift: [n_shifts] or [B, n_shifts] each (zeros when either curve is flat or missing)."""
    v = np.asarray(v, np.float64)
    m = np.asarray(music.energy, np.float64).reshape(-1)
    if v.shape[-1] < 8 or len(m) < 8 or np.ptp(v) < 1e-6 or np.ptp(m) < 1e-6:
        z = np.zeros(v.shape[:-1] + (n_shifts,))
        return z, z
    # Ranks, not levels: the picture's energy follows the music's only monotonically at best
    # (motion and brightness against loudness in dB or linear), and its flashes and bursts
    # are outliers that a Pearson on levels lets dominate (bench/sync.py: the right beat for
    # 65 -> 75 % of pairs over the whole track with the tracker's grid, 75 -> 86 % with the true one).
    v, m = _ranks(v), _ranks(m)
    fw, cw = int(round(FINE_WINDOW * ENERGY_RATE)), int(round(COARSE_WINDOW * ENERGY_RATE))
    onset = _pearson_over_shifts(v - _moving_average(v, fw), m - _moving_average(m, fw), n_shifts)
    vs, ms = _moving_average(v, cw), _moving_average(m, cw)
    sections = _pearson_over_shifts(vs, ms, n_shifts)
    return onset, sections


def _curves(video: VideoRhythm, music: MusicRhythm, hi: float) -> _Curves:
    times, weights = _events(video)
    n_shifts = int(np.ceil(hi * ENERGY_RATE)) + 2
    onset, sections = _energy_parts(video.energy, music, n_shifts)
    return _Curves(music_pulse(music), times, weights, onset, sections, tempo_fit(times, music),
                   _phrase_marks(music), float(video.duration))


def _at_shifts(curve: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Linear interpolation of a per-10 Hz-shift curve at offsets (s)."""
    x = offsets * ENERGY_RATE
    return np.interp(x, np.arange(len(curve)), curve, left=0.0, right=0.0)


def _combine(c: _Curves, cuts: np.ndarray, phrase: np.ndarray, offsets: np.ndarray, w: SyncWeights) -> np.ndarray:
    return (w.cuts * cuts + w.onset * _at_shifts(c.onset, offsets)
            + w.sections * _at_shifts(c.sections, offsets) + w.tempo * c.tempo + w.phrase * phrase)


def _gather(pulse: np.ndarray, times: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """pulse at time + offset, for each offset and time. [K, n]."""
    idx = np.rint((times[None, :] + offsets[:, None]) * PULSE_RATE).astype(np.int64)  # [K, n]
    inside = (idx >= 0) & (idx < len(pulse))
    return np.where(inside, pulse[np.clip(idx, 0, len(pulse) - 1)], 0.0)


def _cut_term_at(c: _Curves, offsets: np.ndarray) -> np.ndarray:
    """Weighted mean pulse at cut + offset, for each offset. [K] (gather: K x n)."""
    return _gather(c.pulse, c.times, offsets) @ c.weights / max(c.weights.sum(), 1e-9)


def _phrase_at(c: _Curves, offsets: np.ndarray) -> np.ndarray:
    """The section-hit term (:func:`_phrase_term`) at each offset. [K]."""
    ph = c.phrase
    if len(ph.sections) == 0 or len(c.times) == 0:
        return np.zeros(len(offsets))
    hs = _gather(ph.section_pulse, c.times, offsets) @ c.weights
    hd = _gather(ph.downbeat_pulse, c.times, offsets) @ c.weights
    return _phrase_term(hs, hd, _inside(ph.sections, offsets, c.duration), _inside(ph.downbeats, offsets, c.duration))


def _search_range(video: VideoRhythm, music: MusicRhythm, prior: float | None,
                  search: float | tuple[float, float] | None) -> tuple[float, float]:
    top = max(0.0, music.duration - video.duration)
    if isinstance(search, tuple):
        lo, hi = search
    elif prior is not None:
        width = 4 * 60.0 / music.tempo if search is None and music.tempo else float(search or 2.0)
        lo, hi = prior - width, prior + width
    else:
        lo, hi = 0.0, top
    lo = float(np.clip(lo, 0.0, top))
    return lo, float(np.clip(hi, lo, top))


def score_offsets(video: VideoRhythm, music: MusicRhythm, offsets: Sequence[float] | np.ndarray,
                  weights: SyncWeights = WEIGHTS, *, phrase: bool = False) -> np.ndarray:
    """Sync score of the track started at each offset (s) under the video. float64 [K].

    ``phrase``: include the section-hit term (:func:`best_offset` includes it only for a
    video whose cuts hit section starts beyond chance; alone it is noise for an editor who
    does not cut there). Zeros when the pair carries no sync information (:func:`sync_problem`)."""
    offsets = np.asarray(offsets, np.float64).reshape(-1)
    if sync_problem(video, music):
        return np.zeros(len(offsets))
    c = _curves(video, music, float(offsets.max(initial=0.0)))
    if not phrase:
        return _combine(c, _cut_term_at(c, offsets), np.zeros(len(offsets)), offsets, replace(weights, phrase=0.0))
    return _combine(c, _cut_term_at(c, offsets), _phrase_at(c, offsets), offsets, weights)


def beat_offsets(video: VideoRhythm, music: MusicRhythm) -> np.ndarray:
    """Every beat of the track that can start the video (the whole video under the track
    when it is long enough). float64 [K]."""
    top = max(0.0, music.duration - video.duration)
    b = np.asarray(music.beats, np.float64)
    b = b[b <= top + 1e-9]
    return b if len(b) else np.zeros(1)


def _surrogates(video: VideoRhythm, rng: np.random.Generator, n: int) -> list[VideoRhythm]:
    """This video's cuts and energy, time-scaled off its tempo (x0.8-0.93 or x1.07-1.25) and
    circularly shifted: what the video would look like cut to some other track."""
    times, weights = _events(video)
    dur = max(video.duration, 1e-3)
    e = np.asarray(video.energy, np.float64).reshape(-1)
    out = []
    for i in range(n):
        f = rng.uniform(0.8, 0.93) if i % 2 else rng.uniform(1.07, 1.25)
        shift = rng.uniform(0, dur)
        t = ((times - shift) * f) % dur  # a surrogate time t shows source time t / f + shift
        order = np.argsort(t, kind="stable")
        se = e
        if len(e):
            src = (np.arange(len(e)) / ENERGY_RATE / f + shift) % dur
            se = np.interp(src * ENERGY_RATE, np.arange(len(e)), e)
        out.append(VideoRhythm(video.duration, t[order], weights[order].astype(np.float32), (),
                               se.astype(np.float32)))
    return out


def _dense(videos: list[VideoRhythm], music: MusicRhythm, lo: float, hi: float, weights: SyncWeights,
           pulse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets [K] at PULSE_RATE steps over [lo, hi] and the scores [B, K] of each of B videos
    of one duration (the video and its surrogates), all in one batch of FFTs."""
    offsets, base, phrase = _dense_parts(videos, music, lo, hi, weights, pulse)
    return offsets, base + weights.phrase * phrase


def _dense_parts(videos: list[VideoRhythm], music: MusicRhythm, lo: float, hi: float, weights: SyncWeights,
                 pulse: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_dense` apart: offsets [K], the score without the section-hit term [B, K], and
    that term (unweighted) [B, K]."""
    i0, i1 = int(np.floor(lo * PULSE_RATE)), int(np.ceil(hi * PULSE_RATE))
    offsets = np.arange(i0, i1 + 1) / PULSE_RATE
    span = int(np.ceil(max(v.duration for v in videos) * PULSE_RATE)) + 2
    trains = np.zeros((len(videos), span))  # [B, span] weighted cut impulses
    wsum, tempo = np.zeros(len(videos)), np.zeros(len(videos))
    for b, v in enumerate(videos):
        times, w = _events(v)
        np.add.at(trains[b], np.clip(np.rint(times * PULSE_RATE).astype(np.int64), 0, span - 1), w)
        wsum[b], tempo[b] = max(w.sum(), 1e-9), tempo_fit(times, music)
    ph = _phrase_marks(music)
    with_phrase = bool(weights.phrase) and len(ph.sections) > 0
    parts = _xcorr_many(trains, [pulse, ph.section_pulse, ph.downbeat_pulse] if with_phrase else [pulse], i1 + 1)
    cuts = parts[0][:, i0:] / wsum[:, None]  # [B, K]
    phrase = np.zeros_like(cuts)
    if with_phrase:
        hs, hd = parts[1][:, i0:], parts[2][:, i0:]  # [B, K] weighted hits on section starts, downbeats
        dur = videos[0].duration  # one duration for the batch
        phrase = _phrase_term(hs, hd, _inside(ph.sections, offsets, dur), _inside(ph.downbeats, offsets, dur))
    n_shifts = int(np.ceil(hi * ENERGY_RATE)) + 2
    lens = {len(v.energy) for v in videos}
    energy = np.stack([np.asarray(v.energy, np.float64) for v in videos]) if len(lens) == 1 else np.zeros((len(videos), 0))
    onset, sections = _energy_parts(energy, music, n_shifts)  # [B, n_shifts] each
    x = offsets * ENERGY_RATE
    grid = np.arange(n_shifts)
    on = np.stack([np.interp(x, grid, o, left=0.0, right=0.0) for o in onset])
    se = np.stack([np.interp(x, grid, o, left=0.0, right=0.0) for o in sections])
    scores = weights.cuts * cuts + weights.onset * on + weights.sections * se + weights.tempo * tempo[:, None]
    return offsets, scores, phrase
