"""Retrieval metrics against a brute-force numpy reference on seeded features."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluate import Embeddings, chance, evaluate_embeddings, pooled_metrics, ranks_of_pairs


def brute_force(q: np.ndarray, c: np.ndarray) -> dict[str, float]:
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    c = c / np.linalg.norm(c, axis=1, keepdims=True)
    ranks = []
    for i in range(len(q)):
        sims = [float(q[i] @ c[j]) for j in range(len(c))]
        order = sorted(range(len(c)), key=lambda j: -sims[j])
        ranks.append(order.index(i) + 1)
    ranks = np.array(ranks)
    out = {f"R@{k}": 100.0 * float(np.mean(ranks <= k)) for k in (1, 5, 10)}
    out["median_rank"] = float(np.median(ranks))
    return out


def seeded(n=300, d=16, noise=1.2, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, d))
    return z + noise * rng.normal(size=(n, d)), z + noise * rng.normal(size=(n, d))


def test_ranks_and_recalls_match_the_brute_force_reference():
    v, m = seeded()
    got, eff, used = pooled_metrics(v, m, pool=2000, pools=5)
    assert eff == 300 and used == 1
    for d, (q, c) in (("v2m", (v, m)), ("m2v", (m, v))):
        ref = brute_force(q, c)
        for k, x in ref.items():
            assert got[d][k] == pytest.approx(x, abs=1e-9), (d, k)
    assert got["avg_R@10"] == pytest.approx(0.5 * (got["v2m"]["R@10"] + got["m2v"]["R@10"]))
    assert 0 < got["v2m"]["R@10"] < 100  # informative, not trivial


def test_pools_average_the_brute_force_results_over_random_pools():
    v, m = seeded(n=250, seed=1)
    got, eff, used = pooled_metrics(v, m, pool=60, pools=3, seed=7)
    rng = np.random.default_rng(7)
    refs = []
    for _ in range(3):
        idx = np.sort(rng.choice(250, size=60, replace=False))
        refs.append(brute_force(v[idx], m[idx]))
    assert eff == 60 and used == 3
    for k in ("R@1", "R@5", "R@10", "median_rank"):
        assert got["v2m"][k] == pytest.approx(np.mean([r[k] for r in refs]), abs=1e-9)


def test_perfect_and_reversed_rankings():
    x = np.eye(20)
    assert list(ranks_of_pairs(x, x)) == [1] * 20
    c = np.roll(x, 1, axis=0)
    assert np.all(ranks_of_pairs(x, c) > 1)


def test_report_json_has_exactly_the_documented_keys_and_says_when_pools_are_small():
    v, m = seeded(n=120)
    emb = Embeddings(v, m, np.repeat(np.arange(12), 10), v[:12], m[:12])
    rep = evaluate_embeddings(emb, pool=2000, pools=5)
    r = rep.result
    assert set(r) == {"segment", "track", "pool", "pools", "queries"}
    for level in ("segment", "track"):
        assert set(r[level]) == {"v2m", "m2v", "avg_R@10"}
        assert set(r[level]["v2m"]) == {"R@1", "R@5", "R@10", "median_rank"}
    assert r["pool"] == 2000 and r["pools"] == 5 and r["queries"] == {"segment": 120, "track": 12}
    assert any("only 120 segments" in n for n in rep.notes) and any("only 12 tracks" in n for n in rep.notes)
    assert chance(2000) == {"R@1": 0.05, "R@5": 0.25, "R@10": 0.5, "median_rank": 1000.5}
