"""Training defaults that adapt to the set's size: step budget, held-out split, early
stopping that keeps the best, a warning when the held-out set is too small to judge, the
fixed recipe for large sets and whenever epochs are given, fine-tuning from a checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.jobs import run
from engine.model.checkpoint import load_checkpoint
from training.dataset import open_store
from training.synth import SynthConfig, generate
from training.train import LARGE_SET, LEGACY, MIN_JUDGE_VIDEOS, TrainConfig, auto_recipe, plan, train

torch.set_num_threads(1)
TINY = dict(d_model=16, n_layers=1, n_heads=2, ff_dim=32, out_dim=16, hidden_dim=32, threads=1, device="cpu")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """60 short videos (1-6 segments), everything in train: no validation split."""
    root = tmp_path_factory.mktemp("small") / "ds"
    run(generate(root, SynthConfig(videos=60, visual_dim=24, music_dim=16, min_segments=1, max_segments=6,
                                   noise=1.0, offset_scale=0.3, val_fraction=0.0, test_fraction=0.0)))
    return root


def test_small_sets_get_a_step_budget_not_a_handful_of_steps():
    # 160 one-segment pairs: 30 epochs of batch 64 were 60 steps
    r = auto_recipe(160, np.ones(160))
    steps_per_epoch = 160 // r["batch_size"]
    assert r["epochs"] * steps_per_epoch >= 400 and r["steps"] >= 400
    assert r["seq_len"] == 1 and r["batch_size"] >= 32  # one-segment clips: L 1, many negatives per batch
    assert r["d_model"] < LEGACY["d_model"] and r["dropout"] > LEGACY["dropout"]
    assert r["weight_decay"] > LEGACY["weight_decay"] and r["patience"] > 0
    r = auto_recipe(300, np.full(300, 20))
    assert r["seq_len"] == 20 and r["batch_size"] * 20 >= 512
    assert r["cls_mean"] and r["track_weight"] == 0.0  # the [CLS] reads the mean, no loss of its own
    assert auto_recipe(100, np.full(100, 15))["tau"] == 0.1 and r["tau"] == 0.05  # softer for the smallest sets
    large = auto_recipe(LARGE_SET, np.full(LARGE_SET, 30))
    assert large == {**LEGACY, "cls_mean": True, "track_head": LEGACY["hidden_dim"]} and large["track_weight"] == 1.0


def test_plan_holds_out_videos_and_warns_when_too_few(small):
    store = open_store(small)
    p = plan(TrainConfig(data=str(small), out="unused"), store)
    assert p.adaptive and len(p.val) == 9 and len(p.train) == 51
    assert not set(p.val.ids) & set(p.train.ids)
    assert any(f"< {MIN_JUDGE_VIDEOS}" in w for w in p.warnings)
    assert p.cfg.seq_len == 6 and p.cfg.patience and p.cfg.epochs * (51 // p.cfg.batch_size) >= 400
    # epochs given: the fixed recipe, exactly as before, and no held-out split carved from train
    fixed = plan(TrainConfig(data=str(small), out="unused", epochs=3), store)
    assert not fixed.adaptive and len(fixed.val) == 0 and len(fixed.train) == 60
    assert {k: getattr(fixed.cfg, k) for k in LEGACY if k != "epochs"} == {k: v for k, v in LEGACY.items()
                                                                           if k != "epochs"}
    assert fixed.cfg.patience == 0 and any("no held-out" in w for w in fixed.warnings)
    # what the caller sets wins over the recipe
    mine = plan(TrainConfig(data=str(small), out="unused", d_model=48, n_heads=4, tau=0.2, steps=50), store)
    assert mine.cfg.d_model == 48 and mine.cfg.tau == 0.2 and mine.cfg.epochs * (51 // mine.cfg.batch_size) >= 50


def test_early_stopping_keeps_the_best(small, tmp_path):
    out = tmp_path / "run"
    res = run(train(TrainConfig(data=str(small), out=str(out), steps=240, patience=2, save_every=1, lr=3e-3,
                                **TINY)))
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    scores = [r["val_score"] for r in rows]
    assert res.stopped.startswith("early stop") and res.steps < 240
    assert scores.index(max(scores)) == len(scores) - 3  # two validations without progress, then stop
    best = load_checkpoint(out / "best").config.metrics
    assert best["val_score"] == max(scores) == res.best_score
    assert json.loads((out / "run.json").read_text())["val_videos"] == 9


def test_time_budget_and_fine_tuning(small, tmp_path):
    first = run(train(TrainConfig(data=str(small), out=str(tmp_path / "a"), steps=20, **TINY)))
    assert first.steps == 20
    res = run(train(TrainConfig(data=str(small), out=str(tmp_path / "b"), init=str(tmp_path / "a" / "best"),
                                time_budget_s=0.0, threads=1, device="cpu")))
    assert res.stopped == "time budget" and res.steps == 1
    assert res.config.d_model == 16 and res.config.n_layers == 1  # the architecture of the model it started from
    a, b = load_checkpoint(tmp_path / "a" / "best").model, load_checkpoint(tmp_path / "b" / "best").model
    # one step at a small learning rate: close to the start, not a fresh initialisation
    pa, pb = torch.cat([p.flatten() for p in a.parameters()]), torch.cat([p.flatten() for p in b.parameters()])
    assert torch.nn.functional.cosine_similarity(pa, pb, dim=0) > 0.95
    with pytest.raises(ValueError, match="keeps the architecture"):
        run(train(TrainConfig(data=str(small), out=str(tmp_path / "c"), init=str(tmp_path / "a" / "best"),
                              d_model=32, threads=1, device="cpu")))


def test_baseline_with_infonce_trains(small, tmp_path):
    for level in ("segment", "track"):
        res = run(train(TrainConfig(data=str(small), out=str(tmp_path / level), model="baseline", loss="infonce",
                                    baseline_level=level, steps=10, **TINY)))
        assert res.steps == 10 and np.isfinite(res.last_metrics["train_loss"])


def test_large_sets_keep_the_fixed_recipe(small, monkeypatch):
    import training.train as tt

    monkeypatch.setattr(tt, "LARGE_SET", 51)  # the 60 videos of `small` less the 9 it would hold out
    p = plan(TrainConfig(data=str(small), out="unused"), open_store(small))
    assert not p.adaptive and len(p.train) == 60 and len(p.val) == 0  # as before: nothing carved out
    assert p.cfg.epochs == LEGACY["epochs"] and p.cfg.d_model == LEGACY["d_model"] and p.cfg.patience == 0
    assert p.cfg.cls_mean and p.cfg.track_weight == 1.0  # the fixed recipe with a [CLS] that reads the mean
    assert p.cfg.track_head == LEGACY["hidden_dim"]  # and the context-free track path
    monkeypatch.setattr(tt, "LARGE_SET", 52)
    assert plan(TrainConfig(data=str(small), out="unused"), open_store(small)).adaptive


def test_cls_mean_reads_the_mean_and_segments_do_not_see_it():
    from engine.model.config import MVPTConfig
    from engine.model.factory import build_model

    torch.manual_seed(0)
    model = build_model(MVPTConfig(visual_dim=6, music_dim=5, d_model=8, n_layers=2, n_heads=2, ff_dim=16, out_dim=8,
                                   seq_len=7, dropout=0.0, cls_mean=True)).eval()
    x = torch.randn(1, 4, 6)
    padded = torch.cat([x, torch.randn(1, 3, 6)], dim=1)  # (1, 7, 6): three padded rows of noise
    mask = torch.tensor([[True] * 4 + [False] * 3])
    with torch.no_grad():
        a, b = model.visual(x), model.visual(padded, mask)
        assert torch.allclose(a.cls, b.cls, atol=1e-5) and torch.allclose(a.segments, b.segments[:, :4], atol=1e-5)
        model.visual.cls_token.add_(torch.randn_like(model.visual.cls_token))  # segments never see [CLS]
        c = model.visual(x)
    assert torch.allclose(a.segments, c.segments, atol=1e-6) and not torch.allclose(a.cls, c.cls)
