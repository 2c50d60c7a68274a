"""The analysis pipeline against a 1,000-track library, side by side in one run (issue 13).

    .venv/bin/python bench/recommend.py [--tracks 1000] [--seconds 180] [--repeats 3] [--only TEXT] [--long-minutes 120]

For a 3-minute 1080p30 H.264 video with keyframes every 2 s, encoded twice (x264 ultrafast: the
cheapest H.264 to decode; and as phones and cameras write it: CABAC, deblocking, no B-frames),
and one with keyframes every 8.3 s and B-frames (x264's default GOP), it prints: a plain full decode
(every frame, threaded), a keyframe-only decode, and, in this process as the app runs it,
the time to the first scene's suggestions (streamed), to every scene's and the whole-video
list, and to the same from the cache (a re-opened file); then ``mvpt recommend`` in a fresh
process with the analysis cached. The analysis is the app's: features, thumbnails, shot cuts
and visual energy (every frame read once). The speech in the footage's sound, which only the
mix's ducking uses, is heard after the lists are out, as the app does (``hear_speech``): its
time is printed in a column of its own. Each measurement is repeated (medians), and the
CPU time of the analysis is set against the full decode's, a ratio a busy machine disturbs less
than the wall clock's. With ``--long-minutes``: the peak RSS of
analysing a 10-minute and a long low-resolution video in fresh processes (memory flat in
duration).

Set-up (not timed): the videos (cached in the temp folder); a music library of 1,000
catalogued 3-minute tracks whose base features are drawn from a clustered mixture (decoding
50 hours of audio is `bench/library.py`'s job, not this one's), embedded with a
random-initialised default-size MVPt (5.6 M parameters) for the classic visual + musicnn
feature dims.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

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


def cpu_seconds() -> float:
    """User + system CPU time of this process, all its threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def full_decode(path: Path, keyframes_only: bool = False) -> tuple[float, float]:
    """(wall s, CPU s) of decoding every frame (or only the keyframes), threaded."""
    from engine.media.container import open_media, video_stream

    t, c0 = time.perf_counter(), cpu_seconds()
    with open_media(path) as c:
        vs = video_stream(c)
        vs.codec_context.thread_type = "AUTO"
        if keyframes_only:
            vs.codec_context.skip_frame = "NONKEY"
        for _ in c.decode(vs):
            pass
    return time.perf_counter() - t, cpu_seconds() - c0


def in_app(video: Path, data_dir: Path, checkpoint: Path) -> dict[str, float]:
    """The app's way (tasks.open_media's engine calls): stream, rank the first scene, finish, re-open."""
    from engine.analysis import PartialAnalysis
    from engine.recommend import analyse_video, best_soundtracks, hear_speech, recommend_segments
    from engine.session import EngineSession
    from engine.settings import EngineSettings

    s = EngineSession(EngineSettings(data_dir=str(data_dir), checkpoint=str(checkpoint), device="cpu"))
    s.model  # noqa: B018 - loaded at start-up in the app, before any file is opened
    from engine.recommend import preload

    preload()  # the app's start-up work (imports, the speech detector), in a worker before any file
    s.library.index(s.checkpoint_id, "music", "segment")  # the index is loaded at start-up too
    out: dict[str, float] = {}
    shutil.rmtree(data_dir / "analyses", ignore_errors=True)  # an earlier repeat's analysis
    t, c0 = time.perf_counter(), cpu_seconds()
    job = analyse_video(s, video)
    while True:
        try:
            ev = next(job)
        except StopIteration as stop:
            a = stop.value
            break
        if isinstance(ev.data, PartialAnalysis) and "first" not in out:
            recommend_segments(s, ev.data, 5)
            out["first"] = time.perf_counter() - t
    recommend_segments(s, a, 5)
    best_soundtracks(s, a, 5)
    out["all"] = time.perf_counter() - t
    out["cpu"] = cpu_seconds() - c0
    out.setdefault("first", out["all"])
    from engine.jobs import run

    t = time.perf_counter()
    a = run(hear_speech(s, a))  # what the app does once the lists are out
    out["speech"] = time.perf_counter() - t
    out["speech_regions"] = float(len(a.speech))
    t = time.perf_counter()

    b = run(analyse_video(s, video))
    recommend_segments(s, b, 5)
    best_soundtracks(s, b, 5)
    out["cached"] = time.perf_counter() - t
    cuts = getattr(a.video_rhythm, "cuts", None)
    out["cuts"] = float(len(cuts)) if cuts is not None else float("nan")
    s.close()
    return out


def peak_rss(video: Path, data_dir: Path, checkpoint: Path) -> float:
    """MB: analysing ``video`` in a fresh process. Its own high-water mark (VmHWM): Linux's
    ru_maxrss of a child counts the parent's RSS at the fork (the kernel carries the old memory
    map's peak over the exec), so after the 1080p runs above both videos read ~900 MB."""
    code = ("import resource,sys; from engine.jobs import run; from engine.recommend import analyse_video;"
            "from engine.session import EngineSession; from engine.settings import EngineSettings;"
            f"s=EngineSession(EngineSettings(data_dir={str(data_dir)!r}, checkpoint={str(checkpoint)!r}, device='cpu'));"
            f"run(analyse_video(s, {str(video)!r}));"
            "hwm=[l for l in open('/proc/self/status') if l.startswith('VmHWM:')] if sys.platform == 'linux' else [];"
            "print(int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def small_long_video(path: Path, seconds: float) -> Path:
    if path.exists():
        return path
    from training.synthmedia import write_video

    tmp = path.with_suffix(".part.mp4")
    write_video(tmp, seconds, size=(320, 180), fps=15, gop=30, audio=False)
    tmp.rename(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tracks", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each measurement (medians printed)")
    ap.add_argument("--long-minutes", type=float, default=0.0, help="also measure peak RSS on a video this long")
    ap.add_argument("--only", default="", help="only the videos whose label contains this text")
    ap.add_argument("--rss-only", action="store_true", help="only the peak RSS (with --long-minutes)")
    args = ap.parse_args()
    from media import make_video  # bench/media.py

    cache = Path(tempfile.gettempdir()) / "mvpt-bench-media"
    cache.mkdir(exist_ok=True)
    videos = {
        # x264 ultrafast: CAVLC, no deblocking, no B-frames: the cheapest H.264 there is to decode, so
        # the analysis's own work per frame weighs the most (screen recorders, some action cameras)
        "2 s GOP, ultrafast": make_video(cache / f"bench_{int(args.seconds)}s_gop60_uf.mp4", args.seconds, 60,
                                         "ultrafast"),
        # what phones and cameras write: CABAC, deblocking, keyframes every 2 s, no B-frames
        "2 s GOP, phone-like": make_video(cache / f"bench_{int(args.seconds)}s_gop60_vf_nob.mp4", args.seconds,
                                          60, "veryfast", "bframes=0"),
        "8.3 s GOP, B-frames": make_video(cache / f"bench_{int(args.seconds)}s_gop250_vf.mp4",
                                          args.seconds, 250, "veryfast")}
    if args.only:
        videos = {k: v for k, v in videos.items() if args.only in k}
    work = Path(tempfile.mkdtemp(prefix="mvpt-bench-rec-"))
    t = time.perf_counter()
    build_library(work / "data", work / "model", args.tracks, args.seconds)
    print(f"set-up: {args.tracks} tracks catalogued and embedded in {time.perf_counter() - t:.1f} s")
    print(f"\n{args.seconds:.0f} s 1080p30 vs {args.tracks} tracks (seconds; ratios to the decodes)\n")
    print(f"medians of {args.repeats} runs, each kind in turn; CPU: user + system seconds of all threads "
          "(a figure that a busy machine disturbs less than the wall clock)\n")
    print("| video | full decode | keyframes only | first scene's suggestions | all (+cuts) | "
          "CPU: all / full decode | then speech (ducking) | cached re-open (in app) | "
          "`mvpt recommend`, cached, fresh process |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    env = {**os.environ, "MVPT_DATA_DIR": str(work / "data")}
    for label, video in ({} if args.rss_only else videos).items():
        runs = []
        for _ in range(args.repeats):
            runs.append((full_decode(video), full_decode(video, keyframes_only=True),
                         in_app(video, work / "data", work / "model")))
        (full, full_cpu), (key, _) = (tuple(median(x[i][j] for x in runs) for j in range(2)) for i in range(2))
        r = {k: median(x[2][k] for x in runs) for k in runs[0][2]}
        # each run's own ratio (the decode and the analysis ran side by side), then the median:
        # the machine's speed drifts between runs more than it does within one
        ratio = median(x[2]["all"] / x[0][0] for x in runs)
        cpu_ratio = median(x[2]["cpu"] / x[0][1] for x in runs)
        cmd = [str(Path(sys.executable).with_name("mvpt")), "recommend", str(video), "--checkpoint",
               str(work / "model"), "--data-dir", str(work / "data"), "--device", "cpu", "--top", "5"]
        t = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        cli = time.perf_counter() - t
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        print(f"| {label} | {full:.2f} | {key:.2f} | {r['first']:.2f} ({r['first'] / key:.2f}x keyframes) | "
              f"{r['all']:.2f} ({ratio:.2f}x full; {r['cuts']:.0f} cuts) | "
              f"{r['cpu']:.1f} / {full_cpu:.1f} ({cpu_ratio:.2f}x) | +{r['speech']:.2f} | "
              f"{r['cached']:.3f} | {cli:.2f} |")
    if args.long_minutes > 0:
        short = small_long_video(cache / "rss_10min_320.mp4", 600.0)
        long = small_long_video(cache / f"rss_{int(args.long_minutes)}min_320.mp4", 60.0 * args.long_minutes)
        a, b = peak_rss(short, work / "data", work / "model"), peak_rss(long, work / "data", work / "model")
        print(f"\npeak RSS analysing 320x180 video: 10 min {a:.0f} MB, {args.long_minutes:.0f} min {b:.0f} MB "
              f"(ratio {b / a:.2f}; duration x{args.long_minutes / 10:.0f})")


if __name__ == "__main__":
    main()
