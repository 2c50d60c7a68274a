"""The start offset of a track under a video: the best by the sync score, snapped to the
grid, how sure it is (against surrogate videos), which other offsets fit nearly as well, and
the model's offset as a tie-breaker (see :mod:`engine.rhythm.sync`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from engine.rhythm.music import MusicRhythm
from engine.rhythm.shots import VideoRhythm
from engine.rhythm.sync_terms import (
    CUT_SIGMA,
    GRIDLESS_UNIT,
    WEIGHTS,
    SyncWeights,
    _dense_parts,
    _search_range,
    _surrogates,
    has_grid,
    music_pulse,
    score_offsets,
    sync_problem,
)

PHRASE_GATE = 0.5
"""The section-hit term counts when the video's best reaches this much above the best of any
surrogate (``bench/sync.py``: 0 let chance hits decide for editors who ignore sections)."""
SURROGATES = 16
"""Surrogate videos in the null cohort of :func:`best_offset`."""
CONTENT_GAP = 0.5
"""The model's content score decides between offsets sync cannot tell apart when the best
tied offset's beats every other tied offset's by this share of its spread over the search
(``bench/sync_real.py``)."""
SNAP_TOLERANCE = 0.08
"""Seconds: a best offset this close to a downbeat (else a beat) is snapped onto it."""
AMBIGUOUS_GAP = 0.25
"""An alternative offset (a beat or a bar away, or the runner-up peak) whose score is within
this many standard deviations (of the score over all offsets) of the best makes the fit
ambiguous. On ``bench/sync.py`` fits with a larger gap had the right beat 95-100 % of the time."""


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
    phrase: bool = False
    """The video's cuts hit the track's section starts beyond chance, and that decided
    between offsets a bar or a repeated section apart."""
    by_model: bool = False
    """Several offsets fit within noise; the one nearest the model's offset was taken."""
    ties: int = 1
    """How many offsets (at least half a beat apart) score within noise of the best: 1 when
    the offset is clear."""
    by_content: bool = False
    """Several offsets fit within noise; the one whose music the model matches best to the
    video's scenes was taken (``best_offset(..., content=)``)."""
    grid: bool = True
    """False: the track has no steady beat; the offset is where the cuts meet its onsets and
    the energy follows (10 ms steps, not snapped to a beat), and the track still says "no
    steady beat"."""

    @property
    def informative(self) -> bool:
        return not self.reason


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


@dataclass(frozen=True)
class OffsetScores:
    """The costly half of :func:`best_offset`: the sync score of every offset searched and the
    best score of each surrogate video. It does not depend on the tie-breakers (the model's
    offset, its content curve), so a caller that re-ranks often (the app, at every attribute
    slider move) computes it once per video and track (:func:`offset_scores`)."""

    offsets: np.ndarray
    """[K] offsets searched (s), 10 ms apart; empty with a ``reason``."""
    scores: np.ndarray
    """[K] sync score of the video at each offset."""
    null: np.ndarray
    """[S] best score of each surrogate (unrelated) video over the same range."""
    lo: float
    hi: float
    weights: SyncWeights
    """The weights used (the section term switched off when the video does not hit sections
    beyond chance)."""
    phrase: bool = False
    reason: str = ""
    """Empty when sync applies, else why not (:func:`engine.rhythm.sync_terms.sync_problem`)."""


def offset_scores(video: VideoRhythm, music: MusicRhythm, *, prior_offset: float | None = None,
                  search: float | tuple[float, float] | None = None, weights: SyncWeights = WEIGHTS,
                  surrogates: int = SURROGATES) -> OffsetScores:
    """Every offset's sync score and the surrogates' best (see :func:`best_offset` for
    ``prior_offset`` and ``search``)."""
    reason = sync_problem(video, music)
    if reason:
        empty = np.zeros(0)
        return OffsetScores(empty, empty, empty, 0.0, 0.0, weights, False, reason)
    lo, hi = _search_range(video, music, prior_offset, search)
    pulse = music_pulse(music)  # no grid: the track's onsets, never a made-up beat
    # The video and its null cohort (surrogate videos cut to other tempi) in one batch.
    batch = [video] + _surrogates(video, np.random.default_rng(1234), surrogates)
    offsets, base, phrase = _dense_parts(batch, music, lo, hi, weights, pulse)
    # The section-hit term counts only when this video hits section starts clearly more than
    # its unrelated surrogates do anywhere: an editor who cuts where the music changes. For
    # one who does not it is noise, which a maximum over many bar-shifted offsets picks up.
    phrase_on = bool(weights.phrase and phrase.shape[1] > 0
                     and phrase[0].max() > phrase[1:].max(initial=0.0) + PHRASE_GATE)
    if not phrase_on:
        weights = replace(weights, phrase=0.0)
    all_scores = base + weights.phrase * phrase
    return OffsetScores(offsets, all_scores[0], all_scores[1:].max(axis=1), float(lo), float(hi), weights, phrase_on)


def best_offset(video: VideoRhythm, music: MusicRhythm, *, prior_offset: float | None = None,
                search: float | tuple[float, float] | None = None, weights: SyncWeights = WEIGHTS,
                surrogates: int = SURROGATES, model_offset: float | None = None,
                content: tuple[np.ndarray, np.ndarray] | None = None,
                scored: OffsetScores | None = None) -> SyncFit:
    """The start offset at which the video's cuts and energy best follow the track.

    ``search``: None searches every offset that keeps the whole video under the track (or,
    with ``prior_offset``, one bar either side of it); a number is seconds either side of
    ``prior_offset``; a (lo, hi) pair is the range itself. The offset is searched in 10 ms
    steps, then snapped onto a downbeat (else a beat) when one is within ``SNAP_TOLERANCE``.

    ``model_offset`` (the model's own start, e.g. :func:`engine.recommend.fit_soundtrack`'s)
    only breaks ties: when several offsets score within noise of each other (``ambiguous``),
    the one nearest it is taken (``SyncFit.by_model``). Unlike ``prior_offset`` it never
    narrows the search, so a model that is wrong about the start costs nothing when sync is
    sure.

    ``content`` (offsets [C], score [C]: the model's match of the video's scenes with the
    track started at each offset, :func:`engine.recommend.content_curve`) picks among
    the tied offsets first, when it tells them apart by ``CONTENT_GAP`` of its own spread;
    the model's offset then breaks what remains.

    ``scored``: :func:`offset_scores` of this video and track, computed before (then
    ``prior_offset``, ``search``, ``weights`` and ``surrogates`` are the ones it was made with).
    """
    if scored is None:
        scored = offset_scores(video, music, prior_offset=prior_offset, search=search, weights=weights,
                               surrogates=surrogates)
    if scored.reason:
        return SyncFit(None, 0.0, 0.0, 0.0, False, (), scored.reason)
    offsets, scores, null = scored.offsets, scored.scores, scored.null
    lo, hi, weights, phrase_on = scored.lo, scored.hi, scored.weights, scored.phrase
    k = int(np.argmax(scores))
    ties = _ties(scored, music)
    by_model = by_content = False
    pick = content_choice(offsets, ties, content) if len(ties) > 1 else None
    if pick is not None:
        k, by_content = pick, pick != ties[0]
    elif model_offset is not None and len(ties) > 1:
        k = min(ties, key=lambda j: abs(offsets[j] - model_offset))
        by_model = k != ties[0]
    best, on_downbeat = _snapped(float(offsets[k]), music)
    raw = float(scores[k])
    if best != float(offsets[k]):
        best = float(np.clip(best, lo, hi))
        raw = float(score_offsets(video, music, [best], weights, phrase=phrase_on)[0])
    z = (raw - null.mean()) / max(null.std(), 0.02)
    alternatives, gap = _alternatives(offsets, scores, best, raw, music, [j for j in ties if j != k])
    return SyncFit(best, raw, float(z), confidence_of(z), gap < AMBIGUOUS_GAP, alternatives, "", on_downbeat,
                   float(null.mean()), float(gap), phrase_on, bool(by_model), len(ties),
                   bool(by_content), has_grid(music))


def fitting_offsets(scored: OffsetScores, music: MusicRhythm, most: int = 8) -> list[tuple[float, float]]:
    """(offset, score) of the starts that fit within noise of the best (the ties
    :func:`best_offset` chooses among: at least half a beat apart, within ``AMBIGUOUS_GAP``
    spreads of the best), snapped as its choice is, best first, at most ``most``; empty when
    ``scored`` carries a ``reason``."""
    if scored.reason or not len(scored.scores):
        return []
    offsets, scores = scored.offsets, scored.scores
    out: list[tuple[float, float]] = []
    for j in _ties(scored, music)[:most]:
        o = float(np.clip(_snapped(float(offsets[j]), music)[0], scored.lo, scored.hi))
        if all(abs(o - p) > 1e-3 for p, _ in out):
            out.append((o, float(scores[j])))
    return out


def content_choice(offsets: np.ndarray, ties: Sequence[int], content: tuple[np.ndarray, np.ndarray] | None
                   ) -> int | None:
    """The index (into ``offsets``) among ``ties`` whose content score beats every other tie's
    by ``CONTENT_GAP`` of the score's spread over all ``offsets``; None when content cannot
    tell them apart (or there is none)."""
    if content is None or len(content[0]) < 2 or len(ties) < 2:
        return None
    c_all = np.interp(offsets, content[0], content[1])  # [K]
    spread = float(c_all.std())
    if spread < 1e-9:
        return None
    c = c_all[list(ties)]
    order = np.argsort(-c, kind="stable")
    if c[order[0]] - c[order[1]] < CONTENT_GAP * spread:
        return None
    return int(list(ties)[order[0]])


def _beat_of(music: MusicRhythm) -> float:
    """The beat period (s); without a grid, ``GRIDLESS_UNIT``."""
    if not has_grid(music):
        return GRIDLESS_UNIT
    return 60.0 / music.tempo if music.tempo else float(np.median(np.diff(music.beats)))


def _snapped(offset: float, music: MusicRhythm) -> tuple[float, bool]:
    """The offset on a downbeat (else a beat) within ``SNAP_TOLERANCE``; whether on a downbeat."""
    d = np.asarray(music.downbeats, np.float64)
    if music.steady and len(d) and np.min(np.abs(d - offset)) <= SNAP_TOLERANCE:
        return snap_to_downbeat(offset, music, SNAP_TOLERANCE), True
    return snap_to_beat(offset, music, SNAP_TOLERANCE), False


def _ties(scored: OffsetScores, music: MusicRhythm) -> list[int]:
    """Indices (into ``scored.offsets``) of the offsets that fit within noise of the best:
    peaks within ``AMBIGUOUS_GAP`` spreads of it, at least half a beat apart, best first."""
    scores = scored.scores
    spread = max(float(scores.std()), 1e-6)
    return _peaks(scored.offsets, scores, float(scores.max()) - AMBIGUOUS_GAP * spread, _beat_of(music) / 2)


def _peaks(offsets: np.ndarray, scores: np.ndarray, floor: float, apart: float) -> list[int]:
    """Indices of the local maxima scoring at least ``floor``, best first, each more than
    ``apart`` seconds from any better one: the offsets that fit within noise of the best."""
    if len(scores) < 3:
        return [int(np.argmax(scores))] if len(scores) else []
    up = np.r_[True, scores[1:] >= scores[:-1]]
    down = np.r_[scores[:-1] >= scores[1:], True]
    cand = np.flatnonzero(up & down & (scores >= floor))
    out: list[int] = []
    for j in cand[np.argsort(-scores[cand], kind="stable")]:
        if not out or np.min(np.abs(offsets[out] - offsets[j])) > apart:
            out.append(int(j))
    return out


def _alternatives(offsets: np.ndarray, scores: np.ndarray, best: float, raw: float, music: MusicRhythm,
                  ties: Sequence[int] = ()) -> tuple[tuple[tuple[float, float], ...], float]:
    """(offset, score) of the strong other offsets, best first (a beat and a bar either side,
    the runner-up anywhere else, and up to three other offsets within noise of the best), and
    the gap: (best - best alternative) / std of the scores."""
    beat = _beat_of(music)
    bar = beat * (music.meter or 4)
    spread = max(float(scores.std()), 1e-6)
    found: dict[float, float] = {}
    for shift in (-bar, -beat, beat, bar) if has_grid(music) else ():
        near = np.abs(offsets - (best + shift)) <= 2 * CUT_SIGMA
        if near.any():
            j = int(np.flatnonzero(near)[np.argmax(scores[near])])
            found[round(float(offsets[j]), 3)] = float(scores[j])
    far = np.abs(offsets - best) > beat / 2
    if far.any():  # the runner-up anywhere else
        j = int(np.flatnonzero(far)[np.argmax(scores[far])])
        found[round(float(offsets[j]), 3)] = float(scores[j])
    for j in list(ties)[:3]:
        if abs(offsets[j] - best) > beat / 2:
            found[round(float(offsets[j]), 3)] = float(scores[j])
    alts = tuple(sorted(found.items(), key=lambda a: -a[1]))
    gap = min(((raw - s) / spread for _, s in alts), default=float("inf"))
    return alts, float(gap)


def describe_offset(fit: SyncFit) -> str:
    """The offset in words, for a suggestion's note: how sure it is, and when it is not, which
    other starts fit nearly as well (so the editor can try them) and what decided."""
    if not fit.informative or fit.offset is None:
        return fit.reason
    from engine.media.grid import clock

    weak = fit.confidence < 0.5  # z < 2: an unrelated video would fit about as well somewhere
    if fit.grid and weak:
        text = "its beats follow the cuts little better than chance; this start fits them best"
    elif fit.grid:
        text = "cuts land on its beats from here" + (" and on its section changes" if fit.phrase else "")
    elif weak:
        text = ("no steady beat, and its note starts follow the cuts little better than chance; this start "
                "fits them best (not on a beat grid)")
    else:
        text = ("no steady beat: cuts meet its note starts and the energy follows from here"
                + (" and its section changes" if fit.phrase else "") + " (not on a beat grid)")
    if not fit.ambiguous:
        return text
    others = [clock(o) for o, _ in fit.alternatives[:3]]
    text += f"; not sure of the start: {' or '.join(others)} fit nearly as well"
    if fit.by_content:
        text += " (took the one whose music the scenes match best)"
    elif fit.by_model:
        text += " (took the one nearest the model's start)"
    return text


def sync_summary(fit: SyncFit | None) -> str:
    """A few words for a list's "Sync" cell (`mvpt recommend`, the app's whole-video list):
    "—" without sync information, why sync said nothing ("no steady beat", "no cuts found"),
    else how sure it is that the video follows the track, "· no steady beat" when the start
    was found off any beat grid, and "(start unsure)" when other starts fit nearly as well
    (:func:`describe_offset` names them)."""
    if fit is None:
        return "—"
    if fit.reason:
        return fit.reason
    text = f"{100 * fit.confidence:.0f} %"
    if not fit.grid:
        text += " · no steady beat"
    return text + (" (start unsure)" if fit.ambiguous else "")
