""""Teach it your style": the dialog runs a real ``mvpt learn`` child process on a few tiny
generated edits with a tiny model, shows the skipped files and the held-out figures, switches
the app only when learn says the new model is better, and leaves the old model active on a
cancel or an empty folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.settings import EngineSettings


def _tiny_checkpoint(out: Path, seed: int) -> Path:
    """A tiny random MVPt on the weightless extractors' features, segments of 1 s."""
    import torch

    from engine.features.registry import create_extractor
    from engine.model.checkpoint import CheckpointConfig, save_checkpoint
    from engine.model.config import MVPTConfig
    from engine.model.factory import build_model

    vis, mus = create_extractor("classic"), create_extractor("classic-music")
    torch.manual_seed(seed)
    cfg = MVPTConfig(visual_dim=vis.dim, music_dim=mus.dim, d_model=16, n_layers=1, n_heads=2, ff_dim=32,
                     out_dim=16, seq_len=4, dropout=0.0)
    ck = CheckpointConfig(model=cfg, features={"visual": {"id": vis.id, "dim": vis.dim},
                                               "music": {"id": mus.id, "dim": mus.dim}}, segment_seconds=1.0, seq_len=4)
    save_checkpoint(out, build_model(cfg), ck)
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return _tiny_checkpoint(tmp_path_factory.mktemp("learn-base") / "model", seed=0)


@pytest.fixture(scope="module")
def edits(tmp_path_factory) -> Path:
    """6 finished edits (picture and music vary together) and one video without a soundtrack."""
    from training.synthmedia import write_video

    root = tmp_path_factory.mktemp("finished edits")
    for i in range(6):
        write_video(root / f"edit_{i}.mp4", 4.0, size=(96, 64), fps=10, hue=i / 6, audio_freq=220.0 * 1.25 ** i)
    write_video(root / "silent_cut.mp4", 4.0, size=(96, 64), fps=10, audio=False)
    return root


def _controller(qtbot, base: Path, data: Path):
    from mvpt_desktop.controller import Controller
    from mvpt_desktop.settings import GuiSettings

    c = Controller(EngineSettings(checkpoint=str(base), data_dir=str(data), device="cpu"), GuiSettings(persist=False))
    c.start()
    qtbot.waitUntil(lambda: c.status is not None, timeout=60_000)
    assert c.status.has_model and c.status.checkpoint_path == str(base)
    return c


def _dialog(qtbot, c):
    from mvpt_desktop.learn_dialog import LearnDialog

    dlg = LearnDialog(c)
    qtbot.addWidget(dlg)
    dlg.steps = 8  # a few fine-tuning steps: every stage runs, in seconds
    dlg.show()
    return dlg


def test_a_real_run_shows_skips_and_figures_and_follows_the_verdict(qtbot, tmp_path, base, edits):
    c = _controller(qtbot, base, tmp_path / "data")
    dlg = _dialog(qtbot, c)
    stages = []
    with qtbot.waitSignal(dlg.finishedRun, timeout=240_000) as sig:
        dlg.start(str(edits))
        qtbot.waitUntil(lambda: dlg.stage.text() not in ("", "Starting…") or not dlg.running, timeout=120_000)
        stages.append(dlg.stage.text())
    out = sig.args[0]
    assert out.state in ("switched", "kept"), out.message
    res = out.result
    assert res["edits"] == 6 and res["held_out"] >= 1
    skipped = [dlg.skipped.item(i).text() for i in range(dlg.skipped.count())]
    assert len(skipped) == 1 and skipped[0].startswith("silent_cut.mp4: ") and "soundtrack" in skipped[0]
    text = dlg.result.text()
    assert "Current model: own track in the top 5" in text and "New model: own track in the top 5" in text
    new = Path(res["checkpoint"])
    assert new.is_dir() and new.parent == tmp_path / "data" / "models" / "learned" / "my-style"
    assert base.is_dir()  # the previous model is never touched
    if res["switch"]:
        assert out.state == "switched" and "uses it now" in text
        qtbot.waitUntil(lambda: c.status is not None and c.status.checkpoint_path == str(new), timeout=60_000)
        assert c.session.settings.checkpoint == str(new)
    else:
        assert out.state == "kept" and "keeps the current one" in text
        assert c.session.settings.checkpoint == str(base) and c.status.checkpoint_path == str(base)
    assert stages and not dlg.running and dlg.start_button.isEnabled()


def _fake_result(checkpoint: Path, switch: bool) -> dict:
    score = {"hit5": 40.0, "chance5": 25.0, "median_rank": 2.0, "mean_rank": 2.5, "scenes": 12, "videos": 3,
             "tracks": 20}
    return {"checkpoint": str(checkpoint), "switch": switch, "better": switch, "edits": 20, "held_out": 4,
            "skipped": [{"file": "talk.mp4", "reason": "the soundtrack sounds like speech, not music"}],
            "before": score, "after": {**score, "hit5": 55.0 if switch else 30.0}, "warnings": [],
            "reason": "the held-out edits say so"}


def test_it_switches_only_when_learn_says_better_and_reanalyses_the_open_video(qtbot, tmp_path, base):
    newer = _tiny_checkpoint(tmp_path / "learned" / "v1", seed=1)
    c = _controller(qtbot, base, tmp_path / "data")
    dlg = _dialog(qtbot, c)
    dlg._base = str(base)
    dlg._show_result(_fake_result(newer, switch=False))  # not better: nothing changes
    assert dlg.outcome.state == "kept" and "keeps the current one" in dlg.result.text() and "v1" in dlg.result.text()
    assert c.session.settings.checkpoint == str(base)
    assert "talk.mp4: the soundtrack sounds like speech" in dlg.skipped.item(0).text()
    with qtbot.waitSignal(c.statusChanged, timeout=60_000):
        dlg._show_result(_fake_result(newer, switch=True))
    assert dlg.outcome.state == "switched" and "uses it now" in dlg.result.text() and str(base) in dlg.result.text()
    assert c.status.checkpoint_path == str(newer) and c.session.settings.checkpoint == str(newer)


def test_cancel_leaves_the_old_model_active_and_writes_no_version(qtbot, tmp_path, base, edits):
    c = _controller(qtbot, base, tmp_path / "data")
    dlg = _dialog(qtbot, c)
    dlg.steps = 100_000  # it would run long: the cancel ends it
    with qtbot.waitSignal(dlg.finishedRun, timeout=120_000) as sig:
        dlg.start(str(edits))
        qtbot.waitUntil(lambda: dlg.stage.text().startswith(("Reading", "Learning")) or not dlg.running,
                        timeout=90_000)
        dlg.cancel()
    assert sig.args[0].state == "cancelled", sig.args[0].message
    assert "current one is still active" in dlg.result.text()
    learned = tmp_path / "data" / "models" / "learned" / "my-style"
    assert not [p for p in learned.glob("v*") if p.is_dir()]
    assert c.session.settings.checkpoint == str(base) and c.status.checkpoint_path == str(base)


def test_an_empty_folder_says_what_to_do(qtbot, tmp_path, base):
    c = _controller(qtbot, base, tmp_path / "data")
    dlg = _dialog(qtbot, c)
    empty = tmp_path / "nothing here"
    empty.mkdir()
    with qtbot.waitSignal(dlg.finishedRun, timeout=120_000) as sig:
        dlg.start(str(empty))
    out = sig.args[0]
    assert out.state == "error" and "holds no video files" in out.message and "still active" in out.message
    assert c.session.settings.checkpoint == str(base)
    dlg.start(str(tmp_path / "no such folder"))
    assert dlg.outcome.state == "error" and "Choose the folder" in dlg.outcome.message


def test_a_new_model_gets_the_library_indexed_for_it_and_the_video_analysed_again(qtbot, world, tmp_path):
    """What a switch does after learning (or a model chosen in Settings): the library's tracks
    and clips get vectors for the new model before the open video is analysed with it."""
    import torch
    from gui_support import make_window, open_and_wait

    from engine.model.checkpoint import load_checkpoint, save_checkpoint
    from engine.model.factory import build_model

    w = make_window(qtbot, world)
    c = w.controller
    open_and_wait(qtbot, w, world["footage"] / "video_1.mp4")
    cfg = load_checkpoint(world["checkpoint"]).config  # same extractors and segments, other weights
    torch.manual_seed(7)
    newer = save_checkpoint(tmp_path / "my-style" / "v1", build_model(cfg.model), cfg)
    with qtbot.waitSignal(c.opened, timeout=120_000):
        c.switch_model(str(newer))
    assert c.status.checkpoint_path == str(newer) and c.current.analysis.checkpoint_id == c.status.checkpoint_id
    cat = c.session.library.catalog
    counts = cat.embedding_counts(c.status.checkpoint_id)
    assert counts["music"]["items"] == cat.status_counts("music")["ok"] > 0
    assert counts["footage"]["items"] == cat.status_counts("footage")["ok"]
    assert c.results is not None and c.segment_rows(0)  # suggestions from the new model's vectors
