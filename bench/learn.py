"""Small sets and learning from a creator's edits, side by side, on generated features.

    python bench/learn.py --quick               # 100 and 300 pairs (no fixed-recipe column), 10 and 25
                                                # edits on a 300-pair base: ~12 min from the per-run
                                                # times measured at load 4-10 on 2 cores
    python bench/learn.py                       # 100/300/1,000/3,000 pairs; 10/25/50/100 edits
    python bench/learn.py --part sizes|creator  # one half only
    python bench/learn.py --part sizes --sizes 3000 --steps 150   # the same step budget for every model
                                                # (what a loaded 2-core CPU allows in an hour)
    python bench/learn.py --part laptop --laptop-videos 6
    python bench/learn.py --json out.json --work DIR   # keep the runs; part 2 reuses part 1's base

Part 1, "sizes": N generated music-video pairs of 1–30 segments (``training.synth``'s world:
shared style, sections and events seen through two different fixed random feature maps,
with per-video offsets and per-segment noise). All N pairs are the training data (the
trainer holds out 15 % of them for its own early stopping, as it does for a creator's set);
the test is 300 other videos of the same world. Three models, each trained with its
defaults for the set's size (``training.train.plan``):

- **MVPt defaults**: ``TrainConfig(data, out)`` with nothing else set (its track embedding:
  the context-free track path's mean plus a quarter of the [CLS], ``MVPTConfig.track_head``).
- **MLP InfoNCE**: the per-segment two-layer MLP (``--model baseline``) with InfoNCE.
- **track mean**: the same MLP on each video's mean feature (``--baseline-level track``).

Held-out R@1 / R@10, both directions averaged, at track level (pool: the 300 test videos)
and segment level (pools of 2,000 segments).

Part 2, "creator": a creator whose taste differs from the base world. The base model is
trained on 1,000 pairs of the base world. The creator's edits come from a second world that
shares the footage and the music of the first (the same feature maps, the same genres) but
pairs them by another rule: the music of each edit is drawn from a genre the creator
assigns to the footage's genre (a fixed permutation: "piano on dark footage, drums on fast
cuts"), with the creator's own sections. 10/25/50/100 edits; 20 % of them held out (at least
4, by video: what ``learn`` decides on) plus 200 more edits by the same creator as the test,
in 5 pools of 40. Hit rate: the share of test scenes whose own track is in the top 5 of
their pool's 40 tracks (per-scene best segment), and the whole-video rank of the own track,
averaged over the pools; for the base model, the fine-tuned one
(``training.learn.finetune_features``, the code path of ``mvpt learn``) and one trained
from scratch on the edits alone (defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engine.jobs import run  # noqa: E402
from engine.model.checkpoint import load_checkpoint  # noqa: E402
from training.dataset import open_store  # noqa: E402
from training.evaluate import evaluate  # noqa: E402
from training.synth import SYNTH_MUSIC_ID, SYNTH_VISUAL_ID, SynthConfig, SynthWorld  # noqa: E402
from training.train import TrainConfig, train  # noqa: E402

WORLD = SynthConfig(min_segments=1, max_segments=30, noise=3.0)
TEST_VIDEOS = 300
CREATOR_TEST = 200
"""The creator's test edits (5 pools of 40): one pool of 40 left a row's figures ±3 points apart
between fine-tuning variants that did not differ."""


def write_dataset(root: Path, videos: list[tuple[np.ndarray, np.ndarray]], splits: dict[str, list[int]],
                  seg_seconds: float = 6.7) -> Path:
    """videos[i] = (visual [T, Dv], music [T, Dm]); splits: name -> indices."""
    (root / "items").mkdir(parents=True, exist_ok=True)
    ids = [f"v{i:05d}" for i in range(len(videos))]
    for i, (v, m) in zip(ids, videos, strict=True):
        np.savez(root / "items" / f"{i}.npz", visual=v, music=m)
    man = {"format": "mvpt-features", "version": 1, "segment_seconds": seg_seconds,
           "splits": {k: [ids[j] for j in splits.get(k, [])] for k in ("train", "val", "test")},
           "extractors": {"visual": {"id": SYNTH_VISUAL_ID, "dim": int(videos[0][0].shape[1])},
                          "music": {"id": SYNTH_MUSIC_ID, "dim": int(videos[0][1].shape[1])}}}
    (root / "manifest.json").write_text(json.dumps(man))
    return root


def base_videos(world: SynthWorld, n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for i in range(n):
        v = world.video(np.random.default_rng([seed, 2, i]))
        out.append((v.visual, v.music))
    return out


def _summ(res: dict) -> dict:
    return {lv: {"R@1": 0.5 * (res[lv]["v2m"]["R@1"] + res[lv]["m2v"]["R@1"]),
                 "R@10": 0.5 * (res[lv]["v2m"]["R@10"] + res[lv]["m2v"]["R@10"])} for lv in ("segment", "track")}


def part_sizes(sizes: list[int], work: Path, threads: int, world_cfg: SynthConfig = WORLD,
               with_fixed: bool = True, steps: int | None = None) -> list[dict]:
    """``steps``: a step budget for every model (the schedule runs its course within it; None:
    each model's own default)."""
    world = SynthWorld(world_cfg)
    test = base_videos(world, TEST_VIDEOS, seed=9001)
    rows = []
    for n in sizes:
        data = write_dataset(work / f"pairs{n}", base_videos(world, n, seed=1) + test,
                             {"train": list(range(n)), "test": list(range(n, n + TEST_VIDEOS))})
        split = open_store(data).split("test")
        row = {"pairs": n}
        models = [("mvpt", {}), ("mlp_infonce", dict(model="baseline", loss="infonce")),
                  ("track_mean", dict(model="baseline", loss="infonce", baseline_level="track"))]
        # below LARGE_SET the defaults differ from the fixed recipe they replaced; that recipe counts
        # epochs, so it has no place beside a step budget given to every model
        if n < 1000 and with_fixed and steps is None:
            models.append(("mvpt_fixed_30_epochs", dict(epochs=30)))
        for name, extra in models:
            t0 = time.perf_counter()
            res = run(train(TrainConfig(data=str(data), out=str(work / f"run{n}_{name}"), device="cpu",
                                        threads=threads, steps=steps, **extra)))
            loaded = load_checkpoint(res.run / "best")
            with torch.no_grad():
                rep = evaluate(loaded.model, split, pool=2000, pools=3, seed=0)
            row[name] = {**_summ(rep.result), "steps": res.steps, "stopped": res.stopped,
                         "seconds": round(time.perf_counter() - t0, 1)}
            print(f"  {n:5d} pairs  {name:<20} seg R@1 {row[name]['segment']['R@1']:6.2f} R@10 "
                  f"{row[name]['segment']['R@10']:6.2f} | track R@1 {row[name]['track']['R@1']:6.2f} "
                  f"R@10 {row[name]['track']['R@10']:6.2f}  ({res.steps} steps, {res.stopped}, "
                  f"{row[name]['seconds']} s)", flush=True)
        rows.append(row)
    return rows


# --- part 2: a creator whose pairing rule differs from the base world ----------------------

class CreatorWorld(SynthWorld):
    """The base world's footage and music (same maps, genres, prototypes), paired by the
    creator's rule: the music's genre is ``taste[footage genre]`` and its own section
    instances, so the base model's "same genre, same sections" match is wrong for them."""

    def __init__(self, cfg: SynthConfig, taste: np.ndarray) -> None:
        super().__init__(cfg)
        self.taste = taste

    def edit(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.cfg
        pic = self.video(rng)
        T = pic.visual.shape[0]
        g = int(self.taste[pic.genre])
        z = self.genre_centroids[g] + cfg.style_spread * rng.normal(size=cfg.style_dim)
        # the creator cuts the picture on the music's sections: keep the boundaries, new instances
        c = np.zeros((T, cfg.section_dim), dtype=np.float32)
        for t in range(T):
            if t == 0 or pic.boundaries[t]:
                k = int(rng.choice(cfg.section_types, p=self.genre_pref[g]))
                cur = self.prototypes[k] + cfg.instance_spread * rng.normal(size=cfg.section_dim)
            c[t] = cur
        e = rng.normal(size=(T, cfg.event_dim)).astype(np.float32)
        u = np.concatenate([cfg.style_gain * np.broadcast_to(z, (T, cfg.style_dim)), cfg.section_gain * c,
                            cfg.event_gain * e], axis=1)
        music = self.f_music(u) + cfg.offset_scale * rng.normal(size=cfg.music_dim)
        music = music + cfg.noise * rng.normal(size=music.shape)
        return pic.visual, music.astype(np.float32)


TEST_POOL = 40
"""Creator test edits per pool: each pool's scenes are ranked against its own 40 tracks (chance
12.5 % at top 5); the figures are the mean over the pools."""


def hit_rates(model, videos: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Top-5 hit rate and whole-video rank on ``videos`` in pools of TEST_POOL, averaged."""
    from training.learn import scene_hits

    rows = [scene_hits(model, [torch.from_numpy(v) for v, _ in videos[a:a + TEST_POOL]],
                       [torch.from_numpy(m) for _, m in videos[a:a + TEST_POOL]])
            for a in range(0, len(videos), TEST_POOL)]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def part_creator(edit_counts: list[int], work: Path, threads: int, base_pairs: int = 1000,
                 finetune_lr: float | None = None) -> list[dict]:
    from training.learn import finetune_features

    world = SynthWorld(WORLD)
    reuse = work.parent / "sizes" / f"run{base_pairs}_mvpt" / "best"  # part 1 trained the same model
    if (reuse / "config.json").exists():
        base_ck = reuse
    else:
        base_data = write_dataset(work / "base", base_videos(world, base_pairs, seed=1),
                                  {"train": list(range(base_pairs))})
        base_run = run(train(TrainConfig(data=str(base_data), out=str(work / "base_run"), device="cpu",
                                         threads=threads)))
        base_ck = base_run.run / "best"
    taste = np.random.default_rng(77).permutation(WORLD.genres)
    creator = CreatorWorld(WORLD, taste)
    test = [creator.edit(np.random.default_rng([5, i])) for i in range(CREATOR_TEST)]
    base_model = load_checkpoint(base_ck).model
    rows = []
    for n in edit_counts:
        edits = [creator.edit(np.random.default_rng([6, i])) for i in range(n)]
        n_hold = max(4, round(0.2 * n))
        data = write_dataset(work / f"edits{n}", edits, {"train": list(range(n - n_hold)),
                                                         "test": list(range(n - n_hold, n))})
        t0 = time.perf_counter()
        ft = finetune_features(data, base_ck, work / f"ft{n}", threads=threads, budget_s=600,
                               **({"lr": finetune_lr} if finetune_lr else {}))
        ft_s = time.perf_counter() - t0
        scratch_dir = work.parent / "creator" / f"scratch{n}"  # the same for every fine-tuning variant
        if not (scratch_dir / "best" / "config.json").exists():
            run(train(TrainConfig(data=str(data), out=str(scratch_dir), device="cpu", threads=threads)))
        dec = ft.decision
        row = {"edits": n, "held_out_for_choice": n_hold, "finetune_seconds": round(ft_s, 1),
               "chose_new": ft.better, "verdict": dec.verdict, "gain": dec.gain, "gain_low": dec.low,
               "gain_high": dec.high, "base": hit_rates(base_model, test),
               "finetuned": hit_rates(load_checkpoint(ft.checkpoint).model, test),
               "scratch": hit_rates(load_checkpoint(scratch_dir / "best").model, test)}
        row["switched"] = row["finetuned"] if ft.better else row["base"]
        rows.append(row)
        print(f"  {n:4d} edits  top-5 hit base {row['base']['hit@5']:5.1f}  fine-tuned {row['finetuned']['hit@5']:5.1f}"
              f"  scratch {row['scratch']['hit@5']:5.1f}  (chance {row['base']['chance@5']:.1f}) | whole-video rank "
              f"{row['base']['median_rank']:.1f} / {row['finetuned']['median_rank']:.1f} / "
              f"{row['scratch']['median_rank']:.1f} | held-out verdict: {dec.verdict} ({dec.gain:+.1f}, interval "
              f"{'-' if dec.low is None else f'{dec.low:+.1f} to {dec.high:+.1f}'}) ({ft_s:.0f} s)", flush=True)
    return rows


# --- part 3: is it practical on a laptop CPU? ----------------------------------------------

def part_laptop(work: Path, threads: int, videos: int = 3, seconds: tuple[float, float] = (120.0, 180.0)) -> dict:
    """Measure ``learn`` end to end on ``videos`` rendered edits of 2–3 minutes (the demo's
    music and footage generators, 640×360), with this machine's default extractors, then the
    fine-tuning step time on 50 edits' worth of features; extrapolate to 50 edits of 2–4 min."""
    from engine.features.registry import default_extractors
    from engine.media.probe import probe
    from engine.model.checkpoint import CheckpointConfig, save_checkpoint
    from engine.model.config import MVPTConfig
    from engine.model.factory import build_model
    from training.demo_footage import write_clip
    from training.demo_music import SR, plan_track, render_track
    from training.learn import learn
    from training.train import auto_recipe

    edits = work / "edits"
    edits.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for i in range(videos):
        path = edits / f"edit_{i}.mp4"
        if not path.exists():
            spec = plan_track(i * 3, 5, seconds)
            tmp = edits / f".edit_{i}.partial.mp4"
            run(write_clip(tmp, spec, render_track(spec), SR, spec.duration, threads=threads))
            os.replace(tmp, path)
    render_s = time.perf_counter() - t0
    minutes = sum(probe(p).duration for p in edits.glob("*.mp4")) / 60
    vx, mx = default_extractors("cpu")
    r = auto_recipe(40, np.full(40, 27))
    mcfg = MVPTConfig(visual_dim=vx.dim, music_dim=mx.dim, d_model=128, n_layers=2, n_heads=4, ff_dim=256,
                      out_dim=128, seq_len=int(r["seq_len"]), dropout=0.2)
    base = work / "base"
    torch.manual_seed(0)
    save_checkpoint(base, build_model(mcfg), CheckpointConfig(
        model=mcfg, features={"visual": {"id": vx.id, "dim": vx.dim}, "music": {"id": mx.id, "dim": mx.dim}},
        segment_seconds=6.7, seq_len=mcfg.seq_len))
    res = run(learn(edits, base, work / "out", budget_minutes=30, threads=threads, steps=60))
    feat_per_min = res.seconds["features"] / minutes
    # fine-tuning steps on 50 edits (40 learned from) of 18–36 segments, at the real dims
    rng = np.random.default_rng(0)
    vids = [(rng.normal(size=(t, vx.dim)).astype(np.float32), rng.normal(size=(t, mx.dim)).astype(np.float32))
            for t in rng.integers(18, 37, 50)]
    data = write_dataset(work / "feats50", vids, {"train": list(range(40)), "test": list(range(40, 50))})
    t1 = time.perf_counter()
    ft = run(train(TrainConfig(data=str(data), out=str(work / "ft50"), init=str(base), steps=100, patience=0,
                               device="cpu", threads=threads)))
    step_s = (time.perf_counter() - t1) / max(1, ft.steps)
    recipe_steps = int(r["steps"])
    est_min = (50 * 3.0 * feat_per_min + recipe_steps * step_s) / 60
    out = {"videos": videos, "video_minutes": round(minutes, 2), "render_seconds": round(render_s, 1),
           "extractors": [vx.id, mx.id], "features_seconds": res.seconds["features"],
           "features_seconds_per_video_minute": round(feat_per_min, 2), "finetune_step_seconds": round(step_s, 3),
           "recipe_steps_for_40_edits": recipe_steps, "skipped": [s.reason for s in res.skipped],
           "estimate_50_edits_of_3_min_minutes": round(est_min, 1)}
    print(f"  {videos} rendered edits, {minutes:.1f} min of video: features {res.seconds['features']:.0f} s "
          f"({feat_per_min:.1f} s per minute of video, {vx.id} + {mx.id}); fine-tuning {step_s:.2f} s per step "
          f"x {recipe_steps} steps at most for 40 edits\n  -> 50 edits of 3 min (150 min of video): "
          f"~{est_min:.0f} min end to end on this CPU with {threads} thread(s)", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100/300 pairs and 10/25 edits")
    ap.add_argument("--part", choices=["sizes", "creator", "laptop", "both"], default="both",
                    help="both = sizes + creator; laptop: end-to-end time of mvpt learn on rendered edits")
    ap.add_argument("--sizes", default=None, help="comma-separated pair counts")
    ap.add_argument("--edits", default=None, help="comma-separated edit counts")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--laptop-videos", type=int, default=3, help="part laptop: edits to render and read")
    ap.add_argument("--base-pairs", type=int, default=None,
                    help="part 2: base-world pairs the base model learns from (default 1000; --quick: 300)")
    ap.add_argument("--finetune-lr", type=float, default=None, help="part 2: fine-tuning learning rate (default 3e-4)")
    ap.add_argument("--steps", type=int, default=None,
                    help="part 1: the same step budget for every model (a loaded CPU; default: their own); "
                         "leaves out the fixed recipe, which counts epochs")
    ap.add_argument("--no-fixed", action="store_true", help="part 1 without the fixed-recipe column below 1,000")
    ap.add_argument("--one-segment", action="store_true",
                    help="part 1 with pairs of one segment each (a set of short clips or stills)")
    ap.add_argument("--work", default=None, help="keep the generated data and runs here")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    sizes = [int(x) for x in (a.sizes or ("100,300" if a.quick else "100,300,1000,3000")).split(",")]
    edits = [int(x) for x in (a.edits or ("10,25" if a.quick else "10,25,50,100")).split(",")]
    if a.base_pairs is None:
        a.base_pairs = 300 if a.quick else 1000
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="mvpt-bench-learn-"))
    out: dict = {"world": {k: v for k, v in WORLD.__dict__.items()}, "threads": a.threads}
    t0 = time.perf_counter()
    try:
        if a.part == "laptop":
            print("part 3: mvpt learn end to end on rendered edits")
            out["laptop"] = part_laptop(work / "laptop", a.threads, videos=a.laptop_videos)
        if a.part in ("sizes", "both"):
            print(f"part 1: defaults vs baselines, held-out test of {TEST_VIDEOS} videos")
            wc = replace(WORLD, min_segments=1, max_segments=1) if a.one_segment else WORLD
            out["sizes"] = part_sizes(sizes, work / ("sizes1" if a.one_segment else "sizes"), a.threads, wc,
                                      with_fixed=not (a.quick or a.no_fixed), steps=a.steps)
        if a.part in ("creator", "both"):
            print(f"part 2: a creator's taste (base model on {a.base_pairs} pairs of the base world)")
            out["creator"] = part_creator(edits, work / ("creator" if not a.finetune_lr else f"creator_lr{a.finetune_lr:g}"),
                                          a.threads, base_pairs=a.base_pairs, finetune_lr=a.finetune_lr)
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"total {out['seconds']} s")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
