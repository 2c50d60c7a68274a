"""The starter model that ships in ``resources/starter/``: how it is built, judged and written.

``build_starter`` is a resumable job (Progress events, ``cancel``) run by
``mvpt starter build --root DIR`` (``make starter``):

1. **world**    ``ROOT/world``: the starter world (:mod:`training.starter_world`);
2. **dataset**  ``ROOT/dataset`` (training clips) and ``ROOT/held_out_dataset``, by
   ``training.build`` with musicnn for the music and the weightless classic visual extractor
   (CLIP weights are not everywhere; the starter must work for everyone);
3. **model**    ``ROOT/model``: ``training.train`` with the adaptive small-set recipe (a step
   budget with early stopping on 15 % of the training clips, a model sized for the set), on
   the CPU with fixed threads; retrained only when the data or settings change;
4. **proof**    on the held-out clips (footage and tracks never seen in training): is the
   clip's own track in the top 5 per scene (one entry per track, its best segment), and the
   whole-video rank of the own track ([CLS] against [CLS]), against pools of the held-out
   soundtracks alone and of every soundtrack of the world, with chance for each;
5. **write**    ``OUT`` (default ``resources/starter``): ``model.safetensors`` + ``config.json``
   through the normal checkpoint writer, marked ``"starter": true`` and saying what data built
   it, then ``MODEL_CARD.md``; ``ROOT/starter.json`` keeps the report.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.atomic import atomic_write_text
from engine.jobs import CancelCheck, Job, Progress, check_cancel, relabel
from engine.media.grid import DEFAULT_SEGMENT_SECONDS

from .build import BuildConfig, build_dataset
from .demo import pinned_threads
from .starter_world import StarterWorld, build_starter_world
from .train import TrainConfig, train

REPORT = "starter.json"
PINNED_RECIPE: dict[str, Any] = dict(
    steps=400, batch_size=27, lr=1e-3, weight_decay=0.1, warmup_epochs=6.7, tau=0.05, seq_len=24, d_model=64,
    n_layers=2, n_heads=4, ff_dim=128, hidden_dim=256, dropout=0.3, out_dim=128, patience=8, cls_mean=True,
    track_weight=0.0, augment=False, save_every=5, track_head=0)
"""What ``training.train``'s adaptive small-set recipe chose for this set when the shipped model
was built (83 training + 15 validation clips: the step budget with early stopping, width 64,
L 24, a [CLS] from the mean input with no loss of its own, and it is the track: the model predates
the context-free track path), pinned so that the command rebuilds
that very model (bit for bit, on one machine) while the recipe keeps evolving; None fields of
TrainConfig still come from the recipe (epochs from the step budget)."""
TOP_K = 5
COMMAND = "mvpt starter build --root /tmp/starter"


@dataclass(frozen=True)
class StarterConfig:
    root: str                                   # work folder: world, datasets, model run, report
    out: str | None = None                      # where the model goes (None: resources/starter)
    n_clips: int = 112                          # 8 per style: what ~45 minutes of this busy CPU render
    lengths: tuple[float, float] = (15, 300)    # clip lengths, seconds
    size: tuple[int, int] = (256, 144)          # the classic extractor reads frames at 144 px
    fps: float = 8.0                            # it reads 8 frames per 6.7 s segment (0.84 s apart)
    seed: int = 0
    held_out: tuple[int, int] = (14, 8)         # (block, every) of starter_world.split_of: clips 56-69
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    workers: int = 2                            # processes rendering the world, threads reading it
    threads: int | None = 1                     # torch threads (fixed: the same numbers on any core count)
    steps: int | None = None                    # None: the adaptive recipe's step budget
    recipe: dict[str, Any] | None = None        # TrainConfig settings (None: PINNED_RECIPE; {}: the recipe's)
    command: str = COMMAND                      # the command recorded in the card

    @classmethod
    def reduced(cls, root: str, **changes) -> StarterConfig:
        """Seconds, not minutes: 6 tiny clips (4 train, 2 held out), 3 s segments, 60 steps."""
        base = cls(root, n_clips=6, lengths=(9, 12), size=(64, 36), fps=6.0, held_out=(2, 3),
                   segment_seconds=3.0, workers=1, steps=60, recipe={},
                   command=f"mvpt starter build --root {root} --reduced")
        return replace(base, **changes)


@dataclass
class Proof:
    pool: str                 # "held-out" (unseen tracks only) or "all" (every soundtrack of the world)
    tracks: int               # tracks in the pool
    segments: int             # held-out scenes judged
    hits: int                 # scenes whose top 5 holds the clip's own track
    ranks: list[int]          # whole-video rank of the own track, per held-out clip

    @property
    def rate(self) -> float:
        return self.hits / max(1, self.segments)

    @property
    def chance(self) -> float:
        return min(1.0, TOP_K / max(1, self.tracks))

    @property
    def median_rank(self) -> float:
        return float(np.median(self.ranks)) if self.ranks else float("nan")


@dataclass
class StarterReport:
    root: str
    out: str
    train_clips: int
    held_out_clips: int
    footage_hours: float
    styles: dict[str, int]
    train: dict = field(default_factory=dict)     # the resolved recipe, steps, why it stopped
    proofs: list[Proof] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    size_bytes: int = 0

    def save(self) -> Path:
        p = Path(self.root) / REPORT
        atomic_write_text(p, json.dumps(asdict(self), indent=1) + "\n")
        return p


def default_out() -> Path:
    from engine.paths import STARTER, resource_dir

    return resource_dir() / STARTER


def build_starter(cfg: StarterConfig, cancel: CancelCheck | None = None) -> Job[StarterReport]:
    """Build (or bring up to date) the starter model; yields Progress, returns the report."""
    with pinned_threads(cfg.threads):
        return (yield from _build(cfg, cancel))


def _build(cfg: StarterConfig, cancel: CancelCheck | None) -> Job[StarterReport]:
    root = Path(cfg.root)
    root.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    try:  # a stage this run only reused keeps the time it took when it did its work
        before = {k: float(v) for k, v in load_report(root).get("seconds", {}).items()}
    except (OSError, ValueError, AttributeError):
        before = {}

    def timed(stage: str, t0: float, worked: bool) -> None:
        took = round(time.perf_counter() - t0, 1)
        seconds[stage] = took if worked or stage not in before else before[stage]

    t0 = time.perf_counter()
    world = yield from relabel(build_starter_world(
        root / "world", cfg.n_clips, lengths=cfg.lengths, size=cfg.size, fps=cfg.fps, seed=cfg.seed,
        workers=cfg.workers, held_out=cfg.held_out, cancel=cancel), "world")
    timed("world", t0, world.rendered > 0)

    t0 = time.perf_counter()
    built = 0
    data, held = root / "dataset", root / "held_out_dataset"
    for folder, out in ((world.footage_dir, data), (world.held_out_dir, held)):
        rep = yield from relabel(build_dataset(BuildConfig(
            folder=str(folder), out=str(out), workers=cfg.workers, segment_seconds=cfg.segment_seconds,
            visual="classic", music="musicnn", seed=cfg.seed, val_fraction=0.0, test_fraction=0.0), cancel),
            "dataset")
        if rep.failed:
            raise RuntimeError(f"the starter dataset could not read {len(rep.failed)} clips: {rep.failed[0][1]}")
        built += rep.built
    timed("dataset", t0, built > 0)

    t0 = time.perf_counter()
    run_dir, recipe = yield from _train_model(cfg, data, root / "model", cancel)
    timed("model", t0, not recipe.pop("reused", False))  # a flag for the timing, not part of the report

    t0 = time.perf_counter()
    check_cancel(cancel)
    yield Progress("proof", 0, 1, "ranking the held-out clips")
    from engine.model.checkpoint import load_checkpoint

    loaded = load_checkpoint(run_dir / "best", device="cpu")
    proofs = held_out_proofs(loaded, data, held)
    timed("proof", t0, True)

    train_clips = [c for c in world.clips if c.split == "train"]
    styles: dict[str, int] = {}
    for c in world.clips:
        styles[c.style] = styles.get(c.style, 0) + 1
    out = Path(cfg.out) if cfg.out else default_out()
    report = StarterReport(str(root), str(out), len(train_clips), len(world.clips) - len(train_clips),
                           round(sum(c.seconds for c in world.clips) / 3600, 2), styles, recipe, proofs, seconds)
    yield Progress("write", 0, 1, str(out))
    write_starter(loaded, out, cfg, world, report)
    report.save()
    yield Progress("write", 1, 1, "done")
    return report


def _train_config(cfg: StarterConfig, data: Path, out: Path) -> TrainConfig:
    # the adaptive small-set recipe's choices for this set, pinned (PINNED_RECIPE); the CPU and fixed
    # threads keep it reproducible
    settings = dict(PINNED_RECIPE if cfg.recipe is None else cfg.recipe)
    if cfg.steps is not None:
        settings["steps"] = cfg.steps
    return TrainConfig(data=str(data), out=str(out), seed=cfg.seed, device="cpu", threads=cfg.threads, **settings)


def _train_model(cfg: StarterConfig, data: Path, out: Path, cancel: CancelCheck | None) -> Job[tuple[Path, dict]]:
    """Train unless ``out`` holds a model made from this data with these settings; returns the
    run folder and the resolved recipe."""
    from .dataset import manifest_sha256

    tcfg = _train_config(cfg, data, out)
    stamp = hashlib.sha256(json.dumps([manifest_sha256(data), asdict(tcfg)], sort_keys=True).encode()).hexdigest()
    stamp_file, recipe_file = out / "starter-stamp.txt", out / "starter-recipe.json"
    if (out / "best" / "config.json").is_file() and stamp_file.is_file() and recipe_file.is_file() \
            and stamp_file.read_text().strip() == stamp:
        yield Progress("model", 1, 1, "the starter model is up to date")
        return out, {**json.loads(recipe_file.read_text()), "reused": True}
    stamp_file.unlink(missing_ok=True)
    result = yield from relabel(train(tcfg, cancel), "model")
    resolved = asdict(result.config) if result.config is not None else {}
    recipe = {"steps": result.steps, "stopped": result.stopped, "best_val_score": result.best_score,
              "warnings": result.warnings, "notes": result.notes,
              "settings": {k: resolved.get(k) for k in ("steps", "batch_size", "lr", "weight_decay", "tau", "seq_len",
                                                         "d_model", "n_layers", "n_heads", "ff_dim", "out_dim",
                                                         "dropout", "patience")}}
    atomic_write_text(recipe_file, json.dumps(recipe, indent=1, default=str) + "\n")
    stamp_file.write_text(stamp + "\n")
    return out, recipe


# -- the proof -------------------------------------------------------------------------------

def _encode_all(loaded, store) -> tuple[list, list]:
    """Per item of ``store``'s "train" split: (visual Encoded, music Encoded)."""
    split = store.split("train")
    items = [split.item(k) for k in range(len(split))]
    vis = loaded.encode_many("visual", [np.array(v, np.float32) for v, _ in items])  # copies: memmaps are read-only
    mus = loaded.encode_many("music", [np.array(m, np.float32) for _, m in items])
    return vis, mus


def held_out_proofs(loaded, train_data: Path, held_data: Path) -> list[Proof]:
    """The held-out figures against two pools: the held-out soundtracks alone (every track
    unseen), and every soundtrack of the world (the training ones as distractors)."""
    from .dataset import open_store

    hv, hm = _encode_all(loaded, open_store(held_data))
    _, tm = _encode_all(loaded, open_store(train_data))
    return [rank_pool("held-out", hv, hm), rank_pool("all", hv, hm + tm)]


def rank_pool(name: str, videos: list, pool: list) -> Proof:
    """Video ``i``'s own track is ``pool[i]``. Per scene: the pool's tracks ranked by their
    best-matching segment (one entry per track, as the app lists them); per video: tracks
    ranked by [CLS] similarity."""
    seg = np.concatenate([p.segments for p in pool])                    # [S, d]
    owner = np.concatenate([np.full(len(p.segments), j) for j, p in enumerate(pool)])
    cls = np.stack([p.cls for p in pool])                               # [N, d]
    hits = segments = 0
    ranks = []
    for i, v in enumerate(videos):
        sim = v.segments @ seg.T                                        # [T, S]
        best = np.full((len(v.segments), len(pool)), -np.inf, np.float32)
        np.maximum.at(best.T, owner, sim.T)                             # [T, N]: best segment per track
        own = best[:, i:i + 1]
        hits += int(((best > own).sum(axis=1) < TOP_K).sum())
        segments += len(v.segments)
        whole = cls @ v.cls                                             # [N]
        ranks.append(int((whole > whole[i]).sum()) + 1)
    return Proof(name, len(pool), segments, hits, ranks)


# -- writing the model -----------------------------------------------------------------------

def write_starter(loaded, out: Path, cfg: StarterConfig, world: StarterWorld, report: StarterReport) -> None:
    """``out/model.safetensors`` + ``config.json`` (the normal writer, atomic), then the card."""
    from engine.model.checkpoint import save_checkpoint

    ck = loaded.config
    ck.data = {"starter": True, "train_videos": report.train_clips, "held_out_videos": report.held_out_clips,
               "manifest_sha256": ck.data.get("manifest_sha256"),
               "world": {"generator": "training.starter_world", "version": _world_version(), "seed": cfg.seed,
                         "clips": cfg.n_clips, "lengths_s": list(cfg.lengths), "size": list(cfg.size),
                         "fps": cfg.fps, "styles": report.styles, "footage_hours": report.footage_hours},
               "built_by": cfg.command,
               "what": "generated music videos only: synthesized music, procedural footage (no real footage, "
                       "no people); classic weightless visual features and musicnn music features"}
    metrics = {f"heldout_{p.pool}_top{TOP_K}": round(p.rate, 4) for p in report.proofs}
    metrics.update({f"heldout_{p.pool}_chance": round(p.chance, 4) for p in report.proofs})
    metrics.update({f"heldout_{p.pool}_median_whole_rank": p.median_rank for p in report.proofs})
    save_checkpoint(out, loaded.model, ck, metrics=metrics)
    report.size_bytes = sum(f.stat().st_size for f in out.iterdir() if f.is_file())  # weights + config
    from .starter_card import model_card

    atomic_write_text(out / "MODEL_CARD.md", model_card(cfg, report, ck))


def _world_version() -> int:
    from .starter_world import VERSION

    return VERSION


def load_report(root: str | os.PathLike[str]) -> dict:
    return json.loads((Path(root) / REPORT).read_text())
