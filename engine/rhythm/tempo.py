"""Tempo: the periodicity of the onsets with its octave readings, the choice of the beat level,
a tempo that moves, and the beat tracker (librosa, Ellis 2007) with the grid extended to the ends."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.rhythm.signals import ANALYSIS_RATE, HOP, Frames, grid_strength


@dataclass(frozen=True)
class TempoCandidate:
    bpm: float
    confidence: float
    """0..1; the candidates of one track sum to at most 1."""



TEMPO_RANGE = (40.0, 240.0)
TEMPO_PRIOR_BPM, TEMPO_PRIOR_OCTAVES = 120.0, 1.0
"""Log-normal prior over tempo (as librosa's default): 120 bpm, one octave wide."""
SOFT_PRIOR_BPM = 80.0
"""The prior's centre for soft, sustained music (see SOFT_FLUX_DB): a slow piano's
arpeggiated eighths are heard as subdivisions of a slower beat, not as the beat."""
SOFT_FLUX_DB = 0.6
"""Mean rise of the log-mel spectrum per frame and band (dB, :attr:`Frames.flux_db`) under
which a track counts as soft and sustained. Measured: the demo's slow piano tracks
0.49-0.55; everything with drums or plucks above 0.64 (demo rock 0.64-0.66, strings
0.74-0.80, generated drum styles 0.83-1.9, the charted metal songs 0.81-1.01, the
Endgame: Singularity soundtrack 0.69-1.65). A margin of 0.04-0.09: few kinds of music
were there to measure (see bench/rhythm.py --demo)."""
DOUBLE_IF_MIDPOINTS = 0.65
"""Take the faster tempo octave when the accents half-way between beats are this strong
relative to the beats themselves (snares on the off-beats of a half-time reading).
Measured (mean ratio): half-tempo readings that must double 0.67-1.93 (demo rock, charted
metal, generated fast); right readings of slow piano and sitar, whose eighths sit
between the beats, 0.56-0.62 (at 0.55 they were all doubled: "Piano 32 (68 bpm)" read 136)."""
DOUBLE_IF_MOST_MIDPOINTS = 0.3
"""... and when three midpoints in four are at least this strong against the median beat.
Generated: a half-tempo reading 0.42-0.56, syncopated kicks at the right tempo 0.12-0.21;
real songs read at half tempo 0.48-0.49 (0.33 for a triplet feel read at x2/3)."""
DOUBLE_IF_MIDPOINTS_SOFT = 0.9
"""DOUBLE_IF_MIDPOINTS for soft, sustained music: its arpeggios and strummed eighths are
evenly accented subdivisions (demo slow piano, 20-25 s clips: 0.68-0.80 at the right tempo)."""
HALVE_IF_ALTERNATE = 0.15
"""Take the slower octave when every other beat is this much weaker (hats alone between the
kicks and snares). On generated music a wrong fast reading measures 0.01-0.07 and a right
one 0.28-1.0 (the beat without a kick, against the snares): set between, with room."""


SLOWEST_BEAT = 50.0
"""A reading slower than this (bpm) is taken at x2 when that is periodic at all: listeners do
not feel pulses much longer than a second as the beat (London's metric limits). Generated
strings, whose bass and long notes fall on beats 1 and 3, were read at 41-45 bpm for 82-90
(bench/rhythm_why.py); every true tempo measured here is 62 bpm or faster."""


INTRO_SOUND_DB = 30.0
"""The grid is carried back through an intro where the loudness is within this of the track's peak."""


def lag_of(bpm: float) -> float:
    return 60.0 * ANALYSIS_RATE / (HOP * bpm)


def _prior(bpm: np.ndarray | float, centre: float) -> np.ndarray:
    return np.exp(-0.5 * (np.log2(np.maximum(bpm, 1e-9) / centre) / TEMPO_PRIOR_OCTAVES) ** 2)


def prior_centre(f: Frames) -> float:
    """The tempo prior's centre for this track: slower for soft, sustained music."""
    return SOFT_PRIOR_BPM if f.flux_db < SOFT_FLUX_DB else TEMPO_PRIOR_BPM


def tempo_candidates(onset: np.ndarray, centre: float = TEMPO_PRIOR_BPM) -> tuple[float, tuple[TempoCandidate, ...]]:
    """Pulse clarity and the tempo readings (best, x1/2, x2, x3/2, x2/3) with confidences.

    The autocorrelation of the onset curve minus its 1-second moving average: periodic
    accents give sharp peaks at the beat lag and its multiples, a swelling pad gives none.
    ``centre``: the tempo prior's centre (bpm), see :func:`prior_centre`.
    """
    import librosa
    from scipy.ndimage import uniform_filter1d

    o = onset.astype(np.float64) - uniform_filter1d(onset.astype(np.float64), size=63, mode="nearest")
    max_lag = int(np.ceil(lag_of(TEMPO_RANGE[0]))) + 2
    if len(o) < 2 * int(lag_of(TEMPO_RANGE[1])) + 2 or not np.any(o):
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
    score = np.where(valid, np.maximum(ac, 0.0) * _prior(bpm, centre), -np.inf)
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
        b, strength = peak(lag_of(target)) if ratio != 1.0 else (base_bpm, float(ac[best]))
        out.append((b if strength > 0 else target, strength * float(_prior(b, centre))))
    total = sum(w for _, w in out) or 1.0
    cands = tuple(TempoCandidate(round(float(b), 2), round(float(w) / total, 3)) for b, w in out)
    return round(clarity, 3), tuple(sorted(cands, key=lambda c: -c.confidence))



def choose_level(f: Frames, cands: tuple[TempoCandidate, ...],
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
    beats = track_beats(f.onset, local)
    chosen = bpm
    if len(beats) >= 8:
        on = grid_strength(f.accent, beats)
        mids = (beats[:-1] + beats[1:]) // 2
        off = grid_strength(f.accent, mids)
        up = float(off.mean() / (on.mean() + 1e-9))
        up_most = float(np.percentile(off, 25) / (np.median(on) + 1e-9))
        even, odd = on[0::2].mean(), on[1::2].mean()
        alternate = float(min(even, odd) / (max(even, odd) + 1e-9))
        soft = f.flux_db < SOFT_FLUX_DB
        if up >= (DOUBLE_IF_MIDPOINTS_SOFT if soft else DOUBLE_IF_MIDPOINTS) and up_most >= DOUBLE_IF_MOST_MIDPOINTS:
            chosen = _stronger(cands, bpm, (2.0, 1.5))
        elif alternate <= HALVE_IF_ALTERNATE:
            chosen = _stronger(cands, bpm, (0.5, 2.0 / 3.0))
    if chosen < SLOWEST_BEAT and any(c.confidence > 0 and abs(np.log2(c.bpm / (2 * chosen))) < 0.1 for c in cands):
        chosen = 2 * chosen  # a half-note pulse (bass and long notes on 1 and 3): the beat is x2
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


def local_tempo(onset: np.ndarray, bpm: float) -> float | np.ndarray:
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


def track_beats(onset: np.ndarray, bpm: float | np.ndarray) -> np.ndarray:
    """Beat frames by dynamic programming around ``bpm`` (Ellis 2007; librosa's tracker), a
    number or one per frame."""
    import librosa

    if np.ndim(bpm) == 0:
        bpm = float(bpm)
    _, frames = librosa.beat.beat_track(onset_envelope=onset, sr=ANALYSIS_RATE, hop_length=HOP, bpm=bpm,
                                        tightness=100, trim=True, units="frames")
    return np.asarray(frames, dtype=int)


def extend_grid(f: Frames, frames: np.ndarray) -> np.ndarray:
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
    # A soft intro (pads, a piano alone) under a steady track is in its tempo: the grid goes on
    # back through it at the beat period while there is sound, so that a video cut to the
    # intro finds bars there (bench/rhythm_why.py: songs whose first four bars had no beat).
    sound = f.loud_db >= f.peak_dbfs - INTRO_SOUND_DB  # [T]
    at = out[0] - period
    while at >= -0.25 * period and sound[max(0, int(round(at)) - 3):int(round(at)) + 4].any():
        out.insert(0, max(0, int(round(at))))
        at -= period
    return np.asarray(out, dtype=int)


ATTACK_RISE = 0.15
"""A beat sits where the onset curve, averaged around the tracked beats, has risen this part of
the way from its floor to its peak (the start of the note, not the peak of its swell)."""
ATTACK_MIN_FRAMES = 2
"""Beats move only when that point is at least this many 16 ms frames before the peak: a drum's
onset peaks in one frame (generated drums and the charted songs: no move); a bowed string swells
for 50-80 ms, and its beats were found that late (bench/rhythm_why.py: strings' median lag
+52..+78 ms, beat F 0.40-0.78 at +-70 ms)."""


def attack_shift(f: Frames, frames: np.ndarray) -> np.ndarray:
    """``frames`` moved earlier by one constant for the track when its notes swell slowly: the
    beat tracker follows the peaks of the onset curve, which a slow attack reaches late."""
    if len(frames) < 8:
        return frames
    w = np.arange(-12, 5)  # frames around each beat
    idx = np.clip(np.asarray(frames, int)[:, None] + w[None, :], 0, f.n - 1)
    avg = f.onset[idx].mean(axis=0)  # [17] the mean onset curve around a beat
    peak = 10 + int(np.argmax(avg[10:15]))  # within +-2 frames of the beat
    floor = float(avg.min())
    k = peak
    while k > 0 and avg[k - 1] >= floor + ATTACK_RISE * (avg[peak] - floor):
        k -= 1
    if peak - k < ATTACK_MIN_FRAMES:
        return frames
    return np.clip(np.asarray(frames, int) - (peak - k), 0, f.n - 1)  # the same distance before the peak
