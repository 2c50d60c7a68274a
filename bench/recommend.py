"""Time from `mvpt recommend` start to the first answer: a 3-minute 1080p video against a
1,000-track music library.

    .venv/bin/python bench/recommend.py [--tracks 1000] [--seconds 180]

Set-up (not timed): a 180 s 1080p30 H.264 + AAC video (keyframe every 2 s, cached in the
temp folder); a music library of 1,000 catalogued 3-minute tracks whose base features are
drawn from a clustered mixture (decoding 50 hours of audio is `bench/library.py`'s job, not
this one's), embedded with a random-initialised default-size MVPt (5.6 M parameters) for the
classic visual + musicnn feature dims. Timed: the `mvpt recommend` command in a fresh
process — start-up, imports, probe, frame sampling, classic features, the model, the index
search, the whole-video list with fitted offsets — then the same again with the analysis
cached.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def build_library(data_dir: Path, checkpoint: Path, tracks: int, seconds: float) -> None:
    import torch

    from engine.features.registry import create_extractor
    from engine.jobs import run
    from engine.library.facade import Library
    from engine.library.records import ProcessedFile
    from engine.model.checkpoint import CheckpointConfig, save_checkpoint
    from engine.model.config import MVPTConfig
    from engine.model.factory import build_model

    visual = create_extractor("classic")
    music_id, music_dim = "musicnn:MTT_musicnn:pen-meanmax:hop187:v1", 400
    torch.manual_seed(0)
    cfg = MVPTConfig(visual_dim=visual.dim, music_dim=music_dim)
    model = build_model(cfg)
    save_checkpoint(checkpoint, model, CheckpointConfig(
        model=cfg, features={"visual": {"id": visual.id, "dim": visual.dim}, "music": {"id": music_id, "dim": music_dim}},
        segment_seconds=6.7, seq_len=30, data={"bench": True}))
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(64, music_dim)).astype(np.float32)
    segs = int(seconds // 6.7)
    with Library(data_dir) as lib:
        folder = lib.catalog.add_folder(data_dir / "music", "music")
        for i in range(tracks):
            c = centres[rng.integers(0, len(centres), segs)]
            feats = (c + 0.3 * rng.normal(size=c.shape)).astype(np.float32)
            f = ProcessedFile(path=str(data_dir / "music" / f"track_{i:04d}.mp3"), size=1, mtime_ns=0,
                              content_hash=f"h{i}", duration=segs * 6.7, title=f"Track {i}", artist="Bench",
                              segments=[(j * 6.7, (j + 1) * 6.7) for j in range(segs)], features={music_id: feats})
            lib.catalog.record_ok(folder.id, "music", f, music_id, 6.7)
        from engine.model.checkpoint import load_checkpoint

        run(lib.embed(load_checkpoint(checkpoint), "music"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tracks", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=180.0)
    args = ap.parse_args()
    from media import make_video  # bench/media.py

    cache = Path(tempfile.gettempdir()) / "mvpt-bench-media"
    cache.mkdir(exist_ok=True)
    video = make_video(cache / f"bench_{int(args.seconds)}s_gop60_uf.mp4", args.seconds, 60, "ultrafast")
    work = Path(tempfile.mkdtemp(prefix="mvpt-bench-rec-"))
    t = time.perf_counter()
    build_library(work / "data", work / "model", args.tracks, args.seconds)
    print(f"set-up: {args.tracks} tracks catalogued and embedded in {time.perf_counter() - t:.1f} s")
    cmd = [str(Path(sys.executable).with_name("mvpt")), "recommend", str(video), "--checkpoint", str(work / "model"),
           "--data-dir", str(work / "data"), "--device", "cpu", "--top", "5"]
    env = {**os.environ, "MVPT_DATA_DIR": str(work / "data")}
    for label in ("first run (analysis computed)", "second run (analysis cached)"):
        t = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        dt = time.perf_counter() - t
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        print(f"mvpt recommend, {args.seconds:.0f} s 1080p video vs {args.tracks} tracks, {label}: {dt:.1f} s")
    print(out.stdout.splitlines()[0])


if __name__ == "__main__":
    main()
