"""Checkpoint round trip, and refusal of mismatched, truncated, pickled and misshapen files."""

from __future__ import annotations

import json

import pytest
import torch

from engine.model import MVPTConfig, build_model
from engine.model.checkpoint import (
    CheckpointConfig,
    CheckpointError,
    load_checkpoint,
    read_config,
    save_checkpoint,
)

torch.set_num_threads(1)

CFG = MVPTConfig(visual_dim=12, music_dim=10, d_model=16, n_layers=2, n_heads=4, ff_dim=32, out_dim=8, seq_len=10)
FEATS = {"visual": {"id": "test:visual:v1", "dim": 12}, "music": {"id": "test:music:v1", "dim": 10}}


def saved(tmp_path, name="ck"):
    torch.manual_seed(0)
    model = build_model(CFG).eval()
    ck = CheckpointConfig(model=CFG, features=FEATS, segment_seconds=6.7, seq_len=10,
                          data={"manifest_sha256": "abc"})
    d = save_checkpoint(tmp_path / name, model, ck, metrics={"val": 1.5})
    return model, d


def test_round_trip_gives_identical_outputs(tmp_path):
    model, d = saved(tmp_path)
    assert sorted(p.name for p in d.iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_checkpoint(d, expect_visual_id="test:visual:v1", expect_music_id="test:music:v1")
    assert loaded.config.model == CFG and loaded.config.metrics == {"val": 1.5}
    assert loaded.config.data["manifest_sha256"] == "abc" and loaded.config.segment_seconds == 6.7
    assert not loaded.model.training
    x = torch.randn(2, 9, 12)
    with torch.no_grad():
        assert torch.equal(model.visual(x).segments, loaded.model.visual(x).segments)
    # a run folder resolves to its best/ checkpoint; the weights file itself works too
    (tmp_path / "run").mkdir()
    save_checkpoint(tmp_path / "run" / "best", model, loaded.config)
    assert load_checkpoint(tmp_path / "run").path.name == "best"
    assert load_checkpoint(d / "model.safetensors").path == d
    doc = json.loads((d / "config.json").read_text())
    assert doc["format"] == "mvpt-checkpoint" and doc["param_count"] > 0 and doc["model"]["kind"] == "mvpt"


def test_overwrite_is_atomic_and_leaves_no_temp_folders(tmp_path):
    model, d = saved(tmp_path)
    save_checkpoint(d, model, read_config(d), metrics={"val": 2.0})
    assert read_config(d).metrics == {"val": 2.0}
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]


def test_refuses_other_extractors_with_a_clear_message(tmp_path):
    _, d = saved(tmp_path)
    with pytest.raises(CheckpointError, match="trained on visual features 'test:visual:v1'.*'clip"):
        load_checkpoint(d, expect_visual_id="clip:ViT-B-32:openai:v1")
    with pytest.raises(CheckpointError, match="music"):
        load_checkpoint(d, expect_music_id="musicnn:MTT_musicnn:v1")


def test_refuses_truncated_weights(tmp_path):
    _, d = saved(tmp_path)
    w = d / "model.safetensors"
    data = w.read_bytes()
    w.write_bytes(data[: len(data) - 1000])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(d)
    w.write_bytes(data[:5])
    with pytest.raises(CheckpointError, match="truncated|empty"):
        load_checkpoint(d)


def test_refuses_pickles_without_unpickling(tmp_path):
    model, d = saved(tmp_path)
    torch.save(model.state_dict(), d / "model.safetensors")  # a zip archive of pickles
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(d)
    import pickle

    (d / "model.safetensors").write_bytes(pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(d)


def test_refuses_shapes_that_do_not_fit_the_config(tmp_path):
    _, d = saved(tmp_path)
    doc = json.loads((d / "config.json").read_text())
    doc["model"]["d_model"] = 32  # weights are for 16
    doc["model"]["n_heads"] = 4
    (d / "config.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(d)


def test_refuses_broken_or_missing_config(tmp_path):
    _, d = saved(tmp_path)
    (d / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="invalid checkpoint config"):
        load_checkpoint(d)
    (d / "config.json").write_text(json.dumps({"format": "mvpt-checkpoint", "version": 99}))
    with pytest.raises(CheckpointError, match="version"):
        load_checkpoint(d)
    (d / "config.json").unlink()
    with pytest.raises(CheckpointError):
        load_checkpoint(d)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nowhere")


def test_the_same_weights_saved_again_keep_their_id(tmp_path):
    """safetensors writes its metadata map in a random order, so the file's bytes can differ
    between two saves of the same tensors; the id (what a library's embeddings are keyed by)
    must not, or every rebuild of a model re-embeds the library."""
    from engine.model.checkpoint import checkpoint_id_of

    model, d = saved(tmp_path)
    loaded = load_checkpoint(d)
    dirs = [save_checkpoint(tmp_path / "again" / f"ck{i}" / "m", model, loaded.config) for i in range(8)]
    assert {checkpoint_id_of(x) for x in dirs} == {checkpoint_id_of(d).replace("ck-", "m-")}
    with torch.no_grad():
        next(model.parameters()).add_(1e-3)
    other = save_checkpoint(tmp_path / "other" / "m", model, loaded.config)
    assert checkpoint_id_of(other) != checkpoint_id_of(dirs[0])
