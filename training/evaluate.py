"""Retrieval evaluation, the paper's protocol (Sec. 4).

Pools of N candidates (N = 2000) are drawn from the split; inside a pool every item is a
query once, and exactly one candidate of the other modality is its pair. Ranks are 1-based
(rank 1 = the pair is the most similar). Recall@1/5/10 in %, median rank, for V→M and M→V,
averaged over pools; "avg_R@10" is the mean of the two directions' R@10.

- Segment level: items are segments. Every segment is embedded *in context*: its whole
  video/track goes through the model in windows of L (:func:`engine.model.windows.encode_many`),
  then the pool is drawn from all segments of the split.
- Track level: items are whole videos/tracks, embedded by the ``[CLS]`` output (averaged over
  windows); the MLP baseline uses the MLP of the track's mean feature.

When the split holds fewer items than N, all of them form the one pool (and the report says
so); chance rates are then K/n and (n + 1)/2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from engine.model.windows import encode_many

from .dataset import Split

KS = (1, 5, 10)


@dataclass
class Embeddings:
    seg_v: np.ndarray        # (S, d) all segments of the split, track by track
    seg_m: np.ndarray        # (S, d)
    seg_track: np.ndarray    # (S,) which track each segment belongs to
    cls_v: np.ndarray        # (n_tracks, d)
    cls_m: np.ndarray        # (n_tracks, d)


def embed_split(model: nn.Module, split: Split, L: int | None = None, overlap: int | None = None,
                device: str | torch.device = "cpu", batch_windows: int = 256) -> Embeddings:
    """Embed every segment (in context) and every track of ``split`` with both towers."""
    seg_v, seg_m, cls_v, cls_m, owner = [], [], [], [], []
    chunk = 256
    for a in range(0, len(split), chunk):
        ks = range(a, min(a + chunk, len(split)))
        items = [split.item(k) for k in ks]
        vis = [torch.from_numpy(np.array(v, dtype=np.float32)) for v, _ in items]
        mus = [torch.from_numpy(np.array(m, dtype=np.float32)) for _, m in items]
        out_v = encode_many(model.visual, vis, L=L, overlap=overlap, device=device, batch_windows=batch_windows)
        out_m = encode_many(model.music, mus, L=L, overlap=overlap, device=device, batch_windows=batch_windows)
        for k, ov, om in zip(ks, out_v, out_m, strict=True):
            seg_v.append(ov.segments.numpy())
            seg_m.append(om.segments.numpy())
            cls_v.append(ov.cls.numpy())
            cls_m.append(om.cls.numpy())
            owner.append(np.full(ov.segments.shape[0], k))
    return Embeddings(np.concatenate(seg_v), np.concatenate(seg_m), np.concatenate(owner),
                      np.stack(cls_v), np.stack(cls_m))


def ranks_of_pairs(queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """1-based rank of candidate i for query i, by cosine similarity (ties count in the
    pair's favour). ``queries``, ``candidates``: (n, d). Returns (n,) int."""
    q = torch.nn.functional.normalize(torch.as_tensor(queries, dtype=torch.float32), dim=-1)
    c = torch.nn.functional.normalize(torch.as_tensor(candidates, dtype=torch.float32), dim=-1)
    s = q @ c.T  # (n, n)
    pos = s.diagonal()[:, None]
    return (1 + (s > pos).sum(dim=1)).numpy()


def summarize_ranks(ranks: np.ndarray) -> dict[str, float]:
    out = {f"R@{k}": float(100.0 * np.mean(ranks <= k)) for k in KS}
    out["median_rank"] = float(np.median(ranks))
    return out


def pooled_metrics(x_v: np.ndarray, x_m: np.ndarray, pool: int, pools: int, seed: int = 0) -> tuple[dict[str, Any], int, int]:
    """Both directions over ``pools`` random pools of ``pool`` pairs (rows of x_v/x_m pair up).
    Returns (metrics, effective pool size, number of pools used)."""
    n = len(x_v)
    if n == 0:
        raise ValueError("nothing to evaluate: the split is empty")
    rng = np.random.default_rng(seed)
    eff = min(pool, n)
    used = pools if n > pool else 1  # with every item in the pool, pools would be identical
    per_dir: dict[str, list[dict[str, float]]] = {"v2m": [], "m2v": []}
    for _ in range(used):
        idx = np.sort(rng.choice(n, size=eff, replace=False)) if n > pool else np.arange(n)
        per_dir["v2m"].append(summarize_ranks(ranks_of_pairs(x_v[idx], x_m[idx])))
        per_dir["m2v"].append(summarize_ranks(ranks_of_pairs(x_m[idx], x_v[idx])))
    result: dict[str, Any] = {}
    for d, rows in per_dir.items():
        result[d] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    result["avg_R@10"] = 0.5 * (result["v2m"]["R@10"] + result["m2v"]["R@10"])
    return result, eff, used


@dataclass
class EvalReport:
    result: dict[str, Any]                      # the exact JSON of `mvpt eval --json`
    notes: list[str] = field(default_factory=list)
    effective: dict[str, int] = field(default_factory=dict)


def evaluate_embeddings(emb: Embeddings, pool: int = 2000, pools: int = 5, seed: int = 0) -> EvalReport:
    seg, n_seg, used_s = pooled_metrics(emb.seg_v, emb.seg_m, pool, pools, seed)
    trk, n_trk, used_t = pooled_metrics(emb.cls_v, emb.cls_m, pool, pools, seed + 1)
    notes = []
    if len(emb.seg_v) < pool:
        notes.append(f"segment level: the split has only {len(emb.seg_v)} segments (< pool {pool}); "
                     f"all {n_seg} are one pool")
    if len(emb.cls_v) < pool:
        notes.append(f"track level: the split has only {len(emb.cls_v)} tracks (< pool {pool}); "
                     f"all {n_trk} are one pool")
    result = {"segment": seg, "track": trk, "pool": int(pool), "pools": int(pools),
              "queries": {"segment": int(n_seg), "track": int(n_trk)}}
    return EvalReport(result, notes, {"segment": n_seg, "track": n_trk,
                                      "segment_pools": used_s, "track_pools": used_t})


def evaluate(model: nn.Module, split: Split, pool: int = 2000, pools: int = 5, seed: int = 0,
             L: int | None = None, overlap: int | None = None, device: str | torch.device = "cpu") -> EvalReport:
    return evaluate_embeddings(embed_split(model, split, L=L, overlap=overlap, device=device), pool, pools, seed)


def chance(n: int) -> dict[str, float]:
    return {**{f"R@{k}": 100.0 * min(k, n) / n for k in KS}, "median_rank": (n + 1) / 2}


def format_table(report: EvalReport, title: str = "") -> str:
    """The human-readable table `mvpt eval` prints (with chance rates)."""
    r = report.result
    lines = [title] if title else []
    head = f"{'level':<8} {'dir':<4} {'R@1':>7} {'R@5':>7} {'R@10':>7} {'medR':>8}   {'avg R@10':>8}"
    lines += [head, "-" * len(head)]
    for level in ("segment", "track"):
        n = report.effective.get(level, r["queries"][level])
        for d, name in (("v2m", "V→M"), ("m2v", "M→V")):
            x = r[level][d]
            avg = f"{r[level]['avg_R@10']:8.2f}" if d == "v2m" else ""
            lines.append(f"{level:<8} {name:<4} {x['R@1']:7.2f} {x['R@5']:7.2f} {x['R@10']:7.2f} "
                         f"{x['median_rank']:8.1f}   {avg}")
        c = chance(n)
        lines.append(f"{'':<8} {'rand':<4} {c['R@1']:7.2f} {c['R@5']:7.2f} {c['R@10']:7.2f} "
                     f"{c['median_rank']:8.1f}   {c['R@10']:8.2f}   (chance, pool of {n})")
    lines.append(f"pool {r['pool']} x {r['pools']} pools; queries per pool and direction: "
                 f"segment {r['queries']['segment']}, track {r['queries']['track']}")
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines)
