"""How well a track at a start offset sits under a video: cuts on beats, energy that follows.

The offset is the track time heard at video time 0 (the ``in_point`` of a whole-video cue).
The score of a (video, track, offset) triple is a weighted sum of five terms
(:class:`SyncWeights`, measured in ``bench/sync.py``):

- **cuts**: the mean, over the video's cuts (weighted by confidence; gradual transitions at
  half weight), of a *beat pulse* of the track at ``cut + offset``: Gaussian bumps of
  ``CUT_SIGMA`` (50 ms, so ±70 ms still earns 0.37) at beats (0.6), downbeats (+0.25) and
  section starts (+0.15). In [0, 1].
- **onset**: Pearson correlation of the fine detail of the two energy curves (each minus its
  2 s moving average) over the overlap: flashes and fast motion on the hits.
- **sections**: Pearson correlation of the smoothed curves (1 s; 3 s blurred a bar's shift
  away): the picture's energy rises with the chorus.
  Both energy terms read each curve's *ranks* (its values replaced by their rank), not its
  levels: picture energy follows loudness monotonically at best, and a few flashes would
  otherwise set the correlation (see ``Measured``).
- **phrase**: the section starts inside the video that get a cut, beyond the rate at which
  this video's cuts hit any downbeat, as a z-like count (``PHRASE_WEIGHT`` per unit). A
  constant tempo makes cuts on the bar fit every bar-shifted offset equally; cutting where
  the music changes section is the part of an edit that does not repeat each bar. It counts
  only when the video's best section-hit count beats every surrogate's (below) by
  ``PHRASE_GATE``: for an editor who ignores sections it is noise, which the maximum over
  many bar-shifted offsets would otherwise pick up.
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

Where several offsets score within noise of the best (``AMBIGUOUS_GAP`` standard deviations
of the score over all offsets), the fit says so: ``ambiguous``, ``ties`` (how many), the
``alternatives`` (offsets to try), and :func:`describe_offset` puts them in the suggestion's
note. The model's content at each offset (``content=``: its scenes-to-track cosine, when it
tells the tied offsets apart), then its own offset (``model_offset=``), as
:func:`engine.recommend.best_soundtracks` passes them, pick among the tied offsets only:
they never override an offset sync is sure of, so a model wrong about the start costs nothing.

A track with no steady beat (ambient, rubato, bowed strings the tracker cannot follow) has
no grid, and none is made up: its start is searched on what it has, in the same 10 ms steps
with the same surrogate cohort: the cuts against the rises of its energy curve (note and chord
starts, :func:`engine.rhythm.sync_terms.onset_pulse`, in place of the beat pulse), the two
energy terms and the section-hit term; the tempo term is 0. The fit says so (``SyncFit.grid``
False, "no steady beat" in :func:`describe_offset`), is not snapped to any beat, and tells
offsets apart by ``GRIDLESS_UNIT`` instead of a beat. A track whose energy is flat too (or a
video with no cuts) carries no sync information: the functions say so (``SyncFit.reason``)
and contribute nothing.

The code: :mod:`engine.rhythm.sync_terms` (the terms, vectorised over offsets: one gather
for given offsets, one batch of FFTs for the dense search), :mod:`engine.rhythm.sync_offset`
(:func:`best_offset`, snapping, alternatives, the surrogates' chance), this module (the
re-ranker); every public name is importable from here.

Measured (``bench/sync.py``: generated songs, videos cut to them imperfectly — 20 % of cuts
off the grid, 25 ms jitter, missed and false cuts, energy that follows the music only
partly; the model's score a noisy stand-in):

- offset of the true track, whole-track search (100 videos): the right beat for 75 % of pairs
  (69 % without the section-hit term and with 3 s energy smoothing); every miss is whole bars
  away, mostly where the track repeats sections of the same length, so that the same cuts
  and the same energy fit there too. Refining a model offset (±4 s around the right 6.7 s
  segment): 97 % (90 % before). With the model's offset as a tie-breaker only (the search not
  narrowed): 77 %. 86 % of pairs are right or flagged ``ambiguous`` with the true offset among
  the ``alternatives``; 4 % are wrong without a flag; unflagged pairs are right in 93 %.
  The section-hit term was used on 42 % of pairs (an editor who cuts on section changes in
  70 % of them); on ``tests/test_rhythm_sync.py``'s world, whose editor ignores sections, it
  stays off and changes nothing. For an editor who never cuts on section changes
  (``--section-cuts 0``, 60 videos): 67 % whole-track, 80 % refining (60 % and 75 % before:
  the 1 s smoothing), the term used on none.
- ranking a 50-track library: model stand-in MRR 0.30, sync alone 0.83 ("excess" = score
  over chance), blended at weight 0.5 0.88, at 0.6 0.90 (top 1: 15 % → 72 % → 82 %); the
  term changes the ranking within noise (0.84 / 0.89 / 0.90 before). With 10 long, busy
  tracks added that no video was cut to, raw maxima fell from 0.89 to 0.84 MRR while the
  excess over chance held (0.84 → 0.87; measured before the term); ``z`` (excess / spread of
  the surrogates) is noisier than the excess alone and is kept for confidence only.
- with the grid and energy of ``engine.rhythm.music.analyse_rhythm`` instead of the true ones
  (``--analysed``, 100 videos, rhythm version 7; videos still cut to the true grid): the right
  beat for 75 % over the whole track and 94 % refining a model offset (57 % and 75 % before
  the two changes below). The 17 pairs on the 7 tracks the tracker finds no steady beat in
  (5 ambient, 2 bowed strings) had no offset at all; searched on their onsets and energy they
  get 65 % and 94 % (``--why``). Matching the energy curves by rank instead of level lifted
  the 80 pairs whose grid is right from 70 / 91 % to 79 / 96 % (with the generator's true
  grid, all 100: 75 / 97 % -> 86 / 99 %); every remaining miss there is whole bars away
  (a repeated section), mostly flagged ``ambiguous``. Ranking (blend 0.5, excess): MRR 0.74
  -> 0.89.
- on REAL songs (``bench/sync_real.py``: 24 videos rendered from the starter world's
  generator and cut to 8 charted Frets on Fire songs from the charts' beats, a library of 24
  real songs, the starter model, the tracker's grid, the real cut detector): sync finds the
  video's own song (sync alone MRR 0.78, first for 62 %, top 3 for 92 %; the model 0.17,
  chance 0.16) but not its bar: the right beat over the whole song for 0-4 % of videos,
  25-29 % given the right 6.7 s segment. Songs at a steady tempo cut on bar lines fit every
  bar-shifted start equally (a median of 4-5 offsets within noise of the best, up to 14),
  the picture's energy did not follow the music enough to tell them apart, and on 2 of the 8
  songs the tracker's bars start on the wrong beat (1-3 beats off). The fit says so ("not sure of the
  start") for 96 %; 4 % are wrong without the flag. An editor who also cuts where the stems
  change (``--section-cuts 0.7``) helps the ranking (MRR 0.89) but not the start (0 %).
  The model's content over offsets (``best_offset(..., content=)``, from
  :func:`engine.recommend.content_curve`) choosing among tied offsets changes nothing
  measurable with the starter model, which is at chance on real music.
- CPU: one candidate over every beat of a 239 s track (568 offsets) under a 3-minute video:
  3.7 ms (goal ≤ 20 ms); :func:`best_offset` over the track in 10 ms steps with 16
  surrogates: 38 ms (27 ms before: two more cross-correlations, sharing one FFT of the cuts).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from engine.rhythm.music import MusicRhythm
from engine.rhythm.shots import VideoRhythm
from engine.rhythm.sync_offset import (  # noqa: F401 - re-exported: the public face of sync
    AMBIGUOUS_GAP,
    CONTENT_GAP,
    PHRASE_GATE,
    SNAP_TOLERANCE,
    SURROGATES,
    OffsetScores,
    SyncFit,
    _alternatives,
    _peaks,
    best_offset,
    confidence_of,
    content_choice,
    describe_offset,
    fitting_offsets,
    offset_scores,
    snap_to_beat,
    snap_to_downbeat,
    sync_summary,
)
from engine.rhythm.sync_terms import (  # noqa: F401 - re-exported
    COARSE_WINDOW,
    CUT_SIGMA,
    FINE_WINDOW,
    GRIDLESS_UNIT,
    NO_CUTS,
    NO_STEADY_BEAT,
    PHRASE_WEIGHT,
    PULSE_PARTS,
    PULSE_RATE,
    SYNC_VERSION,
    TOO_SHORT,
    TRANSITION_WEIGHT,
    WEIGHTS,
    SyncWeights,
    _dense,
    _dense_parts,
    _pearson_over_shifts,
    _phrase_term,
    _surrogates,
    beat_offsets,
    beat_pulse,
    has_grid,
    music_pulse,
    onset_pulse,
    score_offsets,
    sync_problem,
    tempo_fit,
)

DEFAULT_SYNC_WEIGHT = 0.5
"""Blend weight of sync in :func:`rerank` (``bench/sync.py`` sweeps it)."""
DEFAULT_METRIC = "excess"
"""What :func:`rerank` blends: "excess" (score over chance), "z" or "raw" (``bench/sync.py``)."""


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


__all__ = ["SyncFit", "SyncWeights", "Ranked", "score_offsets", "best_offset", "OffsetScores", "offset_scores",
           "beat_offsets", "describe_offset",
           "snap_to_downbeat", "snap_to_beat", "rerank", "sync_problem", "beat_pulse", "tempo_fit", "confidence_of",
           "NO_STEADY_BEAT", "NO_CUTS", "DEFAULT_SYNC_WEIGHT", "WEIGHTS", "SYNC_VERSION"]
