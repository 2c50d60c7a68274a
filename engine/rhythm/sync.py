"""How well a track at a start offset sits under a video: cuts on beats, energy that follows.

The offset is the track time heard at video time 0 (the ``in_point`` of a whole-video cue).
The score of a (video, track, offset) triple is a weighted sum of four terms
(:class:`SyncWeights`, measured in ``bench/sync.py``):

- **cuts**: the mean, over the video's cuts (weighted by confidence; gradual transitions at
  half weight), of a *beat pulse* of the track at ``cut + offset``: Gaussian bumps of
  ``CUT_SIGMA`` (50 ms, so ±70 ms still earns 0.37) at beats (0.6), downbeats (+0.25) and
  section starts (+0.15). In [0, 1].
- **onset**: Pearson correlation of the fine detail of the two energy curves (each minus its
  2 s moving average) over the overlap: flashes and fast motion on the hits.
- **sections**: Pearson correlation of the smoothed curves (3 s): the picture's energy rises
  with the chorus.
- **tempo**: how well the intervals between cuts are whole numbers of beats (at the track's
  tempo, or ×½/×2 of it), minus what random intervals would get. It does not depend on the
  offset: it only separates tracks.

Raw scores favour long tracks (more offsets to pick a maximum from) and busy, fast audio
(any cut is near some beat), so :func:`best_offset` also reports ``chance``: the mean best
score that a cohort of *surrogate* videos reach on the same track over the same search range,
and ``z``, the best score against that cohort. A surrogate is this video's own cuts and
energy, time-scaled by 0.8-0.93 or 1.07-1.25 and circularly shifted: same cut rate, same
regularity, but cut to another tempo, i.e. an unrelated video. ``score - chance`` is
comparable across tracks and search widths; it is what :func:`rerank` blends with the model.

A track with no steady beat, or a video with no cuts, carries no sync information: the
functions say so (``SyncFit.reason``) and contribute nothing; no grid is made up.

Measured (``bench/sync.py``: generated songs, videos cut to them imperfectly — 20 % of cuts
off the grid, 25 ms jitter, missed and false cuts, energy that follows the music only
partly; the model's score a noisy stand-in):

- offset of the true track, whole-track search: the right beat for 69 % (100 videos) and
  82 % (60 videos) of pairs; the misses are whole bars or whole repeated sections away (the
  same cuts fit there). Refining a model offset (±4 s around the right 6.7 s segment): 90 and
  93 %. The 37-55 % of pairs not flagged ``ambiguous`` were right in 95-100 %.
- ranking a 50-track library: model stand-in MRR 0.30, sync alone 0.84 ("excess" = score
  over chance), blended at weight 0.5 0.89 (top 1: 15 % → 73 % → 81 %). With 10 long, busy
  tracks added that no video was cut to, raw maxima fall from 0.89 to 0.84 MRR (top 1 83 →
  72 %) while the excess over chance holds (0.84 → 0.87); ``z`` (excess / spread of the
  surrogates) is noisier than the excess alone (0.72-0.81) and is kept for confidence only.
- with the grid and energy of ``engine.rhythm.music.analyse_rhythm`` instead of the true ones
  (``--analysed``; videos still cut to the true grid): the right beat for 40 % (62 % with a
  model prior), ranking MRR model 0.30, sync 0.66, blended 0.71. On these songs the analyser
  puts techno beats on the off-beat, reads piano and some Indian tracks at double tempo
  (downbeats then half wrong), strings at the wrong tempo, and finds no beat in 7 of 50: sync
  is only as good as the grid it reads.
- CPU: one candidate over every beat of a 397 s track (824 offsets) under a 3-minute video:
  2.3 ms; :func:`best_offset` over the track in 10 ms steps with 16 surrogates: 31 ms.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from engine.rhythm import ENERGY_RATE
from engine.rhythm.music import MusicRhythm
from engine.rhythm.video import VideoRhythm

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
COARSE_WINDOW = 3.0
"""Seconds of smoothing of each energy curve for the sections term."""
SURROGATES = 16
"""Surrogate videos in the null cohort of :func:`best_offset`."""
SNAP_TOLERANCE = 0.08
"""Seconds: a best offset this close to a downbeat (else a beat) is snapped onto it."""
AMBIGUOUS_GAP = 0.25
"""An alternative offset (a beat or a bar away, or the runner-up peak) whose score is within
this many standard deviations (of the score over all offsets) of the best makes the fit
ambiguous. On ``bench/sync.py`` fits with a larger gap had the right beat 95-100 % of the time."""
DEFAULT_SYNC_WEIGHT = 0.5
"""Blend weight of sync in :func:`rerank` (``bench/sync.py`` sweeps it)."""
DEFAULT_METRIC = "excess"
"""What :func:`rerank` blends: "excess" (score over chance), "z" or "raw" (``bench/sync.py``)."""

NO_STEADY_BEAT = "no steady beat"
NO_CUTS = "no cuts found"
TOO_SHORT = "track too short"


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


WEIGHTS = SyncWeights()


@dataclass(frozen=True)
class SyncFit:
    offset: float | None
    """Track time (s) heard at video time 0; None when there is no sync information."""
    score: float
    """Raw sync score at ``offset`` (see the module docstring)."""
    z: float
    """The score against the best scores of surrogate (unrelated) videos: ~0 for a chance
    match, larger for a real one. 0.0 without sync information."""
    confidence: float
    """0..1, a monotone map of ``z`` (0.5 at z = 2): how sure sync is that the video follows
    this track at all. Whether the *offset* is sure is ``ambiguous`` (and ``gap``)."""
    ambiguous: bool
    """True when an offset a beat or a bar away scores nearly the same."""
    alternatives: tuple[tuple[float, float], ...] = ()
    """(offset, score) of the other strong offsets (a beat, a bar away, or the runner-up
    peak), best first."""
    reason: str = ""
    """Empty when sync applies, else why not: "no steady beat", "no cuts found", ..."""
    on_downbeat: bool = False
    """The offset was snapped onto a downbeat of the track."""
    chance: float = 0.0
    """The mean best score of the surrogate videos over the same range: what an unrelated
    video would reach here (``score - chance`` is the excess over chance)."""
    gap: float = 0.0
    """(best - best alternative) / std of the score over all offsets searched."""

    @property
    def informative(self) -> bool:
        return not self.reason


def sync_problem(video: VideoRhythm, music: MusicRhythm) -> str:
    """Why sync cannot say anything about this pair ("" when it can)."""
    if not music.steady or len(music.beats) < 4:
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


def beat_pulse(music: MusicRhythm, rate: float = PULSE_RATE) -> np.ndarray:
    """float64 [ceil(duration * rate) + 1]: the pulse a cut at each time would earn."""
    n = int(np.ceil(music.duration * rate)) + 1
    half = int(np.ceil(4 * CUT_SIGMA * rate))
    k = np.arange(-half, half + 1)
    sections = np.asarray(music.sections, np.float64)
    sections = sections[sections > 0.5]  # the track's start is not a section change
    out = np.zeros(n)
    for height, marks in zip(PULSE_PARTS, (music.beats, music.downbeats, sections)):
        marks = np.asarray(marks, np.float64).reshape(-1)
        if len(marks) == 0:
            continue
        g = np.zeros(n)
        centre = np.rint(marks * rate).astype(np.int64)
        idx = centre[:, None] + k[None, :]  # [marks, kernel]
        val = np.exp(-0.5 * ((idx / rate - marks[:, None]) / CUT_SIGMA) ** 2)
        ok = (idx >= 0) & (idx < n)
        np.maximum.at(g, idx[ok], val[ok])  # nearest mark wins where two overlap
        out += height * g
    return out


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
    size = 1 << int(np.ceil(np.log2(max(v.shape[-1] + n_shifts, 2))))  # no wrap-around for s < n_shifts
    c = np.fft.irfft(np.conj(np.fft.rfft(v, size)) * np.fft.rfft(m[:size], size), size)
    return c[..., :n_shifts]


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


def _energy_parts(v: np.ndarray, music: MusicRhythm, n_shifts: int) -> tuple[np.ndarray, np.ndarray]:
    """Onset and sections Pearson curves for video energy v [T] or [B, T] over every 10 Hz
    shift: [n_shifts] or [B, n_shifts] each (zeros when either curve is flat or missing)."""
    v = np.asarray(v, np.float64)
    m = np.asarray(music.energy, np.float64).reshape(-1)
    if v.shape[-1] < 8 or len(m) < 8 or np.ptp(v) < 1e-6 or np.ptp(m) < 1e-6:
        z = np.zeros(v.shape[:-1] + (n_shifts,))
        return z, z
    fw, cw = int(round(FINE_WINDOW * ENERGY_RATE)), int(round(COARSE_WINDOW * ENERGY_RATE))
    onset = _pearson_over_shifts(v - _moving_average(v, fw), m - _moving_average(m, fw), n_shifts)
    sections = _pearson_over_shifts(_moving_average(v, cw), _moving_average(m, cw), n_shifts)
    return onset, sections


def _curves(video: VideoRhythm, music: MusicRhythm, hi: float) -> _Curves:
    times, weights = _events(video)
    n_shifts = int(np.ceil(hi * ENERGY_RATE)) + 2
    onset, sections = _energy_parts(video.energy, music, n_shifts)
    return _Curves(beat_pulse(music), times, weights, onset, sections, tempo_fit(times, music))


def _at_shifts(curve: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Linear interpolation of a per-10 Hz-shift curve at offsets (s)."""
    x = offsets * ENERGY_RATE
    return np.interp(x, np.arange(len(curve)), curve, left=0.0, right=0.0)


def _combine(c: _Curves, cuts: np.ndarray, offsets: np.ndarray, w: SyncWeights) -> np.ndarray:
    return (w.cuts * cuts + w.onset * _at_shifts(c.onset, offsets)
            + w.sections * _at_shifts(c.sections, offsets) + w.tempo * c.tempo)


def _cut_term_at(c: _Curves, offsets: np.ndarray) -> np.ndarray:
    """Weighted mean pulse at cut + offset, for each offset. [K] (gather: K x n)."""
    idx = np.rint((c.times[None, :] + offsets[:, None]) * PULSE_RATE).astype(np.int64)  # [K, n]
    inside = (idx >= 0) & (idx < len(c.pulse))
    vals = np.where(inside, c.pulse[np.clip(idx, 0, len(c.pulse) - 1)], 0.0)
    return vals @ c.weights / max(c.weights.sum(), 1e-9)


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


# --- the public face ---------------------------------------------------------------------


def score_offsets(video: VideoRhythm, music: MusicRhythm, offsets: Sequence[float] | np.ndarray,
                  weights: SyncWeights = WEIGHTS) -> np.ndarray:
    """Sync score of the track started at each offset (s) under the video. float64 [K].

    Zeros when the pair carries no sync information (:func:`sync_problem`)."""
    offsets = np.asarray(offsets, np.float64).reshape(-1)
    if sync_problem(video, music):
        return np.zeros(len(offsets))
    c = _curves(video, music, float(offsets.max(initial=0.0)))
    return _combine(c, _cut_term_at(c, offsets), offsets, weights)


def beat_offsets(video: VideoRhythm, music: MusicRhythm) -> np.ndarray:
    """Every beat of the track that can start the video (the whole video under the track
    when it is long enough). float64 [K]."""
    top = max(0.0, music.duration - video.duration)
    b = np.asarray(music.beats, np.float64)
    b = b[b <= top + 1e-9]
    return b if len(b) else np.zeros(1)


def snap_to_downbeat(offset: float, music: MusicRhythm, tolerance: float | None = None) -> float:
    """The downbeat nearest ``offset`` (within ``tolerance`` seconds when given; otherwise
    any); the offset unchanged when the track has no downbeats or none is close enough."""
    d = np.asarray(music.downbeats, np.float64)
    if not music.steady or len(d) == 0:
        return float(offset)
    near = float(d[np.argmin(np.abs(d - offset))])
    if tolerance is not None and abs(near - offset) > tolerance:
        return float(offset)
    return near


def snap_to_beat(t: float, music: MusicRhythm, tolerance: float | None = None) -> float:
    """The beat nearest ``t`` (within ``tolerance`` when given): a beat-aligned start for a
    per-scene suggestion. ``t`` unchanged without a steady beat."""
    b = np.asarray(music.beats, np.float64)
    if not music.steady or len(b) == 0:
        return float(t)
    near = float(b[np.argmin(np.abs(b - t))])
    return float(t) if tolerance is not None and abs(near - t) > tolerance else near


def confidence_of(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-1.5 * (z - 2.0))))


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
    i0, i1 = int(np.floor(lo * PULSE_RATE)), int(np.ceil(hi * PULSE_RATE))
    offsets = np.arange(i0, i1 + 1) / PULSE_RATE
    span = int(np.ceil(max(v.duration for v in videos) * PULSE_RATE)) + 2
    trains = np.zeros((len(videos), span))  # [B, span] weighted cut impulses
    wsum, tempo = np.zeros(len(videos)), np.zeros(len(videos))
    for b, v in enumerate(videos):
        times, w = _events(v)
        np.add.at(trains[b], np.clip(np.rint(times * PULSE_RATE).astype(np.int64), 0, span - 1), w)
        wsum[b], tempo[b] = max(w.sum(), 1e-9), tempo_fit(times, music)
    cuts = _xcorr(trains, pulse, i1 + 1)[:, i0:] / wsum[:, None]  # [B, K]
    n_shifts = int(np.ceil(hi * ENERGY_RATE)) + 2
    lens = {len(v.energy) for v in videos}
    energy = np.stack([np.asarray(v.energy, np.float64) for v in videos]) if len(lens) == 1 else np.zeros((len(videos), 0))
    onset, sections = _energy_parts(energy, music, n_shifts)  # [B, n_shifts] each
    x = offsets * ENERGY_RATE
    grid = np.arange(n_shifts)
    on = np.stack([np.interp(x, grid, o, left=0.0, right=0.0) for o in onset])
    se = np.stack([np.interp(x, grid, o, left=0.0, right=0.0) for o in sections])
    scores = weights.cuts * cuts + weights.onset * on + weights.sections * se + weights.tempo * tempo[:, None]
    return offsets, scores


def best_offset(video: VideoRhythm, music: MusicRhythm, *, prior_offset: float | None = None,
                search: float | tuple[float, float] | None = None, weights: SyncWeights = WEIGHTS,
                surrogates: int = SURROGATES) -> SyncFit:
    """The start offset at which the video's cuts and energy best follow the track.

    ``search``: None searches every offset that keeps the whole video under the track (or,
    with ``prior_offset``, one bar either side of it); a number is seconds either side of
    ``prior_offset``; a (lo, hi) pair is the range itself. The offset is searched in 10 ms
    steps, then snapped onto a downbeat (else a beat) when one is within ``SNAP_TOLERANCE``.
    """
    reason = sync_problem(video, music)
    if reason:
        return SyncFit(None, 0.0, 0.0, 0.0, False, (), reason)
    lo, hi = _search_range(video, music, prior_offset, search)
    pulse = beat_pulse(music)
    # The video and its null cohort (surrogate videos cut to other tempi) in one batch.
    batch = [video] + _surrogates(video, np.random.default_rng(1234), surrogates)
    offsets, all_scores = _dense(batch, music, lo, hi, weights, pulse)
    scores, null = all_scores[0], all_scores[1:].max(axis=1)
    k = int(np.argmax(scores))
    best, raw = float(offsets[k]), float(scores[k])
    on_downbeat = False
    snapped = snap_to_downbeat(best, music, SNAP_TOLERANCE)
    if snapped != best:
        best, on_downbeat = snapped, True
    else:
        beats = np.asarray(music.beats, np.float64)
        near = float(beats[np.argmin(np.abs(beats - best))])
        if abs(near - best) <= SNAP_TOLERANCE:
            best = near
    if best != float(offsets[k]):
        best = float(np.clip(best, lo, hi))
        raw = float(score_offsets(video, music, [best], weights)[0])
    z = (raw - null.mean()) / max(null.std(), 0.02)
    alternatives, gap = _alternatives(offsets, scores, best, raw, music)
    return SyncFit(best, raw, float(z), confidence_of(z), gap < AMBIGUOUS_GAP, alternatives, "", on_downbeat,
                   float(null.mean()), gap)


def _alternatives(offsets: np.ndarray, scores: np.ndarray, best: float, raw: float,
                  music: MusicRhythm) -> tuple[tuple[tuple[float, float], ...], float]:
    beat = 60.0 / music.tempo if music.tempo else float(np.median(np.diff(music.beats)))
    bar = beat * (music.meter or 4)
    spread = max(float(scores.std()), 1e-6)
    found: dict[float, float] = {}
    for shift in (-bar, -beat, beat, bar):
        near = np.abs(offsets - (best + shift)) <= 2 * CUT_SIGMA
        if near.any():
            j = int(np.flatnonzero(near)[np.argmax(scores[near])])
            found[round(float(offsets[j]), 3)] = float(scores[j])
    far = np.abs(offsets - best) > beat / 2
    if far.any():  # the runner-up anywhere else
        j = int(np.flatnonzero(far)[np.argmax(scores[far])])
        found[round(float(offsets[j]), 3)] = float(scores[j])
    alts = tuple(sorted(found.items(), key=lambda a: -a[1]))
    gap = min(((raw - s) / spread for _, s in alts), default=float("inf"))
    return alts, float(gap)


K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Ranked:
    item_id: Hashable
    score: float
    """The blended score the list is sorted by."""
    model_score: float
    sync: SyncFit | None
    """None when the track had no rhythm; ``sync.reason`` says when it carried no information."""


def rerank(candidates: list[tuple[K, float]], video: VideoRhythm, rhythms: dict[K, MusicRhythm],
           weight: float = DEFAULT_SYNC_WEIGHT, *, fits: dict[K, SyncFit] | None = None,
           metric: str = DEFAULT_METRIC) -> list[Ranked]:
    """The model's candidates (item id, model score) re-ordered by
    ``(1 - weight) * model_z + weight * sync_z``.

    ``model_z`` standardises the model's scores among these candidates. ``sync_z`` is, for
    ``metric="excess"`` (default), each track's best score minus what unrelated videos reach
    on it (:attr:`SyncFit.chance`), standardised (median and MAD, so that one real match
    stands out instead of setting the scale) among the candidates that carry sync
    information; for ``"z"``, :attr:`SyncFit.z` itself (a standard score against unrelated
    videos); for ``"raw"``, the raw best score standardised (biased towards fast tracks and
    wide searches; for comparison). A track without sync information gets 0 (the average).
    Weight 0, a video without cuts, or candidates none of which has a steady beat keep the
    model's order exactly (ties fall back to it too). ``fits`` may pass SyncFits already
    computed (e.g. with a prior offset).
    """
    weight = float(np.clip(weight, 0.0, 1.0))
    model = np.array([s for _, s in candidates], np.float64)
    mz = _standardise(model)
    fitted: list[SyncFit | None] = []
    for item, _ in candidates:
        fit = None
        if weight > 0:
            fit = (fits or {}).get(item)
            if fit is None and item in rhythms:
                fit = best_offset(video, rhythms[item])
        fitted.append(fit)
    ok = np.array([f is not None and f.informative for f in fitted])
    sz = np.zeros(len(candidates))
    if ok.any():
        if metric == "z":
            sz[ok] = [f.z for f, o in zip(fitted, ok) if o]
        elif metric in ("excess", "raw"):
            vals = np.array([f.score - (f.chance if metric == "excess" else 0.0) for f, o in zip(fitted, ok) if o])
            sz[ok] = _standardise(vals, robust=True)  # a real match is an outlier: keep it one
        else:
            raise ValueError(f"metric must be 'excess', 'z' or 'raw', not {metric!r}")
        blended = (1 - weight) * mz + weight * sz
    else:  # nothing to blend in
        blended = mz
    out = [Ranked(item, float(b), float(ms), f) for (item, ms), b, f in zip(candidates, blended, fitted)]
    # ties (e.g. weight 1 and no sync information) fall back to the model's order
    order = sorted(range(len(out)), key=lambda i: (-out[i].score, -out[i].model_score, i))
    return [out[i] for i in order]


def _standardise(x: np.ndarray, robust: bool = False) -> np.ndarray:
    """(x - centre) / spread: mean and std, or (``robust``) median and 1.4826 x MAD, so one
    outlier does not set the scale it is measured by (floored at 0.3 std)."""
    if len(x) < 2 or x.std() < 1e-12:
        return np.zeros(len(x))
    if not robust:
        return (x - x.mean()) / x.std()
    med = np.median(x)
    scale = max(1.4826 * float(np.median(np.abs(x - med))), 0.3 * float(x.std()))
    return (x - med) / scale


__all__ = ["SyncFit", "SyncWeights", "Ranked", "score_offsets", "best_offset", "beat_offsets",
           "snap_to_downbeat", "snap_to_beat", "rerank", "sync_problem", "beat_pulse", "tempo_fit", "confidence_of",
           "NO_STEADY_BEAT", "NO_CUTS", "DEFAULT_SYNC_WEIGHT", "WEIGHTS", "SYNC_VERSION"]
