"""Library figures: indexing throughput, and vector search latency / recall / memory.

    .venv/bin/python bench/library.py [--tracks 8] [--seconds 120] [--extractors classic-music musicnn]
                                      [--sizes 100000 1000000] [--queries 200] [--no-hnsw-1m]

1. Indexing throughput on generated audio: ``--tracks`` MP3 tracks of ``--seconds`` each
   (44.1 kHz stereo, tones, chords and a beat; generated once under the system temp
   folder) scanned with 2 worker processes (decode + base features, worker start-up
   included), then embedded with a random-initialised default-size MVPT (4 layers, 256
   wide). Reported: tracks/min and × realtime for the scan, the embedding, and both.
2. Search on vectors shaped like embeddings: a mixture of 1000 low-rank Gaussians in 256-d
   (each cluster: a random centre plus a random 16-d subspace, cos(point, centre) ≈ 0.8,
   plus isotropic noise), unit-normalised. Uniform random vectors are *not* used: every
   approximate index collapses on them (STACK-NOTES). Queries are new points from the same
   mixture. For each size and index type: build time, memory (serialised index + ids),
   single-query latency p50/p99 (one query at a time, as the GUI asks), per-query time in
   batches of 100, and recall@10 against exact search.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.jobs import run  # noqa: E402
from engine.library import Catalog, VectorIndex, embed, scan  # noqa: E402

MEDIA = Path(tempfile.gettempdir()) / "mvpt-bench-library"


# --- 1. indexing throughput -------------------------------------------------------------------

def make_tracks(n: int, seconds: float) -> Path:
    from training.synthmedia import write_audio

    folder = MEDIA / f"tracks-{n}x{int(seconds)}"
    folder.mkdir(parents=True, exist_ok=True)
    sr = 44100
    for i in range(n):
        p = folder / f"track{i:03d}.mp3"
        if p.exists():
            continue
        rng = np.random.default_rng(i)
        t = np.arange(int(seconds * sr)) / sr
        root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
        chord = np.floor(t / (60 / (70 + 5 * i) * 4)) % 4  # a chord change every bar
        x = sum(np.sin(2 * np.pi * root * r * (1 + 0.5 * (chord == k)) * t) for k, r in enumerate((1, 1.25, 1.5)))
        beat = (np.sin(2 * np.pi * (70 + 5 * i) / 60 * t) > 0.95) * rng.standard_normal(t.size)
        x = (0.15 * x + 0.3 * beat).astype(np.float32)
        write_audio(p, np.stack([x, x]), sample_rate=sr, tags={"title": f"Track {i}", "artist": "Bench"})
    return folder


def bench_indexing(n: int, seconds: float, extractors: list[str], workers: int) -> None:
    from engine.features.base import FeatureError
    from engine.features.registry import create_extractor
    from engine.model import CheckpointConfig, MVPTConfig, build_model, load_checkpoint, save_checkpoint

    t0 = time.monotonic()
    folder = make_tracks(n, seconds)
    print(f"\n== indexing throughput: {n} generated MP3 tracks × {seconds:.0f} s "
          f"({n * seconds / 60:.0f} min of audio; generated/cached in {time.monotonic() - t0:.0f} s), "
          f"{workers} workers, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for name in extractors:
        try:
            ext = create_extractor(name)
        except FeatureError as e:
            print(f"  {name}: not available ({e})")
            continue
        work = Path(tempfile.mkdtemp(prefix="mvpt-bench-lib-"))
        try:
            with Catalog(work / "catalog.sqlite") as cat:
                t = time.monotonic()
                done_at: list[float] = []
                rep = run(scan(cat, folder, "music", music_extractor_name=name, workers=workers),
                          lambda p, acc=done_at: acc.append(time.monotonic()) if p.stage == "scan" and p.done else None)
                scan_s = time.monotonic() - t
                first = done_at[0] - t  # worker start-up + the first file
                steady = (n - 1) * seconds / max(1e-9, done_at[n - 1] - done_at[0]) if n > 1 else float("nan")
                assert len(rep.processed) == n, rep.failed
                cfg = MVPTConfig(visual_dim=52, music_dim=ext.dim)
                save_checkpoint(work / "ck", build_model(cfg), CheckpointConfig(
                    cfg, {"visual": {"id": "classic-visual:v1:k8:w72", "dim": 52},
                          "music": {"id": ext.id, "dim": ext.dim}}, 6.7, cfg.seq_len))
                loaded = load_checkpoint(work / "ck")
                t = time.monotonic()
                er = run(embed(cat, loaded, "bench", "music", index_dir=work / "index"))
                embed_s = time.monotonic() - t
                media = rep.media_seconds
                print(f"  {name:<14} scan {scan_s:6.1f} s = {n / scan_s * 60:6.1f} tracks/min, {media / scan_s:6.1f}× realtime"
                      f" | embed+index {embed_s:5.2f} s ({er.vectors['segment']} segments) "
                      f"| total {media / (scan_s + embed_s):6.1f}× realtime")
                print(f"  {'':<14} first file done after {first:.1f} s (worker start-up); after it "
                      f"{steady:.1f}× realtime")
        finally:
            shutil.rmtree(work, ignore_errors=True)


# --- 2. search ------------------------------------------------------------------------------

def mixture(n: int, d: int = 256, centres: int = 1000, rank: int = 16, seed: int = 0,
            point_seed: int = 1, spread: float = 0.75, noise: float = 0.25) -> np.ndarray:
    """Unit vectors from a mixture of low-rank Gaussians (see module doc). Centres and
    subspaces depend on ``seed``; ``point_seed`` draws other points from the same mixture."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, d)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    # z @ basis has expected norm `spread` for z ~ N(0, I_rank)
    bases = rng.standard_normal((centres, rank, d)).astype(np.float32) * (spread / np.sqrt(d * rank))
    prng = np.random.default_rng(point_seed)
    labels = prng.integers(0, centres, n)
    x = np.empty((n, d), np.float32)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(centres + 1))
    for k in range(centres):
        idx = order[bounds[k]:bounds[k + 1]]
        if idx.size:
            z = prng.standard_normal((idx.size, rank)).astype(np.float32)
            x[idx] = c[k] + z @ bases[k]
    x += prng.standard_normal((n, d)).astype(np.float32) * (noise / np.sqrt(d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def latency(index: VectorIndex, q: np.ndarray, k: int = 10) -> tuple[float, float]:
    times = []
    for row in q:
        t = time.perf_counter()
        index.search(row[None, :], k)
        times.append(time.perf_counter() - t)
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 99) * 1e3)


def bench_search(sizes: list[int], n_queries: int, hnsw_1m: bool) -> None:
    print(f"\n== search: mixture of 1000 rank-16 Gaussians, 256-d, unit norm; {n_queries} queries from the "
          f"same mixture; k = 10; load average {os.getloadavg()[0]:.1f}")
    q = mixture(n_queries, point_seed=999)
    for n in sizes:
        t = time.monotonic()
        x = mixture(n)
        ids = np.arange(n, dtype=np.int64)
        print(f"\n-- {n:,} vectors (generated in {time.monotonic() - t:.1f} s)")
        kinds = ["flat", "ivf-sq8", "hnsw"]
        if n >= 1_000_000 and not hnsw_1m:
            kinds.remove("hnsw")
        truth = None
        print(f"  {'index':<9} {'build s':>8} {'memory MB':>10} {'p50 ms':>8} {'p99 ms':>8} {'batch100 ms/q':>14} "
              f"{'recall@10':>10}")
        for kind in kinds:
            t = time.monotonic()
            vi = VectorIndex(kind).build(x, ids)
            build = time.monotonic() - t
            mem = vi.memory_bytes() / 1e6
            lat_q = q[: min(len(q), 50 if (kind == "flat" and n >= 1_000_000) else len(q))]
            p50, p99 = latency(vi, lat_q)
            t = time.perf_counter()
            got = np.concatenate([vi.search(q[i:i + 100], 10)[1] for i in range(0, len(q), 100)])
            batch = (time.perf_counter() - t) / len(q) * 1e3
            if kind == "flat":
                truth = got
            recall = np.mean([len(set(truth[i]) & set(got[i])) / 10 for i in range(len(q))])
            params = ""
            if kind == "ivf-sq8":
                params = f" (nlist {_nlist(vi)}, nprobe {vi.nprobe})"
            elif kind == "hnsw":
                params = f" (M {vi.hnsw_m}, efSearch {vi.ef_search})"
            print(f"  {kind:<9} {build:8.1f} {mem:10.0f} {p50:8.2f} {p99:8.2f} {batch:14.3f} {recall:10.3f}{params}")
            del vi
        print(f"  (data: query top-1 cosine median {np.median(_top1(x, q)):.2f}, "
              f"query-to-random-point cosine median {np.median(q[:50] @ x[:2000].T):.2f})")
        del x


def _top1(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    best = np.full(len(q), -1.0, np.float32)
    for i in range(0, len(x), 200_000):
        best = np.maximum(best, (q @ x[i:i + 200_000].T).max(1))
    return best


def _nlist(vi: VectorIndex) -> int:
    import faiss

    return int(faiss.extract_index_ivf(vi.index).nlist)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracks", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--extractors", nargs="*", default=["classic-music", "musicnn"])
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--no-hnsw-1m", action="store_true", help="skip HNSW at 1 M vectors (2+ minutes to build)")
    ap.add_argument("--skip-indexing", action="store_true")
    ap.add_argument("--skip-search", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    if not args.skip_indexing:
        bench_indexing(args.tracks, args.seconds, args.extractors, args.workers)
    if not args.skip_search:
        bench_search(args.sizes, args.queries, not args.no_hnsw_1m)
    print(f"\ntotal {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
