"""A tiny end-to-end run on the synthetic generator: train, checkpoint, resume, evaluate, CLI."""

from __future__ import annotations

import json

import pytest
import torch

from engine.jobs import run
from engine.model.checkpoint import load_checkpoint
from training.cli import main
from training.dataset import open_store
from training.evaluate import chance, evaluate
from training.synth import SynthConfig, generate
from training.train import TrainConfig, train

torch.set_num_threads(1)

TINY_MODEL = dict(batch_size=16, lr=2e-3, d_model=32, n_layers=2, n_heads=4, ff_dim=64, out_dim=32,
                  hidden_dim=64, seq_len=16, warmup_epochs=1, dropout=0.0, threads=1)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny") / "ds"
    cfg = SynthConfig(videos=64, visual_dim=32, music_dim=24, min_segments=8, max_segments=16, noise=1.0,
                      offset_scale=0.3, val_fraction=0.15, test_fraction=0.15)
    run(generate(root, cfg))
    return root


@pytest.fixture(scope="module")
def trained(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "mvpt"
    res = run(train(TrainConfig(data=str(tiny_data), out=str(out), epochs=12, **TINY_MODEL)))
    return out, res


def test_tiny_training_beats_chance_by_a_wide_margin(tiny_data, trained):
    out, res = trained
    assert res.epochs_run == 12 and res.segments_per_second > 0
    loaded = load_checkpoint(out)  # the run folder resolves to best/
    assert loaded.config.features["visual"] == {"id": "synth:visual:v1", "dim": 32}
    assert loaded.config.data["manifest_sha256"] and loaded.config.seq_len == 16
    rep = evaluate(loaded.model, open_store(tiny_data).split("test"), pool=2000, pools=1)
    n = rep.result["queries"]["segment"]
    assert rep.result["segment"]["avg_R@10"] > 3 * chance(n)["R@10"], rep.result
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines] == list(range(1, 13))
    assert lines[-1]["train_loss"] < lines[0]["train_loss"]
    assert {"best", "last", "run.json", "train_state.pt"} <= {p.name for p in out.iterdir()}


def test_resume_continues_from_the_last_epoch(tiny_data, tmp_path):
    out = tmp_path / "r"
    run(train(TrainConfig(data=str(tiny_data), out=str(out), epochs=2, max_steps=6, **TINY_MODEL)))
    first = [json.loads(x)["epoch"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert first == [1, 2]
    res = run(train(TrainConfig(data=str(tiny_data), out=str(out), epochs=3, resume=True, **TINY_MODEL)))
    epochs = [json.loads(x)["epoch"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3] and res.epochs_run == 3


def test_cli_train_and_eval_write_the_documented_json(tiny_data, trained, tmp_path, capsys):
    run_dir, _ = trained
    js = tmp_path / "eval.json"
    assert main(["eval", "--data", str(tiny_data), "--checkpoint", str(run_dir), "--pool", "50", "--pools", "2",
                 "--json", str(js), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "chance" in printed and "only 10 tracks" in printed
    r = json.loads(js.read_text())
    assert set(r) == {"segment", "track", "pool", "pools", "queries"}
    assert r["pool"] == 50 and r["pools"] == 2 and r["queries"] == {"segment": 50, "track": 10}
    assert main(["train", "--data", str(tiny_data), "--out", str(tmp_path / "b"), "--model", "baseline",
                 "--epochs", "1", "--batch-size", "8", "--device", "cpu", "--threads", "1", "--quiet"]) == 0
    assert load_checkpoint(tmp_path / "b").config.model.kind == "baseline"
    assert main(["train", "--data", str(tiny_data), "--out", str(tmp_path / "bt"), "--model", "baseline",
                 "--baseline-level", "track", "--epochs", "1", "--batch-size", "8", "--device", "cpu",
                 "--threads", "1", "--quiet"]) == 0
    assert load_checkpoint(tmp_path / "bt").config.model.level == "track"
    assert main(["eval", "--data", str(tmp_path / "missing"), "--checkpoint", str(run_dir)]) == 2
