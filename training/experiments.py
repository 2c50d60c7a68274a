"""``mvpt experiment ablation`` and ``mvpt experiment context``: the paper's Tables 1-2 rows
that apply to a feature dataset, and its Fig. 3 (accuracy against input sequence length).

Every run trains into ``OUT/runs/<name>`` and is evaluated on the test split with the
paper's protocol (``OUT/runs/<name>/test.json``, the same JSON as ``mvpt eval --json``).
``--reuse`` skips runs whose ``test.json`` exists. ``--jobs N`` trains N runs at once in
separate processes (useful on a GPU, whose small-model steps leave it mostly idle).
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.jobs import Job, Progress
from engine.jobs import run as run_job
from engine.model.checkpoint import load_checkpoint

from .dataset import open_store
from .evaluate import chance, evaluate
from .train import TrainConfig, resolve_device, train

# (table, row label, paper avg R@10 / median ranks V→M, M→V, run name, TrainConfig overrides, level)
SEGMENT_ROWS = [
    ("1 Baseline (MLP + triplet)", 4.33, "349 / 277", "baseline_segment", dict(model="baseline", baseline_level="segment")),
    ("3 + Transformers (music time)", 37.15, "27 / 26", "tf_music_triplet", dict(model="mvpt", segment_time="music", loss="triplet")),
    ("4 + Transformers (visual time)", 38.54, "24 / 24", "tf_visual_triplet", dict(model="mvpt", segment_time="visual", loss="triplet")),
    ("5 + InfoNCE (MVPt)", 42.37, "19 / 12", "mvpt_visual", dict(model="mvpt", segment_time="visual", loss="infonce")),
]
TRACK_ROWS = [
    ("1 Baseline (MLP + triplet, track means)", 9.86, "234 / 98", "baseline_track", dict(model="baseline", baseline_level="track")),
    ("4 + Transformers w/o position", 34.05, "24 / 21", "tf_none_triplet", dict(model="mvpt", segment_time="none", loss="triplet")),
    ("5 + Temporal embeddings", 39.50, "18 / 17", "tf_both_triplet", dict(model="mvpt", segment_time="both", loss="triplet")),
    ("6 + InfoNCE (time on both)", 42.27, "13 / 13", "mvpt_both", dict(model="mvpt", segment_time="both", loss="infonce")),
    ("6' MVPt (visual time), track level", 42.27, "13 / 13", "mvpt_visual", dict(model="mvpt", segment_time="visual", loss="infonce")),
]


@dataclass
class RunSpec:
    name: str
    overrides: dict[str, Any]
    eval_lengths: list[int] = field(default_factory=list)  # extra evaluations with shorter windows


def _base_config(data: str, out: Path, name: str, epochs: int | None, batch_size: int | None, device: str,
                 seed: int, threads: int | None, overrides: dict[str, Any]) -> TrainConfig:
    extra = {k: v for k, v in (("epochs", epochs), ("batch_size", batch_size)) if v is not None}
    return TrainConfig(data=data, out=str(out / "runs" / name), device=device, seed=seed, threads=threads,
                       **extra, **overrides)


def _train_and_eval(args: tuple[TrainConfig, int, int, list[int]]) -> dict[str, Any]:
    """Train one run, evaluate its best checkpoint on test (and at shorter windows)."""
    cfg, pool, pools, lengths = args
    t0 = time.perf_counter()
    res = run_job(train(cfg))
    device = resolve_device(cfg.device)
    loaded = load_checkpoint(Path(cfg.out) / "best", device=device)
    test = open_store(cfg.data).split("test")
    rep = evaluate(loaded.model, test, pool=pool, pools=pools, seed=cfg.seed, device=device)
    out = {"test": rep.result, "notes": rep.notes, "train_seconds": time.perf_counter() - t0,
           "epoch_seconds": sum(res.epoch_seconds) / max(1, len(res.epoch_seconds)),
           "segments_per_s": res.segments_per_second, "epochs": res.epochs_run, "by_length": {}}
    for L in lengths:
        out["by_length"][str(L)] = evaluate(loaded.model, test, pool=pool, pools=pools, seed=cfg.seed, L=L,
                                            device=device).result
    (Path(cfg.out) / "test.json").write_text(json.dumps(out, indent=2) + "\n")
    return out


def run_all(specs: list[tuple[TrainConfig, list[int]]], pool: int, pools: int, reuse: bool,
            jobs: int = 1) -> Job[dict[str, dict[str, Any]]]:
    results: dict[str, dict[str, Any]] = {}
    todo = []
    for cfg, lengths in specs:
        f = Path(cfg.out) / "test.json"
        if reuse and f.exists():
            results[Path(cfg.out).name] = json.loads(f.read_text())
        else:
            todo.append((cfg, pool, pools, lengths))
    yield Progress("experiment", len(results), len(specs), f"{len(todo)} runs to train")
    if jobs > 1 and len(todo) > 1:
        import multiprocessing as mp

        with ProcessPoolExecutor(min(jobs, len(todo)), mp_context=mp.get_context("spawn")) as ex:
            for args, out in zip(todo, ex.map(_train_and_eval, todo), strict=True):
                results[Path(args[0].out).name] = out
                yield Progress("experiment", len(results), len(specs), f"finished {Path(args[0].out).name}")
    else:
        for args in todo:
            name = Path(args[0].out).name
            yield Progress("experiment", len(results), len(specs), f"training {name}")
            results[name] = _train_and_eval(args)
    yield Progress("experiment", len(results), len(specs), "done")
    return results


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def _row(label: str, r: dict[str, Any], paper: float, paper_medr: str) -> str:
    v, m = r["v2m"], r["m2v"]
    return (f"| {label} | {v['median_rank']:.0f} / {m['median_rank']:.0f} | {_fmt(v['R@1'])} | {_fmt(v['R@5'])} | "
            f"{_fmt(v['R@10'])} | {_fmt(m['R@1'])} | {_fmt(m['R@5'])} | {_fmt(m['R@10'])} | **{_fmt(r['avg_R@10'])}** "
            f"| {paper:.2f} ({paper_medr}) |")


HEADER = ("| row | medR V→M / M→V | V→M R@1 | R@5 | R@10 | M→V R@1 | R@5 | R@10 | avg R@10 | paper avg R@10 (medR) |\n"
          "|---|---|---|---|---|---|---|---|---|---|")


def ablation(data: str, out: str, epochs: int | None = None, batch_size: int | None = None, device: str = "auto",
             pool: int = 2000, pools: int = 5, seed: int = 0, threads: int | None = None, reuse: bool = False,
             jobs: int = 1) -> Job[Path]:
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    names: dict[str, dict[str, Any]] = {}
    for rows in (SEGMENT_ROWS, TRACK_ROWS):
        for *_, name, ov in rows:
            names[name] = ov
    specs = [(_base_config(data, root, n, epochs, batch_size, device, seed, threads, ov), []) for n, ov in names.items()]
    results = yield from run_all(specs, pool, pools, reuse, jobs)
    any_r = next(iter(results.values()))["test"]
    n_seg, n_trk = any_r["queries"]["segment"], any_r["queries"]["track"]
    lines = [f"# Ablation on `{data}` (test split)", "",
             f"Pools of {n_seg} segments / {n_trk} tracks (requested {pool}, {pools} pools), Recall in %, "
             "median rank 1-based. Paper figures are YT8M-MusicVideo with pools of 2000 (chance R@10 0.5).", "",
             f"## Segment level (Table 1) — chance avg R@10 {chance(n_seg)['R@10']:.2f}, "
             f"median rank {chance(n_seg)['median_rank']:.0f}", "", HEADER]
    for label, paper, pm, name, _ in SEGMENT_ROWS:
        lines.append(_row(label, results[name]["test"]["segment"], paper, pm))
    lines += ["", f"## Track level (Table 2) — chance avg R@10 {chance(n_trk)['R@10']:.2f}, "
                  f"median rank {chance(n_trk)['median_rank']:.0f}", "", HEADER]
    for label, paper, pm, name, _ in TRACK_ROWS:
        lines.append(_row(label, results[name]["test"]["track"], paper, pm))
    base = results["baseline_segment"]["test"]["segment"]["avg_R@10"]
    mvpt = results["mvpt_visual"]["test"]["segment"]["avg_R@10"]
    lines += ["", f"MVPt / baseline, segment-level avg R@10: {mvpt:.2f} / {base:.2f} = "
                  f"**{mvpt / max(base, 1e-9):.1f}x** (paper: 42.37 / 4.33 = 9.8x).", "",
              "| run | epochs | s / epoch | segments / s |", "|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['epochs']} | {r['epoch_seconds']:.2f} | {r['segments_per_s']:.0f} |")
    report = root / "ablation.md"
    report.write_text("\n".join(lines) + "\n")
    (root / "ablation.json").write_text(json.dumps(results, indent=2) + "\n")
    return report


def context(data: str, out: str, lengths: list[int], checkpoint: str | None = None, epochs: int | None = None,
            batch_size: int | None = None, device: str = "auto", pool: int = 2000, pools: int = 5, seed: int = 0,
            threads: int | None = None, reuse: bool = False, jobs: int = 1, retrain: bool = True) -> Job[Path]:
    """R@10 against input length L (t fixed). Curves: one model trained at max(L), evaluated
    with windows of each L ("evaluated"), and, unless ``checkpoint`` is given or retrain is
    off, one model trained and evaluated at each L ("trained")."""
    from .plot import line_plot

    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    lengths = sorted(set(lengths), reverse=True)
    evaluated: dict[int, dict[str, Any]] = {}
    trained: dict[int, dict[str, Any]] = {}
    if checkpoint is not None:
        dev = resolve_device(device)
        loaded = load_checkpoint(checkpoint, device=dev)
        test = open_store(data).split("test")
        for i, L in enumerate(lengths):
            yield Progress("context", i, len(lengths), f"evaluating with L={L}")
            evaluated[L] = evaluate(loaded.model, test, pool=pool, pools=pools, seed=seed, L=L, device=dev).result
    else:
        top = max(lengths)
        specs = [(_base_config(data, root, f"mvpt_L{top}", epochs, batch_size, device, seed, threads,
                               dict(seq_len=top)), lengths)]
        if retrain:
            specs += [(_base_config(data, root, f"mvpt_L{L}", epochs, batch_size, device, seed, threads,
                                    dict(seq_len=L)), []) for L in lengths if L != top]
        specs.append((_base_config(data, root, "baseline_segment", epochs, batch_size, device, seed, threads,
                                   dict(model="baseline")), []))
        results = yield from run_all(specs, pool, pools, reuse, jobs)
        for L, r in results[f"mvpt_L{top}"]["by_length"].items():
            evaluated[int(L)] = r
        if retrain:
            for L in lengths:
                trained[L] = results[f"mvpt_L{L}"]["test"]
        base = results["baseline_segment"]["test"]["segment"]["avg_R@10"]
    series = {f"MVPt trained at L={max(lengths)}, evaluated at L": (lengths, [evaluated[L]["segment"]["avg_R@10"] for L in lengths])}
    if trained:
        series["MVPt trained and evaluated at L"] = (lengths, [trained[L]["segment"]["avg_R@10"] for L in lengths])
    hl = {"MLP baseline (no context)": base} if checkpoint is None else {}
    png = line_plot(root / "context.png", series, "Temporal context (segment level, t fixed)",
                    "input sequence length L (segments)", "avg R@10 (%)", hl)
    lines = [f"# Temporal context on `{data}` (test split, segment level)", "",
             "| L | " + " | ".join(series) + " |", "|---|" + "---|" * len(series)]
    for i, L in enumerate(lengths):
        lines.append(f"| {L} | " + " | ".join(f"{ys[i]:.2f}" for _, ys in series.values()) + " |")
    if hl:
        lines += ["", f"MLP baseline (segment level, no context): {base:.2f}"]
    lines += ["", f"![context curve]({png.name})"]
    report = root / "context.md"
    report.write_text("\n".join(lines) + "\n")
    (root / "context.json").write_text(json.dumps({"evaluated": evaluated, "trained": trained}, indent=2) + "\n")
    return report
