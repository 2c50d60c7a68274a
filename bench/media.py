"""Media-layer speed: sampling 2 frames per 6.7 s segment vs decoding the whole stream,
and audio decoding speed (× realtime).

    .venv/bin/python bench/media.py [--seconds 60] [--repeats 3]

Generates (once, cached under the system temp folder) 60 s 1080p30 H.264 + AAC videos
with two keyframe spacings: 2 s (typical of cameras and phones) and 8.3 s (x264's default
GOP of 250, typical of web re-encodes). Prints medians over the repeats, side by side in
one run, and the ratio sample/full (goal ≤ 0.5).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.media.audio import decode_audio  # noqa: E402
from engine.media.container import open_media, video_stream  # noqa: E402
from engine.media.frames import choose_strategy, sample_frames  # noqa: E402
from engine.media.grid import SegmentGrid  # noqa: E402
from engine.media.probe import probe  # noqa: E402
from training.synthmedia import write_audio, write_video  # noqa: E402


def make_video(path: Path, seconds: float, gop: int, preset: str, x264_params: str | None = None) -> Path:
    if path.exists():
        return path
    w, h = 1920, 1080
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    yy, xx = np.mgrid[0:h, 0:w]
    grad = ((xx + yy) % 256).astype(np.uint8)[..., None]
    base = (base // 2 + grad // 2).astype(np.uint8)

    def frame(i: int) -> np.ndarray:  # camera pan: the picture moves 6 px per frame
        img = np.roll(base, shift=(i * 6) % w, axis=1)
        if (i // 90) % 2:  # a "cut" every 3 s
            img = 255 - img
        return img

    tmp = path.with_suffix(".part.mp4")
    write_video(tmp, seconds, size=(w, h), fps=30, gop=gop, frames_fn=frame, crf=23, preset=preset,
                x264_params=x264_params)
    tmp.rename(path)
    return path


def full_decode(path: Path) -> int:
    n = 0
    with open_media(path) as c:
        vs = video_stream(c)
        vs.codec_context.thread_type = "AUTO"
        for _ in c.decode(vs):
            n += 1
    return n


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cache = Path(tempfile.gettempdir()) / "mvpt-bench-media"
    cache.mkdir(exist_ok=True)
    print(f"video: {args.seconds:.0f} s 1080p30 H.264 + AAC; 2 frames per 6.7 s segment at 224 px; "
          f"median of {args.repeats}")
    print(f"{'keyframes every':<16} {'strategy':<11} {'sample s':>9} {'full decode s':>14} {'ratio':>6}")
    # x264 "veryfast" uses B-frames, as most real encodes do.
    for gop in (60, 250):
        path = make_video(cache / f"bench_{int(args.seconds)}s_gop{gop}_vf.mp4", args.seconds, gop, "veryfast")
        info = probe(path)
        grid = SegmentGrid(info.duration, 6.7)
        strategy = choose_strategy(info, grid, 2, info.video.keyframe_interval)
        t_sample = median_time(lambda p=path, g=grid, i=info: sum(1 for _ in sample_frames(p, g, 2, 224, info=i)),
                               args.repeats)
        t_full = median_time(lambda p=path: full_decode(p), args.repeats)
        print(f"{gop / 30:>13.1f} s  {strategy:<11} {t_sample:>9.2f} {t_full:>14.2f} {t_sample / t_full:>6.2f}")
    song = cache / "bench_song_300s.flac"
    if not song.exists():
        write_audio(song, duration=300.0, sample_rate=44100, freq=330.0)
    for target in (16000, 48000):
        t = median_time(lambda r=target: decode_audio(song, r), args.repeats)
        print(f"audio: 300 s FLAC 44.1 kHz stereo → mono {target} Hz: {t:.2f} s = {300 / t:.0f}× realtime")
    mp3 = cache / "bench_song_300s.mp3"
    if not mp3.exists():
        write_audio(mp3, duration=300.0, sample_rate=44100, freq=330.0)
    t = median_time(lambda: decode_audio(mp3, 16000), args.repeats)
    print(f"audio: 300 s MP3 44.1 kHz stereo → mono 16000 Hz: {t:.2f} s = {300 / t:.0f}× realtime")


if __name__ == "__main__":
    main()
