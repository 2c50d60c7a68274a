"""Training MVPT and the MLP baseline on a feature dataset.

:func:`train` is a job (``Generator[Progress, None, TrainResult]``): the CLI wraps it with a
progress bar, tests drive it with :func:`engine.jobs.run`. AdamW, linear warm-up then cosine
decay, gradient clipping, AMP (bf16, else fp16 with loss scaling) on CUDA, seeds fixed per
epoch (so ``--resume`` continues exactly at an epoch boundary), a checkpoint every epoch
(``RUN/last``), the best by validation (``RUN/best``) and one JSON line per epoch in
``RUN/metrics.jsonl``. Under ``torchrun`` it trains with DDP (see training.distributed).
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from engine.atomic import atomic_path, atomic_write_text
from engine.jobs import CancelCheck, Job, Progress, check_cancel
from engine.model.checkpoint import CheckpointConfig, load_checkpoint, save_checkpoint
from engine.model.config import BaselineConfig, ModelConfig, MVPTConfig, config_to_dict
from engine.model.factory import build_model
from engine.model.losses import info_nce, info_nce_gathered, triplet
from engine.model.mvpt import count_parameters

from . import distributed as distrib
from .dataset import FeatureStore, Split, extractor_info, manifest_sha256, open_store
from .evaluate import evaluate
from .recipe import LARGE, LARGE_SET, LEGACY, MIN_JUDGE_VIDEOS, SOFT_TAU_BELOW, auto_recipe, val_score  # noqa: F401 - train.* names (tests, bench)
from .track_path import TrackPathStop, segment_nce, track_path_loss

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Training settings. Fields left at ``None`` are chosen from the data (:func:`plan`):
    with ``epochs`` given, the fixed recipe (``LEGACY``); without it, a step budget with early
    stopping and a model sized for the set (:func:`auto_recipe`), or the fixed recipe for
    sets of ``LARGE_SET`` training videos and more."""

    data: str                        # feature dataset folder (manifest.json + items/)
    out: str                         # run folder: last/, best/, metrics.jsonl, run.json
    model: str = "mvpt"              # "mvpt" (context Transformers) or "baseline" (MLP)
    segment_time: str = "visual"     # temporal embeddings on: visual | music | both | none
    loss: str | None = None          # "infonce" | "triplet"; None: infonce for mvpt, triplet for baseline
    baseline_level: str = "segment"  # baseline trained on segments or on track averages
    epochs: int | None = None        # passes over the training videos (one random L-crop each);
                                     # None: a step budget with early stopping (small sets) or 30
    steps: int | None = None         # step budget when epochs is None (None: from the set's size)
    patience: int | None = None      # early stopping: validations without a better score (None: auto;
                                     # 0: never stop early)
    batch_size: int | None = None    # videos per step (per process under torchrun)
    lr: float | None = None          # peak learning rate (AdamW)
    weight_decay: float | None = None  # AdamW decay on weight matrices only
    warmup_epochs: float | None = None  # linear warm-up, then cosine to min_lr_ratio * lr
    min_lr_ratio: float = 0.02
    grad_clip: float = 1.0           # max global gradient norm
    tau: float | None = None         # InfoNCE temperature (0.05; the paper used 0.3, which left the
                                     # softmax too flat here: docs/training.md, "The temperature")
    margin: float = 0.2              # triplet margin
    track_weight: float | None = None  # weight of the track-level ([CLS]) loss (1; small sets: 0, their
                                     # [CLS] reads the mean and learns through the shared layers)
    track_tau: float | None = None   # temperature of the track-level loss (None: tau)
    seq_len: int | None = None       # L (30; small sets: the clips' own lengths, at most 30)
    cls_mean: bool | None = None     # [CLS] starts from the projected mean input (MVPTConfig.cls_mean)
    track_head: int | None = None    # width of the context-free track path (MVPTConfig.track_head; 0: off,
                                     # the track is the [CLS]); trained by the segment loss
    d_model: int | None = None       # Transformer width
    n_layers: int | None = None
    n_heads: int | None = None
    ff_dim: int | None = None
    hidden_dim: int | None = None    # baseline MLP width
    dropout: float | None = None
    out_dim: int | None = None
    seed: int = 0
    device: str = "auto"             # cpu | cuda | auto
    amp: bool = True                 # mixed precision on CUDA (ignored on CPU)
    resume: bool = False             # continue RUN from its last epoch
    val_pool: int = 1000             # validation pool size (one pool, fixed seed)
    keep_epochs: bool = False        # also keep RUN/epochs/epoch_NNN for every epoch
    save_every: int | None = None    # validate and checkpoint every N epochs (and after the last);
                                     # tiny datasets have sub-second epochs that saving would dominate
    threads: int | None = None       # torch CPU threads (None: leave torch's default)
    max_steps: int | None = None     # stop early (tests, benchmarks)
    augment: bool | None = None      # random shorter sub-crops (half the videos, >= half their length) against
                                     # [CLS] memorising short clips; None: off (on 300 pairs it traded
                                     # segment-level recall for track-level: docs/training.md, "Small sets")
    init: str | None = None          # start from this checkpoint's weights (fine-tuning; same architecture)
    time_budget_s: float | None = None  # stop (validated, saved) once training has run this long
    demo: bool = False               # the built-in demo's model: checkpoints say so, and so does the app

    def resolved_loss(self) -> str:
        return self.loss or ("triplet" if self.model == "baseline" else "infonce")


@dataclass
class TrainResult:
    run: Path
    best_score: float
    epochs_run: int
    epoch_seconds: list[float] = field(default_factory=list)
    segments_per_second: float = 0.0
    last_metrics: dict[str, Any] = field(default_factory=dict)
    steps: int = 0                   # optimiser steps taken (in total, with a resumed run's)
    stopped: str = ""                # why training ended: "budget", "early stop", "time budget", ...
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    config: TrainConfig | None = None  # the resolved settings (every field concrete)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but PyTorch sees no CUDA device")
    return torch.device(name)


def model_config(cfg: TrainConfig, store: FeatureStore) -> ModelConfig:
    if cfg.model == "mvpt":
        return MVPTConfig(visual_dim=store.visual_dim, music_dim=store.music_dim, d_model=cfg.d_model,
                          n_layers=cfg.n_layers, n_heads=cfg.n_heads, ff_dim=cfg.ff_dim, dropout=cfg.dropout,
                          out_dim=cfg.out_dim, seq_len=cfg.seq_len, segment_time=cfg.segment_time,  # type: ignore[arg-type]
                          cls_mean=bool(cfg.cls_mean), track_head=int(cfg.track_head or 0))
    if cfg.model == "baseline":
        return BaselineConfig(visual_dim=store.visual_dim, music_dim=store.music_dim, hidden_dim=cfg.hidden_dim,
                              dropout=cfg.dropout, out_dim=cfg.out_dim, seq_len=cfg.seq_len, level=cfg.baseline_level)
    raise ValueError(f"--model must be 'mvpt' or 'baseline', got {cfg.model!r}")


@dataclass
class TrainPlan:
    cfg: TrainConfig                 # every field concrete
    train: Split
    val: Split
    adaptive: bool                   # step budget with early stopping
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


ARCH_FIELDS = ("d_model", "n_layers", "n_heads", "ff_dim", "out_dim", "seq_len", "hidden_dim", "dropout", "cls_mean",
               "track_head")


def plan(cfg: TrainConfig, store: FeatureStore) -> TrainPlan:
    """Resolve every ``None`` field of ``cfg`` for this dataset, and the splits to use.

    Without ``epochs`` and without a validation split, 15 % of the training videos (at least 2)
    are held out by video for early stopping. ``init`` (fine-tuning) takes the architecture
    from that checkpoint."""
    train_split, val_split = store.split("train"), store.split("val")
    notes: list[str] = []
    warnings: list[str] = []
    carve = cfg.epochs is None and len(val_split) == 0 and len(train_split) >= 10
    n_val = max(2, round(0.15 * len(train_split))) if carve else 0
    # from LARGE_SET videos on, exactly the fixed recipe: no carved split, best/ by segment R@10
    adaptive = cfg.epochs is None and len(train_split) - n_val < LARGE_SET
    if adaptive and carve:
        rows = np.random.default_rng([cfg.seed, 11]).permutation(train_split.rows)
        val_split = Split(store, "val", np.sort(rows[:n_val]))
        train_split = Split(store, "train", np.sort(rows[n_val:]))
        notes.append(f"no validation split: {n_val} of the training videos are held out for early stopping")
    n = len(train_split)
    if adaptive:
        recipe = auto_recipe(n, train_split.lengths())
    else:  # decided once, here: epochs given, or a set of LARGE_SET videos and more
        recipe = dict(LEGACY if cfg.epochs is not None else LARGE)
    changes: dict[str, Any] = {}
    if cfg.init:
        from engine.model.config import BaselineConfig as _B

        init_cfg = load_checkpoint_config(cfg.init)
        m = init_cfg.model
        arch = {"seq_len": m.seq_len, "out_dim": m.out_dim, "dropout": m.dropout}
        if isinstance(m, _B):
            arch.update(hidden_dim=m.hidden_dim, model="baseline", baseline_level=m.level)
        else:
            arch.update(d_model=m.d_model, n_layers=m.n_layers, n_heads=m.n_heads, ff_dim=m.ff_dim,
                        model="mvpt", segment_time=m.segment_time, cls_mean=m.cls_mean, track_head=m.track_head)
        for k, v in arch.items():
            given = getattr(cfg, k)
            if k in ARCH_FIELDS and given is not None and given != v:
                raise ValueError(f"--init {cfg.init}: its {k} is {v}, not {given}; fine-tuning keeps the architecture")
            changes[k] = v
        if (m.visual_dim, m.music_dim) != (store.visual_dim, store.music_dim):
            raise ValueError(f"--init {cfg.init}: the model reads {m.visual_dim}/{m.music_dim}-d features, "
                             f"the dataset holds {store.visual_dim}/{store.music_dim}-d ones")
        notes.append(f"fine-tuning from {cfg.init}")
    for k, v in recipe.items():
        if k in ("steps", "patience", "epochs"):
            continue
        if getattr(cfg, k) is None and k not in changes:
            changes[k] = v
    batch = changes.get("batch_size", cfg.batch_size)
    spe = max(1, n // max(1, min(batch, n)))
    steps = cfg.steps if cfg.steps is not None else (recipe.get("steps") if adaptive else None)
    if cfg.epochs is not None:
        epochs = cfg.epochs
    elif steps is not None:
        epochs = max(1, math.ceil(steps / spe))
        changes["max_steps"] = min(steps, cfg.max_steps) if cfg.max_steps is not None else steps
        if cfg.save_every is None:
            changes["save_every"] = max(1, round(steps / 25 / spe))
        if cfg.warmup_epochs is None:
            changes["warmup_epochs"] = max(1.0, 0.05 * epochs)
    else:
        epochs = recipe["epochs"]
    changes["epochs"] = epochs
    if cfg.track_weight is None and not changes.get("cls_mean", cfg.cls_mean):
        changes["track_weight"] = 1.0  # a plain [CLS] (an older model fine-tuned) learns only from its own loss
    changes["patience"] = cfg.patience if cfg.patience is not None else recipe.get("patience", 0)
    resolved = replace(cfg, **changes)
    if adaptive:
        notes.append(f"{n} training videos: {min(epochs * spe, resolved.max_steps or epochs * spe)} steps at "
                     f"most, batch {resolved.batch_size}, L {resolved.seq_len}, width {resolved.d_model}, "
                     f"{resolved.n_layers} layers, dropout {resolved.dropout}, early stopping after "
                     f"{resolved.patience} validations without progress")
    elif cfg.epochs is None:
        notes.append(f"{n} training videos (>= {LARGE_SET}): the fixed recipe, {epochs} epochs")
    if len(val_split) == 0:
        warnings.append("no held-out videos to validate on: the last checkpoint is kept, and nothing measures "
                        "whether the model learned to match or memorised its training pairs")
    elif len(val_split) < MIN_JUDGE_VIDEOS:
        warnings.append(f"the held-out split has only {len(val_split)} videos (< {MIN_JUDGE_VIDEOS}): its scores "
                        "cannot tell a better model from a lucky one; treat them as rough")
    return TrainPlan(resolved, train_split, val_split, adaptive, notes, warnings)


def load_checkpoint_config(path: str) -> CheckpointConfig:
    from engine.model.checkpoint import read_config

    return read_config(path)


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and not name.endswith(("time", "cls_token")) else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _lr_lambda(total: int, warmup: int, floor: float):
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        t = (step - warmup) / max(1, total - warmup)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
    return f


def _sub_crops(v: np.ndarray, m: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    """In place: half the rows of a batch (v (B, L, Dv), m (B, L, Dm), mask (B, L)) become a
    random contiguous part of at least half their real segments, moved to the front."""
    for j, n in enumerate(mask.sum(axis=1)):
        n = int(n)
        if n > 1 and rng.random() < 0.5:
            ln = int(rng.integers((n + 1) // 2, n + 1))
            s = int(rng.integers(0, n - ln + 1))
            v[j, :ln], m[j, :ln] = v[j, s:s + ln].copy(), m[j, s:s + ln].copy()
            v[j, ln:], m[j, ln:], mask[j, ln:] = 0.0, 0.0, False


def compute_loss(cfg: TrainConfig, out_v, out_m, mask: torch.Tensor, info: distrib.DistInfo) -> torch.Tensor:
    """The batch loss. Segment level over all B·L real segments, track level over [CLS]."""
    d = out_v.segments.shape[-1]
    seg_v, seg_m = out_v.segments.reshape(-1, d), out_m.segments.reshape(-1, d)  # (B·L, d)
    valid = mask.reshape(-1)  # (B·L,)
    kind = cfg.resolved_loss()
    if cfg.model == "baseline" and kind == "infonce" and not info.enabled:
        if cfg.baseline_level == "track":
            return info_nce(out_v.cls, out_m.cls, cfg.tau)
        return info_nce(seg_v, seg_m, cfg.tau, valid)
    if cfg.model == "baseline":
        if cfg.baseline_level == "track":
            return triplet(out_v.cls, out_m.cls, cfg.margin)
        return triplet(seg_v, seg_m, cfg.margin, valid)
    if kind == "triplet":
        return triplet(seg_v, seg_m, cfg.margin, valid) + cfg.track_weight * triplet(out_v.cls, out_m.cls, cfg.margin)
    seg = segment_nce(seg_v, seg_m, valid, cfg.tau, info) + track_path_loss(out_v, out_m, valid, cfg.tau, info)
    if not info.enabled:
        if not cfg.track_weight:  # a [CLS] that reads the mean learns through the shared layers only
            return seg
        return seg + cfg.track_weight * info_nce(out_v.cls, out_m.cls, cfg.track_tau or cfg.tau)
    # DDP: negatives from every rank (each rank's batch has the same shape)
    cv, cm = distrib.gather_with_grad(out_v.cls, info), distrib.gather_with_grad(out_m.cls, info)
    ones = torch.ones(cv.shape[0], dtype=torch.bool, device=cv.device)
    trk = info_nce_gathered(out_v.cls, out_m.cls, cv, cm, info.rank * out_v.cls.shape[0], ones,
                            cfg.track_tau or cfg.tau)
    return seg + cfg.track_weight * trk


def _checkpoint_config(cfg: TrainConfig, mcfg: ModelConfig, store: FeatureStore, n_train: int) -> CheckpointConfig:
    return CheckpointConfig(
        model=mcfg, features=extractor_info(store.manifest, store.visual_dim, store.music_dim),
        segment_seconds=store.segment_seconds, seq_len=cfg.seq_len,
        data={"manifest_sha256": manifest_sha256(store.root), "path": str(store.root),
              "train_videos": n_train, **({"demo": True} if cfg.demo else {})},
        train={**asdict(cfg), "loss": cfg.resolved_loss()})


def train(cfg: TrainConfig, cancel: CancelCheck | None = None) -> Job[TrainResult]:
    """Train and return the run's summary. Yields Progress("train", step, total_steps, ...).
    Fields of ``cfg`` left at ``None`` are resolved for the dataset first (:func:`plan`)."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    info = distrib.init_distributed(device.type)
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
    run = Path(cfg.out)
    store = open_store(cfg.data)
    tp = plan(cfg, store)
    cfg = tp.cfg
    train_split, val_split = tp.train, tp.val
    if len(train_split) < 2:
        raise ValueError(f"{cfg.data}: the train split needs at least 2 videos, it has {len(train_split)}")
    assert cfg.epochs is not None and cfg.batch_size is not None and cfg.seq_len is not None
    mcfg = model_config(cfg, store)
    torch.manual_seed(cfg.seed)
    model = build_model(mcfg).to(device)
    if cfg.init:
        start = load_checkpoint(cfg.init, device=device)
        if config_to_dict(start.config.model) != config_to_dict(mcfg):
            raise ValueError(f"--init {cfg.init}: its architecture differs from this run's")
        model.load_state_dict(start.model.state_dict())
    ddp_model: nn.Module = model
    if info.enabled:
        ddp_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    batch = min(cfg.batch_size, len(train_split) // info.world)
    steps_per_epoch = max(1, len(train_split) // (batch * info.world))
    total_steps = steps_per_epoch * cfg.epochs
    if cfg.max_steps is not None:
        total_steps = min(total_steps, cfg.max_steps)
    track_stop = TrackPathStop(model)  # the track path stops learning at its own best (track_head)
    opt = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.98))
    warmup = max(1, int(cfg.warmup_epochs * steps_per_epoch))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(steps_per_epoch * cfg.epochs, warmup, cfg.min_lr_ratio))
    use_amp = cfg.amp and device.type == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)

    ck_cfg = _checkpoint_config(cfg, mcfg, store, len(train_split))
    start_epoch, step, best, since_best = 0, 0, -math.inf, 0  # without a val split the score is -loss
    state_path = run / "train_state.pt"
    if cfg.resume and state_path.exists():
        loaded = load_checkpoint(run / "last", device=device)
        if config_to_dict(loaded.config.model) != config_to_dict(mcfg):
            raise ValueError(f"{run}: --resume with a different model configuration than the run's")
        model.load_state_dict(loaded.model.state_dict())
        state = torch.load(state_path, map_location=device, weights_only=True)
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        start_epoch, step, best = int(state["epoch"]), int(state["step"]), float(state["best"])
        since_best = int(state.get("since_best", 0))
        track_stop.load_state(state)
    if info.is_main:
        run.mkdir(parents=True, exist_ok=True)
        if not cfg.resume:
            (run / "metrics.jsonl").unlink(missing_ok=True)  # a fresh run starts a fresh log
        atomic_write_text(run / "run.json", json.dumps({
            **asdict(cfg), "loss": cfg.resolved_loss(), "model_config": config_to_dict(mcfg),
            "param_count": count_parameters(model), "world_size": info.world, "device": str(device),
            "train_videos": len(train_split), "val_videos": len(val_split),
            "notes": tp.notes, "warnings": tp.warnings}, indent=2))
    result = TrainResult(run=run, best_score=best, epochs_run=start_epoch, warnings=list(tp.warnings),
                         notes=list(tp.notes), config=cfg)
    for w in tp.warnings:
        log.warning("%s: %s", run, w)
    yield Progress("train", step, total_steps, f"{count_parameters(model) / 1e6:.2f} M parameters on {device}")
    for w in tp.warnings:
        yield Progress("train", step, total_steps, f"warning: {w}")
    seg_total, time_total = 0, 0.0
    t_start = time.perf_counter()
    # The track-level baseline averages the *whole* track (paper, Sec. 4), not an L-crop.
    crop_len = cfg.seq_len
    if cfg.model == "baseline" and cfg.baseline_level == "track":
        crop_len = int(train_split.lengths().max())
    result.stopped = "epochs" if not tp.adaptive else "step budget"
    for epoch in range(start_epoch, cfg.epochs):
        if step >= total_steps:
            break
        rng = np.random.default_rng([cfg.seed, epoch])
        torch.manual_seed(cfg.seed * 100003 + epoch * 101 + info.rank)
        order = rng.permutation(len(train_split))
        model.train()
        t0, losses, n_seg = time.perf_counter(), [], 0
        out_of_time = False
        for b in range(steps_per_epoch):
            if step >= total_steps:
                break
            check_cancel(cancel)
            chunk = order[(b * info.world + info.rank) * batch:(b * info.world + info.rank + 1) * batch]
            v, m, mask = train_split.crop_batch(chunk, crop_len, rng)
            if cfg.augment:
                _sub_crops(v, m, mask, rng)
            v, m, mask = (torch.from_numpy(a).to(device, non_blocking=True) for a in (v, m, mask))
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                out_v, out_m = ddp_model(v, m, mask)
            loss = compute_loss(cfg, out_v, out_m, mask, info)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            step += 1
            losses.append(float(loss.detach()))
            n_seg += int(mask.sum()) * info.world
            yield Progress("train", step, total_steps,
                           f"epoch {epoch + 1}/{cfg.epochs} loss {np.mean(losses[-20:]):.3f}")
            if cfg.time_budget_s is not None and time.perf_counter() - t_start > cfg.time_budget_s:
                out_of_time = True
                break
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_seconds = time.perf_counter() - t0
        seg_total, time_total = seg_total + n_seg, time_total + train_seconds
        result.epoch_seconds.append(train_seconds)
        record: dict[str, Any] = {"epoch": epoch + 1, "step": step, "train_loss": float(np.mean(losses)) if losses else None,
                                  "lr": sched.get_last_lr()[0], "epoch_seconds": round(train_seconds, 3),
                                  "segments_per_s": round(n_seg / max(train_seconds, 1e-9), 1)}
        last_epoch = epoch + 1 == cfg.epochs or step >= total_steps or out_of_time
        stop_early = False
        if info.is_main and ((epoch + 1) % max(1, cfg.save_every or 1) == 0 or last_epoch):
            yield Progress("validate", step, total_steps, f"epoch {epoch + 1}: validating")
            if len(val_split):
                rep = evaluate(model, val_split, pool=cfg.val_pool, pools=1, seed=cfg.seed, device=device)
                if not info.enabled and track_stop.update(rep.result):  # back to its best: judge that model
                    record["track_path_frozen"] = True
                    rep = evaluate(model, val_split, pool=cfg.val_pool, pools=1, seed=cfg.seed, device=device)
                score = val_score(rep, cfg, tp.adaptive)
                record.update({"val_segment_avg_R@10": rep.result["segment"]["avg_R@10"],
                               "val_track_avg_R@10": rep.result["track"]["avg_R@10"], "val_score": score})
            else:
                score = -float(np.mean(losses)) if losses else -math.inf
            record["val_seconds"] = round(time.perf_counter() - t0 - train_seconds, 3)
            metrics = {k: v for k, v in record.items() if k.startswith("val_") or k in ("epoch", "step")}
            save_checkpoint(run / "last", model, ck_cfg, metrics=metrics)
            if cfg.keep_epochs:
                save_checkpoint(run / "epochs" / f"epoch_{epoch + 1:03d}", model, ck_cfg, metrics=metrics)
            if score > best:
                best, since_best = score, 0
                save_checkpoint(run / "best", model, ck_cfg, metrics=metrics)
            else:
                since_best += 1
                stop_early = (bool(cfg.patience) and len(val_split) > 0 and not info.enabled
                              and since_best >= (cfg.patience or 0))
            record["best_score"] = best
            with atomic_path(state_path, suffix=".pt") as tmp:
                torch.save({"epoch": epoch + 1, "step": step, "best": best, "since_best": since_best, **track_stop.state(),
                            "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                            "scaler": scaler.state_dict() if scaler.is_enabled() else None}, tmp)
            with open(run / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
            result.last_metrics = record
        distrib.barrier(info)
        result.epochs_run = epoch + 1
        if out_of_time:
            result.stopped = "time budget"
            break
        if stop_early:
            result.stopped = f"early stop (no better validation score in {cfg.patience} validations)"
            break
    result.best_score = best
    result.steps = step
    result.segments_per_second = seg_total / max(time_total, 1e-9)
    distrib.cleanup(info)
    return result


def config_with(cfg: TrainConfig, **changes: Any) -> TrainConfig:
    return replace(cfg, **changes)
