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
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from engine.jobs import CancelCheck, Job, Progress, check_cancel
from engine.model.checkpoint import CheckpointConfig, load_checkpoint, save_checkpoint
from engine.model.config import BaselineConfig, ModelConfig, MVPTConfig, config_to_dict
from engine.model.factory import build_model
from engine.model.losses import info_nce, info_nce_gathered, triplet
from engine.model.mvpt import count_parameters

from . import distributed as distrib
from .dataset import FeatureStore, extractor_info, manifest_sha256, open_store
from .evaluate import evaluate


@dataclass
class TrainConfig:
    data: str                        # feature dataset folder (manifest.json + items/)
    out: str                         # run folder: last/, best/, metrics.jsonl, run.json
    model: str = "mvpt"              # "mvpt" (context Transformers) or "baseline" (MLP)
    segment_time: str = "visual"     # temporal embeddings on: visual | music | both | none
    loss: str | None = None          # "infonce" | "triplet"; None: infonce for mvpt, triplet for baseline
    baseline_level: str = "segment"  # baseline trained on segments or on track averages
    epochs: int = 30                 # passes over the training videos (one random L-crop each)
    batch_size: int = 64             # videos per step (per process under torchrun)
    lr: float = 7e-4                 # peak learning rate (AdamW)
    weight_decay: float = 0.05       # AdamW decay on weight matrices only
    warmup_epochs: float = 2.0       # linear warm-up, then cosine to min_lr_ratio * lr
    min_lr_ratio: float = 0.02
    grad_clip: float = 1.0           # max global gradient norm
    tau: float = 0.05                # InfoNCE temperature; the paper used 0.3, which left the softmax
                                     # too flat here (docs/training.md, "The temperature")
    margin: float = 0.2              # triplet margin
    track_weight: float = 1.0        # weight of the track-level ([CLS]) loss
    seq_len: int = 30                # L
    d_model: int = 256               # Transformer width
    n_layers: int = 4
    n_heads: int = 8
    ff_dim: int = 768
    hidden_dim: int = 1344           # baseline MLP width
    dropout: float = 0.1
    out_dim: int = 256
    seed: int = 0
    device: str = "auto"             # cpu | cuda | auto
    amp: bool = True                 # mixed precision on CUDA (ignored on CPU)
    resume: bool = False             # continue RUN from its last epoch
    val_pool: int = 1000             # validation pool size (one pool, fixed seed)
    keep_epochs: bool = False        # also keep RUN/epochs/epoch_NNN for every epoch
    save_every: int = 1              # validate and checkpoint every N epochs (and after the last);
                                     # tiny datasets have sub-second epochs that saving would dominate
    threads: int | None = None       # torch CPU threads (None: leave torch's default)
    max_steps: int | None = None     # stop early (tests, benchmarks)
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
                          out_dim=cfg.out_dim, seq_len=cfg.seq_len, segment_time=cfg.segment_time)  # type: ignore[arg-type]
    if cfg.model == "baseline":
        return BaselineConfig(visual_dim=store.visual_dim, music_dim=store.music_dim, hidden_dim=cfg.hidden_dim,
                              dropout=cfg.dropout, out_dim=cfg.out_dim, seq_len=cfg.seq_len, level=cfg.baseline_level)
    raise ValueError(f"--model must be 'mvpt' or 'baseline', got {cfg.model!r}")


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


def compute_loss(cfg: TrainConfig, out_v, out_m, mask: torch.Tensor, info: distrib.DistInfo) -> torch.Tensor:
    """The batch loss. Segment level over all B·L real segments, track level over [CLS]."""
    d = out_v.segments.shape[-1]
    seg_v, seg_m = out_v.segments.reshape(-1, d), out_m.segments.reshape(-1, d)  # (B·L, d)
    valid = mask.reshape(-1)  # (B·L,)
    kind = cfg.resolved_loss()
    if cfg.model == "baseline":
        if cfg.baseline_level == "track":
            return triplet(out_v.cls, out_m.cls, cfg.margin)
        return triplet(seg_v, seg_m, cfg.margin, valid)
    if kind == "triplet":
        return triplet(seg_v, seg_m, cfg.margin, valid) + cfg.track_weight * triplet(out_v.cls, out_m.cls, cfg.margin)
    if not info.enabled:
        return info_nce(seg_v, seg_m, cfg.tau, valid) + cfg.track_weight * info_nce(out_v.cls, out_m.cls, cfg.tau)
    # DDP: negatives from every rank (each rank's batch has the same shape)
    all_v, all_m = distrib.gather_with_grad(seg_v, info), distrib.gather_with_grad(seg_m, info)
    all_valid = distrib.gather_plain(valid, info)
    seg = info_nce_gathered(seg_v, seg_m, all_v, all_m, info.rank * seg_v.shape[0], all_valid, cfg.tau, valid)
    cv, cm = distrib.gather_with_grad(out_v.cls, info), distrib.gather_with_grad(out_m.cls, info)
    ones = torch.ones(cv.shape[0], dtype=torch.bool, device=cv.device)
    trk = info_nce_gathered(out_v.cls, out_m.cls, cv, cm, info.rank * out_v.cls.shape[0], ones, cfg.tau)
    return seg + cfg.track_weight * trk


def _checkpoint_config(cfg: TrainConfig, mcfg: ModelConfig, store: FeatureStore) -> CheckpointConfig:
    return CheckpointConfig(
        model=mcfg, features=extractor_info(store.manifest, store.visual_dim, store.music_dim),
        segment_seconds=store.segment_seconds, seq_len=cfg.seq_len,
        data={"manifest_sha256": manifest_sha256(store.root), "path": str(store.root),
              "train_videos": len(store.manifest["splits"].get("train", [])), **({"demo": True} if cfg.demo else {})},
        train={**asdict(cfg), "loss": cfg.resolved_loss()})


def train(cfg: TrainConfig, cancel: CancelCheck | None = None) -> Job[TrainResult]:
    """Train and return the run's summary. Yields Progress("train", step, total_steps, ...)."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    info = distrib.init_distributed(device.type)
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
    run = Path(cfg.out)
    store = open_store(cfg.data)
    train_split, val_split = store.split("train"), store.split("val")
    if len(train_split) < 2:
        raise ValueError(f"{cfg.data}: the train split needs at least 2 videos, it has {len(train_split)}")
    mcfg = model_config(cfg, store)
    torch.manual_seed(cfg.seed)
    model = build_model(mcfg).to(device)
    ddp_model: nn.Module = model
    if info.enabled:
        ddp_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    batch = min(cfg.batch_size, len(train_split) // info.world)
    steps_per_epoch = max(1, len(train_split) // (batch * info.world))
    total_steps = steps_per_epoch * cfg.epochs
    if cfg.max_steps is not None:
        total_steps = min(total_steps, cfg.max_steps)
    opt = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.98))
    warmup = max(1, int(cfg.warmup_epochs * steps_per_epoch))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(steps_per_epoch * cfg.epochs, warmup, cfg.min_lr_ratio))
    use_amp = cfg.amp and device.type == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)

    ck_cfg = _checkpoint_config(cfg, mcfg, store)
    start_epoch, step, best = 0, 0, -math.inf  # without a val split the score is -loss
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
    if info.is_main:
        run.mkdir(parents=True, exist_ok=True)
        if not cfg.resume:
            (run / "metrics.jsonl").unlink(missing_ok=True)  # a fresh run starts a fresh log
        (run / "run.json").write_text(json.dumps({**asdict(cfg), "loss": cfg.resolved_loss(),
                                                  "model_config": config_to_dict(mcfg),
                                                  "param_count": count_parameters(model),
                                                  "world_size": info.world, "device": str(device)}, indent=2))
    result = TrainResult(run=run, best_score=best, epochs_run=start_epoch)
    yield Progress("train", step, total_steps, f"{count_parameters(model) / 1e6:.2f} M parameters on {device}")
    seg_total, time_total = 0, 0.0
    # The track-level baseline averages the *whole* track (paper, Sec. 4), not an L-crop.
    crop_len = cfg.seq_len
    if cfg.model == "baseline" and cfg.baseline_level == "track":
        crop_len = int(train_split.lengths().max())
    for epoch in range(start_epoch, cfg.epochs):
        if step >= total_steps:
            break
        rng = np.random.default_rng([cfg.seed, epoch])
        torch.manual_seed(cfg.seed * 100003 + epoch * 101 + info.rank)
        order = rng.permutation(len(train_split))
        model.train()
        t0, losses, n_seg = time.perf_counter(), [], 0
        for b in range(steps_per_epoch):
            if step >= total_steps:
                break
            check_cancel(cancel)
            chunk = order[(b * info.world + info.rank) * batch:(b * info.world + info.rank + 1) * batch]
            v, m, mask = train_split.crop_batch(chunk, crop_len, rng)
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
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_seconds = time.perf_counter() - t0
        seg_total, time_total = seg_total + n_seg, time_total + train_seconds
        result.epoch_seconds.append(train_seconds)
        record: dict[str, Any] = {"epoch": epoch + 1, "step": step, "train_loss": float(np.mean(losses)) if losses else None,
                                  "lr": sched.get_last_lr()[0], "epoch_seconds": round(train_seconds, 3),
                                  "segments_per_s": round(n_seg / max(train_seconds, 1e-9), 1)}
        last_epoch = epoch + 1 == cfg.epochs or step >= total_steps
        if info.is_main and ((epoch + 1) % max(1, cfg.save_every) == 0 or last_epoch):
            yield Progress("validate", step, total_steps, f"epoch {epoch + 1}: validating")
            if len(val_split):
                rep = evaluate(model, val_split, pool=cfg.val_pool, pools=1, seed=cfg.seed, device=device)
                level = "track" if (cfg.model == "baseline" and cfg.baseline_level == "track") else "segment"
                score = rep.result[level]["avg_R@10"]
                record.update({"val_segment_avg_R@10": rep.result["segment"]["avg_R@10"],
                               "val_track_avg_R@10": rep.result["track"]["avg_R@10"], "val_score": score})
            else:
                score = -float(np.mean(losses))
            record["val_seconds"] = round(time.perf_counter() - t0 - train_seconds, 3)
            metrics = {k: v for k, v in record.items() if k.startswith("val_") or k in ("epoch", "step")}
            save_checkpoint(run / "last", model, ck_cfg, metrics=metrics)
            if cfg.keep_epochs:
                save_checkpoint(run / "epochs" / f"epoch_{epoch + 1:03d}", model, ck_cfg, metrics=metrics)
            if score > best:
                best = score
                save_checkpoint(run / "best", model, ck_cfg, metrics=metrics)
            record["best_score"] = best
            tmp = state_path.with_suffix(".tmp")
            torch.save({"epoch": epoch + 1, "step": step, "best": best, "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(), "scaler": scaler.state_dict() if scaler.is_enabled() else None},
                       tmp)
            os.replace(tmp, state_path)
            with open(run / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
            result.last_metrics = record
        distrib.barrier(info)
        result.epochs_run = epoch + 1
    result.best_score = best
    result.segments_per_second = seg_total / max(time_total, 1e-9)
    distrib.cleanup(info)
    return result


def config_with(cfg: TrainConfig, **changes: Any) -> TrainConfig:
    return replace(cfg, **changes)
