"""``mvpt-desktop [FILE] --screenshot PNG`` and ``python -m mvpt_desktop.screenshot``: the
real entry points, in a child process, offscreen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(args, tmp_path, timeout=240):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MVPT_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def test_headless_screenshot_without_a_model(tmp_path, video_mp4):
    png = tmp_path / "shot.png"
    proc = _run(["main.py", str(video_mp4), "--screenshot", str(png)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    assert "Traceback" not in proc.stderr


def test_screenshot_command_renders_real_results(tmp_path, world):
    from PIL import Image

    png = tmp_path / "results.png"
    session = world["session"]
    proc = _run(["-m", "mvpt_desktop.screenshot", str(png), str(world["footage"] / "video_3.mp4"),
                 "--checkpoint", world["checkpoint"], "--data-dir", str(session.data_dir), "--device", "cpu",
                 "--segment", "2"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    img = Image.open(png).convert("RGB")
    assert img.size == (1400, 860)
    colours = img.resize((140, 86)).getcolors(140 * 86)
    assert colours is not None and len(colours) > 200  # a window full of content, not a blank one
