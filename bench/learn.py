"""Small sets and learning from a creator's edits, side by side, on generated features.

    python bench/learn.py --quick               # 100 and 300 pairs, 10 and 25 edits (≲ 15 min, 2 cores)
    python bench/learn.py                       # 100/300/1,000/3,000 pairs; 10/25/50/100 edits
    python bench/learn.py --part sizes|creator  # one half only
    python bench/learn.py --json out.json

Part 1, "sizes": N generated music-video pairs of 1–30 segments (``training.synth``'s world:
shared style, sections and events seen through two different fixed random feature maps,
with per-video offsets and per-segment noise). All N pairs are the training data (the
trainer holds out 15 % of them for its own early stopping, as it does for a creator's set);
the test is 300 other videos of the same world. Three models, each trained with its
defaults for the set's size (``training.train.plan``):

- **MVPt defaults**: ``TrainConfig(data, out)`` with nothing else set.
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
4, by video) plus 40 more edits by the same creator as the test. Hit rate: the share of
test scenes whose own track is in the top 5 of all test tracks (per-scene best segment),
and the whole-video rank of the own track; for the base model, the fine-tuned one
(``training.learn.finetune_features``, the code path of ``mvpt learn``) and one trained
from scratch on the edits alone (defaults).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
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


def part_sizes(sizes: list[int], work: Path, threads: int) -> list[dict]:
    world = SynthWorld(WORLD)
    test = base_videos(world, TEST_VIDEOS, seed=9001)
    rows = []
    for n in sizes:
        data = write_dataset(work / f"pairs{n}", base_videos(world, n, seed=1) + test,
                             {"train": list(range(n)), "test": list(range(n, n + TEST_VIDEOS))})
        split = open_store(data).split("test")
        row = {"pairs": n}
        models = [("mvpt", {}), ("mlp_infonce", dict(model="baseline", loss="infonce")),
                  ("track_mean", dict(model="baseline", loss="infonce", baseline_level="track"))]
        if n < 1000:  # below LARGE_SET the defaults differ from the fixed recipe they replaced
            models.append(("mvpt_fixed_30_epochs", dict(epochs=30)))
        for name, extra in models:
            t0 = time.perf_counter()
            res = run(train(TrainConfig(data=str(data), out=str(work / f"run{n}_{name}"), device="cpu",
                                        threads=threads, **extra)))
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


def hit_rates(model, videos: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    from training.learn import scene_hits

    return scene_hits(model, [torch.from_numpy(v) for v, _ in videos], [torch.from_numpy(m) for _, m in videos])


def part_creator(edit_counts: list[int], work: Path, threads: int, base_pairs: int = 1000) -> list[dict]:
    from training.learn import finetune_features

    world = SynthWorld(WORLD)
    base_data = write_dataset(work / "base", base_videos(world, base_pairs, seed=1), {"train": list(range(base_pairs))})
    base_run = run(train(TrainConfig(data=str(base_data), out=str(work / "base_run"), device="cpu", threads=threads)))
    base_ck = base_run.run / "best"
    taste = np.random.default_rng(77).permutation(WORLD.genres)
    creator = CreatorWorld(WORLD, taste)
    test = [creator.edit(np.random.default_rng([5, i])) for i in range(40)]
    base_model = load_checkpoint(base_ck).model
    rows = []
    for n in edit_counts:
        edits = [creator.edit(np.random.default_rng([6, i])) for i in range(n)]
        n_hold = max(4, round(0.2 * n))
        data = write_dataset(work / f"edits{n}", edits, {"train": list(range(n - n_hold)),
                                                         "test": list(range(n - n_hold, n))})
        t0 = time.perf_counter()
        ft = finetune_features(data, base_ck, work / f"ft{n}", threads=threads, budget_s=600)
        ft_s = time.perf_counter() - t0
        scratch = run(train(TrainConfig(data=str(data), out=str(work / f"scratch{n}"), device="cpu",
                                        threads=threads)))
        row = {"edits": n, "held_out_for_choice": n_hold, "finetune_seconds": round(ft_s, 1),
               "chose_new": ft.better, "base": hit_rates(base_model, test),
               "finetuned": hit_rates(load_checkpoint(ft.checkpoint).model, test),
               "scratch": hit_rates(load_checkpoint(scratch.run / "best").model, test)}
        row["switched"] = row["finetuned"] if ft.better else row["base"]
        rows.append(row)
        print(f"  {n:4d} edits  top-5 hit base {row['base']['hit@5']:5.1f}  fine-tuned {row['finetuned']['hit@5']:5.1f}"
              f"  scratch {row['scratch']['hit@5']:5.1f}  (chance {row['base']['chance@5']:.1f}) | whole-video rank "
              f"{row['base']['median_rank']:.1f} / {row['finetuned']['median_rank']:.1f} / "
              f"{row['scratch']['median_rank']:.1f} | switched: {ft.better} ({ft_s:.0f} s)", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100/300 pairs and 10/25 edits")
    ap.add_argument("--part", choices=["sizes", "creator", "both"], default="both")
    ap.add_argument("--sizes", default=None, help="comma-separated pair counts")
    ap.add_argument("--edits", default=None, help="comma-separated edit counts")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work", default=None, help="keep the generated data and runs here")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    sizes = [int(x) for x in (a.sizes or ("100,300" if a.quick else "100,300,1000,3000")).split(",")]
    edits = [int(x) for x in (a.edits or ("10,25" if a.quick else "10,25,50,100")).split(",")]
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="mvpt-bench-learn-"))
    out: dict = {"world": {k: v for k, v in WORLD.__dict__.items()}, "threads": a.threads}
    t0 = time.perf_counter()
    try:
        if a.part in ("sizes", "both"):
            print(f"part 1: defaults vs baselines, held-out test of {TEST_VIDEOS} videos")
            out["sizes"] = part_sizes(sizes, work / "sizes", a.threads)
        if a.part in ("creator", "both"):
            print("part 2: a creator's taste (base model on 1,000 pairs of the base world)")
            out["creator"] = part_creator(edits, work / "creator", a.threads)
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
