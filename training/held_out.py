"""Judging a model on held-out edits, and deciding whether a new one is better.

``mvpt learn`` (training.learn) holds out some of a creator's edits; for every scene of a
held-out edit, :func:`scene_ranks` ranks its own track among the candidates as the per-scene
suggestions do, and :func:`decide` compares two models on the same scenes with a bootstrap
interval over the held-out edits: "better", "worse" or "unsure".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

TOP_K = 5
MIN_DECIDE_EDITS = 8
"""Held-out edits below which ``learn`` does not even try to tell the models apart (with 5, a
bootstrap called a model "better" by +34 points that was no better on 200 other edits of the
same creator: bench/learn.py)."""
BOOTSTRAP = 2000
"""Resamples of the held-out edits for the improvement's interval (seeded: the same data give
the same decision)."""
INTERVAL = 90.0
"""Two-sided interval (%) of the improvement: switch when its lower end (the 5th percentile)
is above 0."""


@dataclass
class HeldOutScore:
    """How well a model matches held-out edits to their own music."""

    hit5: float            # % of held-out scenes whose own track is in the top 5 of the candidates
    chance5: float         # the same for a model that ranks at random
    median_rank: float     # whole-video rank of the own track (1 = first)
    mean_rank: float
    scenes: int
    videos: int
    tracks: int            # candidates: the held-out edits' soundtracks


@torch.no_grad()
def scene_ranks(model: nn.Module, visual: list[torch.Tensor], music: list[torch.Tensor],
                queries: list[int] | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """For each query video ``q`` (default: all): the rank of track ``q`` among all tracks for
    each of its scenes, each track scored by its best-matching segment (the per-scene
    suggestion), (T_q,) int; and the rank of track ``q`` for the whole video ([CLS] against
    [CLS]), (n_queries,) int. ``visual[i]``: (T_i, Dv), ``music[i]``: (T_i, Dm)."""
    from engine.model.windows import encode_many

    model.eval()
    queries = list(range(len(visual))) if queries is None else queries
    out_m = encode_many(model.music, music)
    out_v = encode_many(model.visual, [visual[q] for q in queries])
    segs = torch.cat([o.segments for o in out_m])                                   # (S, d)
    owner = torch.cat([torch.full((o.segments.shape[0],), i) for i, o in enumerate(out_m)])  # (S,)
    cls_m = torch.stack([o.cls for o in out_m])                                     # (n, d)
    n = len(music)
    per_scene, ranks = [], []
    for q, ov in zip(queries, out_v, strict=True):
        sim = ov.segments @ segs.T                                                  # (T_q, S)
        per_track = torch.full((sim.shape[0], n), -2.0).scatter_reduce(
            1, owner.expand(sim.shape[0], -1), sim, reduce="amax")                  # (T_q, n)
        own = per_track[:, q:q + 1]
        per_scene.append((1 + (per_track > own).sum(dim=1)).numpy())                # (T_q,)
        s = cls_m @ ov.cls                                                          # (n,)
        ranks.append(int(1 + (s > s[q]).sum()))
    return per_scene, np.asarray(ranks, dtype=np.int64)


def scene_hits(model: nn.Module, visual: list[torch.Tensor], music: list[torch.Tensor],
               queries: list[int] | None = None, k: int = TOP_K) -> dict[str, float]:
    """:func:`scene_ranks` summed up: hit@5 (% of the query videos' scenes whose own track is
    in the top ``k``) and its chance rate, whole-video median and mean rank."""
    per_scene, ranks = scene_ranks(model, visual, music, queries)
    s = judged(per_scene, ranks, len(music), k).score
    return {"hit@5": s.hit5, "chance@5": s.chance5, "median_rank": s.median_rank, "mean_rank": s.mean_rank,
            "scenes": s.scenes, "videos": s.videos, "tracks": s.tracks}


@dataclass
class Judged:
    """One model on the held-out edits: the summary and, per held-out edit, what the paired
    comparison needs."""

    score: HeldOutScore
    hits: np.ndarray          # (n_edits,) scenes whose own track is in the top 5
    scenes: np.ndarray        # (n_edits,) scenes per edit


def judged(per_scene: list[np.ndarray], ranks: np.ndarray, n_tracks: int, k: int = TOP_K) -> Judged:
    """:func:`scene_ranks`' output (per query video) summed up against ``n_tracks`` candidates."""
    hits = np.array([int((r <= k).sum()) for r in per_scene], dtype=np.int64)   # (n_videos,)
    scenes = np.array([len(r) for r in per_scene], dtype=np.int64)              # (n_videos,)
    score = HeldOutScore(hit5=100.0 * int(hits.sum()) / max(1, int(scenes.sum())),
                         chance5=100.0 * min(k, n_tracks) / n_tracks,
                         median_rank=float(np.median(ranks)), mean_rank=float(np.mean(ranks)),
                         scenes=int(scenes.sum()), videos=len(per_scene), tracks=n_tracks)
    return Judged(score, hits, scenes)


@dataclass
class Decision:
    verdict: str              # "better" | "worse" | "unsure"
    gain: float               # hit@5 new minus current, points, on all held-out scenes
    low: float | None         # INTERVAL % bootstrap interval of ``gain`` over held-out edits
    high: float | None
    reason: str               # one sentence for the user


def decide(before: Judged, after: Judged, seed: int = 0) -> Decision:
    """Is the new model better on the held-out edits, or can they not tell?

    A paired comparison: both models on the same held-out scenes. The statistic is the
    difference in top-5 hit rate over all held-out scenes; its uncertainty comes from a
    bootstrap over held-out *edits* (scenes of one edit share its music and footage, so they
    are not independent), widened for small samples. "better" when the interval's lower end is
    above 0, "worse" when its upper end is below 0, otherwise "unsure" — as always with fewer
    than ``MIN_DECIDE_EDITS`` held-out edits, where a bootstrap says little."""
    scenes = before.scenes.astype(np.float64)
    diff = (after.hits - before.hits).astype(np.float64)                            # (n,)
    gain = float(100.0 * diff.sum() / max(1.0, scenes.sum()))
    n = len(scenes)
    said = f"top-5 hit rate on the held-out scenes {before.score.hit5:.1f} % -> {after.score.hit5:.1f} %"
    if n < MIN_DECIDE_EDITS:
        return Decision("unsure", gain, None, None,
                        f"not enough held-out edits to tell ({n}; at least {MIN_DECIDE_EDITS} are needed: add "
                        f"edits): {said}; keeping the current model")
    idx = np.random.default_rng([seed, 31]).integers(0, n, size=(BOOTSTRAP, n))     # (B, n) resampled edits
    boot = 100.0 * diff[idx].sum(axis=1) / np.maximum(1.0, scenes[idx].sum(axis=1))  # (B,)
    tail = (100.0 - INTERVAL) / 2
    # widened by sqrt(n / (n - 1)): the bootstrap's spread underestimates the variance for small n
    widen = np.sqrt(n / (n - 1))
    low, high = (float(gain + widen * (x - gain)) for x in np.percentile(boot, [tail, 100.0 - tail]))
    span = f"{gain:+.1f} points, {INTERVAL:g} % interval {low:+.1f} to {high:+.1f} over {n} held-out edits"
    if low > 0:
        return Decision("better", gain, low, high, f"the new model is better: {said} ({span})")
    if high < 0:
        return Decision("worse", gain, low, high, f"the new model is worse: {said} ({span}); keeping the current one")
    return Decision("unsure", gain, low, high,
                    f"the held-out edits cannot tell the models apart: {said} ({span}); keeping the current model")

