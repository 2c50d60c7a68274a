"""Base-feature speed: CLIP ViT-B-32 images/s, classic visual frames/s, musicnn × realtime.

    .venv/bin/python bench/features.py [--device cpu|cuda] [--threads N] [--only clip classic musicnn]

- CLIP: ViT-B-32 with random weights (same compute as the real ones; no weights here),
  ``encode_frames`` on 398×224 frames as the media layer delivers them, preprocessing
  included. CPU: fp32, ``--threads`` torch threads; CUDA: fp16 under inference_mode.
- classic visual: ``segment_features`` on 8-frame segments of 398×224 frames, on ONE core
  (numpy's BLAS is pinned to one thread before numpy loads; goal ≥ 200 frames/s), then
  end to end on a generated 60 s 640×360 video (decoding included).
- musicnn: ``extract`` on a generated 120 s stereo 44.1 kHz MP3, decoding included
  (goal ≥ 60× realtime on a 2-core machine). Also classic-music when it is installed.

Media are generated once and kept under the system temp folder. Medians over ``--repeats``.
"""

from __future__ import annotations

import os

# Before numpy loads: the classic extractor is measured on one core.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.features.base import FeatureError  # noqa: E402
from engine.jobs import run  # noqa: E402
from engine.media.grid import SegmentGrid  # noqa: E402
from engine.media.probe import probe  # noqa: E402
from training.synthmedia import _frame_rgb, write_audio, write_video  # noqa: E402

MEDIA = Path(tempfile.gettempdir()) / "mvpt-bench-features"


def frames_224(n: int) -> np.ndarray:
    """uint8 [n, 224, 398, 3]: distinct frames of the synthetic scene (16:9 at 224 px)."""
    base = np.stack([_frame_rgb(i * 4, 25, 398, 224) for i in range(min(n, 16))])
    return base[np.arange(n) % len(base)]


CPU_TIMES: list[float] = []


def timed(fn, repeats: int) -> float:
    """Median wall time; the median CPU time of this process goes to ``CPU_TIMES`` (on a
    shared machine, work / CPU-second says what an idle machine would do per core)."""
    times, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    CPU_TIMES.append(statistics.median(cpu))
    return statistics.median(times)


def per_cpu(work: float) -> str:
    return f"{work / max(CPU_TIMES[-1], 1e-9):.1f} per CPU-second"


def bench_clip(device: str, threads: int, images: int, batch: int | None, repeats: int) -> None:
    import torch

    from engine.features.clip import ClipExtractor

    torch.set_num_threads(threads)
    t = time.perf_counter()
    ex = ClipExtractor("ViT-B-32", None, device=device, batch_size=batch)
    built = time.perf_counter() - t
    x = frames_224(images)
    ex.encode_frames(x[: ex.batch_size])  # warm-up (CUDA kernels, allocator)
    dt = timed(lambda: ex.encode_frames(x), repeats)
    prec = "fp16" if ex.half else "fp32"
    where = f"{torch.cuda.get_device_name()}" if ex.half else f"CPU, {threads} torch threads"
    print(f"CLIP ViT-B-32 image tower ({where}, {prec}, batch {ex.batch_size}): "
          f"{images / dt:.1f} images/s  [{images} images in {dt:.2f} s, {per_cpu(images)}; "
          f"model built in {built:.1f} s]")
    t = time.perf_counter()
    ex.encode_text([f"a music video scene number {i}" for i in range(64)])
    print(f"CLIP ViT-B-32 text tower: {64 / (time.perf_counter() - t):.0f} prompts/s")


def bench_classic(repeats: int) -> None:
    from engine.features.classic_visual import ClassicVisualExtractor, segment_features

    x = frames_224(8 * 25).reshape(25, 8, 224, 398, 3)
    segment_features(x[0])
    dt = timed(lambda: [segment_features(seg) for seg in x], repeats)
    rate = x.shape[0] * x.shape[1] / dt
    print(f"classic visual features, 398×224 frames, 1 core: {rate:.0f} frames/s "
          f"({dt / x.shape[0] * 1000:.1f} ms per 8-frame segment, {per_cpu(x.shape[0] * x.shape[1])}; "
          f"goal ≥ 200 frames/s)")
    video = MEDIA / "classic-60s-640x360.mp4"
    if not video.exists():
        MEDIA.mkdir(parents=True, exist_ok=True)
        write_video(video.with_suffix(".part.mp4"), 60.0, size=(640, 360), fps=25, gop=50, audio=False)
        video.with_suffix(".part.mp4").rename(video)
    ex = ClassicVisualExtractor()
    grid = SegmentGrid(probe(video).duration)
    dt = timed(lambda: run(ex.extract(video, grid)), repeats)
    print(f"classic visual end to end (60 s 640×360 H.264, keyframe every 2 s, decode included): "
          f"{60.0 / dt:.0f}× realtime, {len(grid) * ex.frames_per_segment / dt:.0f} frames/s "
          f"(media seconds {per_cpu(60.0)})")


def bench_music(name: str, device: str, threads: int, repeats: int) -> None:
    import torch

    from engine.features.registry import create_extractor

    torch.set_num_threads(threads)
    song = MEDIA / "song-120s.mp3"
    if not song.exists():
        MEDIA.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        t = np.arange(120 * 44100) / 44100
        mix = 0.2 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t)) + 0.05 * rng.standard_normal(t.size)
        write_audio(song.with_suffix(".part.mp3"), np.stack([mix, mix]).astype(np.float32))
        song.with_suffix(".part.mp3").rename(song)
    try:
        t = time.perf_counter()
        ex = create_extractor(name, device=device)
        built = time.perf_counter() - t
    except FeatureError as e:
        print(f"{name}: skipped ({str(e).splitlines()[0]})")
        return
    grid = SegmentGrid(probe(song).duration)
    run(ex.extract(song, grid))  # warm-up
    dt = timed(lambda: run(ex.extract(song, grid)), repeats)
    print(f"{name} ({ex.id}, {device}, {threads} torch threads): {probe(song).duration / dt:.0f}× realtime "
          f"for a 120 s MP3, decoding included ({dt:.2f} s, media seconds {per_cpu(probe(song).duration)}; "
          f"model loaded in {built:.1f} s; goal ≥ 60×)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu or cuda (CLIP and musicnn)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads (CLIP, musicnn)")
    p.add_argument("--only", nargs="+", choices=("clip", "classic", "musicnn"), default=("clip", "classic", "musicnn"))
    p.add_argument("--clip-images", type=int, default=None, help="default: 64 on CPU, 2048 on CUDA")
    p.add_argument("--clip-batch", type=int, default=None)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    import torch

    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores{load}, device {args.device}")
    if "clip" in args.only:
        images = args.clip_images or (2048 if args.device.startswith("cuda") else 64)
        bench_clip(args.device, args.threads, images, args.clip_batch, args.repeats)
    if "classic" in args.only:
        bench_classic(args.repeats)
    if "musicnn" in args.only:
        bench_music("musicnn", args.device, args.threads, args.repeats)
        bench_music("classic-music", "cpu", args.threads, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
