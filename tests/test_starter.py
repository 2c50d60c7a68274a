"""The starter model: built by one command, shipped in resources/starter, loaded when no model
is configured, labelled as such, and a broken one never stops the app."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.jobs import run
from engine.model.checkpoint import CONFIG, WEIGHTS, load_checkpoint, read_config
from engine.paths import STARTER, resource_dir, starter_model_dir
from engine.session import EngineSession, NoModelError
from engine.settings import EngineSettings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def with_starter(monkeypatch):
    """Lift conftest's MVPT_NO_STARTER: a session with no checkpoint gets the starter."""
    monkeypatch.delenv("MVPT_NO_STARTER", raising=False)


def test_the_resources_folder_is_the_checkout_s_and_the_env_var_turns_the_starter_off(monkeypatch):
    assert resource_dir() == REPO / "resources"
    monkeypatch.setenv("MVPT_NO_STARTER", "1")
    assert starter_model_dir() is None
    monkeypatch.setenv("MVPT_NO_STARTER", "0")
    assert starter_model_dir() == REPO / "resources" / STARTER


def test_a_session_without_a_checkpoint_loads_the_shipped_starter_model(with_starter):
    session = EngineSession(EngineSettings(device="cpu"))
    try:
        assert session.has_model and session.model_kind == "starter" and not session.is_demo_model
        assert session.model.path == REPO / "resources" / STARTER
        st = session.status()
        assert st.kind == "starter" and not st.demo and st.model.startswith("starter model ")
        # its extractors: the weightless classic visual one and musicnn, whatever is installed
        assert session.extractor("visual").id == session.model.config.visual_id
        assert session.model.config.visual_id.startswith("classic-visual:")
        assert session.model.config.music_id.startswith("musicnn:")
        assert session.scan_options("footage")["visual_extractor_name"] == "classic"
    finally:
        session.close()


def test_the_shipped_model_says_what_data_built_it_and_is_small():
    folder = REPO / "resources" / STARTER
    cfg = read_config(folder)
    data = cfg.data
    assert data["starter"] is True and "demo" not in data
    assert data["built_by"].startswith("mvpt starter build --root ")
    assert data["world"]["generator"] == "training.starter_world" and data["world"]["clips"] >= 100
    assert data["train_videos"] > data["held_out_videos"] > 0
    assert "generated" in data["what"] and "no real footage" in data["what"]
    assert any(k.startswith("heldout_") for k in cfg.metrics)
    size = sum(f.stat().st_size for f in folder.iterdir())
    assert size < 5_000_000, f"the starter model should stay a few MB, it is {size / 1e6:.1f} MB"
    card = (folder / "MODEL_CARD.md").read_text()
    for needed in ("mvpt starter build", "Held-out figures", "NOT learned", "generated", "chance"):
        assert needed in card
    # what a wheel installs (pyproject data-files) is what is here
    text = (REPO / "pyproject.toml").read_text()
    for f in (WEIGHTS, CONFIG, "MODEL_CARD.md"):
        assert f"resources/starter/{f}" in text and (folder / f).is_file()


def test_a_broken_starter_is_a_clear_no_model_error_and_the_app_keeps_working(tmp_path, monkeypatch, with_starter):
    import engine.paths

    broken = tmp_path / "starter"
    broken.mkdir()
    shutil.copy(REPO / "resources" / STARTER / CONFIG, broken / CONFIG)
    (broken / WEIGHTS).write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")  # a header and no tensors
    monkeypatch.setattr(engine.paths, "starter_model_dir", lambda: broken)
    light = {"visual_extractor": "classic", "music_extractor": "classic-music"}  # no musicnn to load
    session = EngineSession(EngineSettings(device="cpu", data_dir=str(tmp_path / "data"), **light))
    try:
        assert not session.has_model and session.model_kind == "none"
        with pytest.raises(NoModelError, match="starter model .* cannot be used") as e:
            session.model  # noqa: B018
        assert "mvpt train" in str(e.value) and str(broken) in str(e.value)
        st = session.status()
        assert st.kind == "none" and st.model.startswith("no model:")
        assert session.library.catalog.status_counts("music") is not None  # the library still opens
        assert session.scan_options("music")["segment_seconds"] > 0  # and scans still get their options
    finally:
        session.close()
    monkeypatch.setattr(engine.paths, "starter_model_dir", lambda: tmp_path / "missing")
    session = EngineSession(EngineSettings(device="cpu", data_dir=str(tmp_path / "data")))
    with pytest.raises(NoModelError, match="no trained model is configured"):
        session.model  # noqa: B018
    session.close()


def _trained_session(tmp_path):
    """(the starter, a session on a copy of it saved as a creator's own trained model)."""
    from engine.model.checkpoint import save_checkpoint

    starter = load_checkpoint(REPO / "resources" / STARTER)
    cfg = starter.config
    cfg.data = {"train_videos": 1}
    mine = save_checkpoint(tmp_path / "mine", starter.model, cfg)
    return starter, EngineSession(EngineSettings(checkpoint=str(mine), device="cpu", data_dir=str(tmp_path / "d")))


def test_a_configured_checkpoint_wins_over_the_starter(tmp_path, with_starter):
    starter, session = _trained_session(tmp_path)
    try:
        assert session.model_kind == "model" and session.status().model.startswith("model mine ")
        assert session.checkpoint_id != starter.checkpoint_id  # the library's vectors are keyed apart
    finally:
        session.close()


def test_the_reduced_starter_build_runs_end_to_end_and_writes_a_loadable_model(tmp_path):
    from training.starter import StarterConfig, build_starter

    out = tmp_path / "out"
    cfg = StarterConfig.reduced(str(tmp_path / "root"), out=str(out), steps=12)
    stages = set()
    report = run(build_starter(cfg), lambda p: stages.add(p.stage))
    assert {"world", "dataset", "model", "proof", "write"} <= stages
    assert report.train_clips == 4 and report.held_out_clips == 2
    loaded = load_checkpoint(out)
    assert loaded.config.data["starter"] is True and loaded.config.data["world"]["clips"] == 6
    assert loaded.config.visual_id.startswith("classic-visual:") and loaded.config.music_id.startswith("musicnn:")
    assert {p.pool for p in report.proofs} == {"held-out", "all"}
    assert all(p.segments > 0 and len(p.ranks) == 2 for p in report.proofs)
    card = (out / "MODEL_CARD.md").read_text()
    assert f"mvpt starter build --root {tmp_path / 'root'} --reduced" in card and "NOT learned" in card
    saved = json.loads((tmp_path / "root" / "starter.json").read_text())
    assert saved["train_clips"] == 4
    # a second build keeps the world, the datasets and the model
    again = []
    run(build_starter(cfg), lambda p: again.append(p))
    assert any(p.stage == "model" and "up to date" in p.message for p in again)
    assert any(p.stage == "world" and "6 clips kept" in p.message for p in again)


def test_a_library_embedded_for_another_model_is_reindexed_for_the_starter(tmp_path, with_starter):
    """A user's library embedded with an earlier model: the starter session sees its tracks are
    not indexed for it, and ``reindex`` embeds them (the base features are reused)."""
    import torch

    from engine.model.checkpoint import save_checkpoint
    from training.synthmedia import write_audio

    music = tmp_path / "music"
    music.mkdir()
    for i, f in enumerate((220.0, 330.0)):
        write_audio(music / f"t{i}.wav", duration=8.0, freq=f)
    earlier = load_checkpoint(REPO / "resources" / STARTER)
    with torch.no_grad():
        next(earlier.model.parameters()).add_(0.01)  # another model, same extractors
    earlier_dir = save_checkpoint(tmp_path / "earlier", earlier.model, earlier.config)
    data = str(tmp_path / "data")
    old = EngineSession(EngineSettings(checkpoint=str(earlier_dir), device="cpu", data_dir=data))
    try:
        run(old.library.add(music, "music", old.model, checkpoint_id=old.checkpoint_id, workers=1))
        assert old.unindexed() == {}
    finally:
        old.close()
    session = EngineSession(EngineSettings(device="cpu", data_dir=data))
    try:
        assert session.model_kind == "starter"
        assert session.unindexed() == {"music": 2}
        assert run(session.reindex(workers=1)) == {"music": 2}
        assert session.unindexed() == {}
        assert len(session.library.index(session.checkpoint_id, "music", "track")) == 2
    finally:
        session.close()


def test_the_app_s_title_and_status_bar_say_starter_model(qtbot, tmp_path, with_starter):
    from mvpt_desktop.controller import Controller
    from mvpt_desktop.main_window import MainWindow
    from mvpt_desktop.settings import GuiSettings

    c = Controller(EngineSettings(data_dir=str(tmp_path / "data"), device="cpu"), GuiSettings(persist=False))
    w = MainWindow(c)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: c.status is not None, timeout=60_000)
    assert c.status.has_model and c.status.kind == "starter"
    assert w.windowTitle().endswith("(starter model)")
    assert "starter model" in w.model_label.toolTip() + w.model_label.text()


def test_the_held_out_proof_matches_a_brute_force_ranking():
    import numpy as np

    from engine.model.checkpoint import Encoded
    from training.starter import TOP_K, rank_pool

    rng = np.random.default_rng(0)

    def enc(t: int) -> Encoded:
        return Encoded(rng.normal(size=(t, 8)).astype(np.float32), rng.normal(size=8).astype(np.float32), None)

    videos = [enc(int(rng.integers(2, 6))) for _ in range(9)]
    pool = [enc(int(rng.integers(2, 6))) for _ in range(9)]
    proof = rank_pool("x", videos, pool)
    hits, ranks = 0, []
    for i, v in enumerate(videos):
        for seg in v.segments:
            best = [max(float(seg @ s) for s in p.segments) for p in pool]  # a track's best segment
            hits += i in np.argsort(best)[::-1][:TOP_K]
        whole = [float(p.cls @ v.cls) for p in pool]
        ranks.append(int(list(np.argsort(whole)[::-1]).index(i)) + 1)
    assert (proof.hits, proof.ranks, proof.tracks) == (hits, ranks, 9)
    assert proof.segments == sum(len(v.segments) for v in videos) and proof.chance == TOP_K / 9


def test_a_cancelled_world_leaves_no_half_clip_and_resumes(tmp_path):
    from engine.jobs import Cancelled
    from training.starter_world import build_starter_world

    kw = dict(lengths=(9, 10), size=(64, 36), fps=6.0, held_out=(2, 3))
    seen = []

    def cancel() -> bool:
        return len(seen) > 12  # inside the second clip's render

    with pytest.raises(Cancelled):
        run(build_starter_world(tmp_path / "w", 3, cancel=cancel, **kw), seen.append)
    assert not list((tmp_path / "w").rglob(".*partial*"))
    done = sorted(p.name for p in (tmp_path / "w").rglob("*.mp4"))
    assert done == ["s0000_ambient.mp4"]
    events = []
    world = run(build_starter_world(tmp_path / "w", 3, **kw), events.append)
    assert "1 clips kept, 2 to render" in events[0].message
    assert [c.split for c in world.clips] == ["train", "train", "held_out"] and all(c.path.is_file() for c in world.clips)
    assert world.rendered == 2  # what this build did (the starter's report times a stage only then)
    assert run(build_starter_world(tmp_path / "w", 3, **kw)).rendered == 0


def test_sync_counts_more_with_the_starter_unless_the_user_set_it(tmp_path, with_starter):
    """The starter never heard real music: its whole-video list leans on sync (0.5) by default;
    a trained model's on 0.1; a value the user set wins; nothing loads the model to answer."""
    session = EngineSession(EngineSettings(device="cpu", data_dir=str(tmp_path / "d")))
    try:
        assert session.settings.sync_weight is None
        assert session.sync_weight() == 0.1 and session._model is None  # not loaded to answer
        assert session.has_model and session.model_kind == "starter"
        assert session.sync_weight() == 0.5
        session.settings = session.settings.with_(sync_weight=0.2)
        assert session.sync_weight() == 0.2
    finally:
        session.close()
    _, trained = _trained_session(tmp_path)
    try:
        assert trained.has_model and trained.sync_weight() == 0.1
    finally:
        trained.close()
