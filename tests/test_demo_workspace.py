"""The demo workspace end to end, reduced: the real pipeline (world → dataset build → demo
model → library → attributes → held-out proof), reused on a second run, the CLI's tables,
the app's window (offscreen) saying "demo model"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.jobs import run
from engine.recommend import Conditioning, recommend_segments, recommend_tracks
from training.demo import DemoConfig, DemoReport, build_demo, format_proof, session_for
from training.demo_world import DemoWorld


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    os.environ["MVPT_DATA_DIR"] = str(tmp_path_factory.mktemp("demo-data"))  # analysis cache etc.
    stages: list[str] = []
    report = run(build_demo(DemoConfig.reduced(str(root))), lambda p: stages.append(p.stage))
    return {"root": root, "report": report, "stages": stages}


def test_the_pipeline_runs_every_stage_and_reports_the_proof(demo):
    r, root = demo["report"], demo["root"]
    assert [s for s in ("world", "dataset", "model", "library", "attributes", "proof") if s in demo["stages"]] == \
        ["world", "dataset", "model", "library", "attributes", "proof"]
    world = DemoWorld.load(root / "world")
    assert r.library_tracks == len(world.tracks) == 6 and r.footage_clips == 6
    assert r.attributes == ["bright", "drums", "calm"]
    assert [x["track"] for x in r.styles] == [t.path.name for t in world.tracks]
    assert all(len(x["top"]) == 3 and isinstance(x["agrees"], bool) for x in r.styles)  # musicnn's tags, stored by the scan
    held = [c for c in world.clips if c.split == "held_out"]
    assert [Path(p).name for p in r.clips] == [c.path.name for c in held]
    assert len(r.held_out) == 2 and r.chance == pytest.approx(5 / 6)
    for res, clip in zip(r.held_out, held):
        assert res.segments >= 4 and 0 <= res.hits <= res.segments  # 14-20 s clips, 3 s segments
        assert res.track == world.track(clip.track).path.name
        assert res.whole_rank is None or 1 <= res.whole_rank <= 6
    again = DemoReport.load(root)
    assert again.held_out == r.held_out and again.checkpoint == r.checkpoint
    # the checkpoint is marked as the demo model and the session says so
    cfg = json.loads((Path(r.checkpoint) / "config.json").read_text())
    assert cfg["data"]["demo"] is True and cfg["features"]["music"]["id"].startswith("musicnn:")
    s = session_for(root, r.checkpoint)
    try:
        st = s.status()
        assert st.demo and st.model.startswith("demo model")
        assert s.library.catalog.status_counts("music")["ok"] == 6
        assert {a.name for a in s.library.catalog.attributes(s.checkpoint_id)} == {"bright", "drums", "calm"}
    finally:
        s.close()


def test_the_proof_comes_with_its_range_over_training_seeds(demo):
    """Other seeds' models, embedded into the same library, give the held-out figure's range:
    what another machine (other float rounding) may print instead of the demo model's figure."""
    r, root = demo["report"], demo["root"]
    assert [p.seed for p in r.spread] == [0, 1, 2] and r.threads == 1
    assert r.spread[0].hits == sum(x.hits for x in r.held_out) and r.spread[0].ranks == [x.whole_rank for x in r.held_out]
    assert all(p.segments == r.spread[0].segments and len(p.ranks) == len(r.held_out) for p in r.spread)
    assert all((root / "spread" / f"seed-{s}" / "best" / "config.json").is_file() for s in (1, 2))
    lo, hi = min(p.rate for p in r.spread), max(p.rate for p in r.spread)
    text = format_proof(r)
    assert f"over 3 training seeds (0–2): {lo:.0%}–{hi:.0%}" in text and "on another CPU" in text
    assert DemoReport.load(root).spread == r.spread
    s = session_for(root, r.checkpoint)
    try:  # the app's model stays the demo model; the others only add their vectors
        assert s.status().demo and Path(s.model.path).resolve() == Path(r.checkpoint).resolve()
    finally:
        s.close()


def test_the_demo_model_trains_the_same_again_whatever_the_thread_count(demo, tmp_path):
    """One machine, same data and settings: the model is the same to the last bit, because the
    build pins torch's threads (the CPU default here is 2) and restores them afterwards."""
    import torch
    from safetensors.numpy import load_file

    from training.demo import _train_model, pinned_threads

    cfg = DemoConfig.reduced(str(demo["root"]))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pinned_threads(cfg.threads):
            assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
            again = run(_train_model(cfg, demo["root"] / "dataset", tmp_path / "again", None))
        assert torch.get_num_threads() == 2 and not torch.are_deterministic_algorithms_enabled()
    finally:
        torch.set_num_threads(before)
    a = load_file(str(Path(demo["report"].checkpoint) / "model.safetensors"))
    b = load_file(str(again / "model.safetensors"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_the_drums_attribute_moves_drum_driven_tracks_up(demo):
    """The attribute is defined from excerpts of rock/techno/hip-hop: adding it must put more of
    those styles into each scene's suggestions than subtracting it."""
    r, root = demo["report"], demo["root"]
    world = DemoWorld.load(root / "world")
    drummy = {str(t.path.resolve()) for t in world.tracks if t.style in ("rock", "techno", "hiphop")}
    assert 0 < len(drummy) < len(world.tracks)
    s = session_for(root, r.checkpoint)
    try:
        from engine.recommend import analyse_video

        analysis = run(analyse_video(s, r.clips[0], thumbnails=False))

        def drum_share(weight: float) -> float:
            rows = recommend_segments(s, analysis, k=2, conditioning=Conditioning({"drums": weight}))
            picks = [str(Path(x.path).resolve()) in drummy for row in rows for x in row]
            return sum(picks) / len(picks)

        assert drum_share(+1.0) > drum_share(-1.0)

        def whole_video_drum_share(weight: float) -> float:  # [CLS] queries move along the [CLS] direction
            ranked = recommend_tracks(s, analysis, k=2, conditioning=Conditioning({"drums": weight}))
            return sum(str(Path(t.path).resolve()) in drummy for t in ranked) / len(ranked)

        assert whole_video_drum_share(+1.0) > whole_video_drum_share(-1.0)
    finally:
        s.close()


def test_a_second_build_reuses_everything(demo):
    r, root = demo["report"], demo["root"]
    weights = Path(r.checkpoint) / "model.safetensors"
    before = weights.stat().st_mtime_ns
    stages: list[str] = []
    again = run(build_demo(DemoConfig.reduced(str(root))), lambda p: stages.append(p.message or ""))
    assert weights.stat().st_mtime_ns == before  # not retrained
    assert "demo model is up to date" in stages
    assert again.held_out == r.held_out


def test_cli_prints_the_tables_and_the_app_renders_the_demo(demo, tmp_path):
    """`mvpt demo --reduced --screenshot PNG`: the proof, per-scene and whole-video tables, then
    the real app (another process, offscreen) on the held-out clip, titled as the demo."""
    root = demo["root"]
    png = tmp_path / "window.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    out = subprocess.run([str(Path(sys.executable).parent / "mvpt"), "demo", "--root", str(root), "--reduced", "--quiet",
                          "--screenshot", str(png)], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert "Held-out clips: is the clip's own track in the top 5 of 6 tracks?" in text
    assert "scene by scene" in text and "For the whole video" in text
    scenes = [line for line in text.splitlines() if line.strip()[:2].strip().isdigit() and "0:0" in line]
    assert len(scenes) >= 4
    from PIL import Image

    with Image.open(png) as im:
        assert im.size[0] >= 1000 and im.size[1] >= 600
        small = np.asarray(im.convert("RGB").resize((200, 120))).reshape(-1, 3)
    colours = len(np.unique(small, axis=0))
    assert colours > 200  # a rendered window with pictures, not a blank frame
    shot = next(line for line in text.splitlines() if line.startswith("screenshot written to"))
    assert "(demo model)" in shot and Path(demo["report"].clips[0]).name in shot, shot
