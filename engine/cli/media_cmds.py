"""``mvpt probe FILE``: what the media layer sees in a file."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from engine.media.grid import DEFAULT_SEGMENT_SECONDS, SegmentGrid
from engine.media.probe import probe


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("probe", help="describe a media file (streams, duration, segments)")
    p.add_argument("file")
    p.add_argument("--segment-seconds", type=float, default=DEFAULT_SEGMENT_SECONDS)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_probe)


def _probe(args: argparse.Namespace) -> int:
    info = probe(args.file)
    grid = SegmentGrid(info.duration, args.segment_seconds)
    if args.json:
        print(json.dumps({**asdict(info), "segments": len(grid)}, indent=2))
        return 0
    print(f"{info.path}")
    print(f"  container  {info.container}   duration {info.duration:.2f} s   {info.size_bytes / 1e6:.1f} MB")
    if info.video:
        v = info.video
        fps = f"{v.fps:.3f} fps" if v.fps else "unknown fps"
        kf = f", keyframe every {v.keyframe_interval:.2f} s" if v.keyframe_interval else ""
        print(f"  video      {v.codec} {v.width}×{v.height} {fps}{' (VFR)' if v.vfr else ''}"
              f"{f', rotated {v.rotation}°' if v.rotation else ''}, ~{v.frame_count} frames{kf}")
    else:
        print("  video      none")
    if info.audio:
        a = info.audio
        print(f"  audio      {a.codec} {a.sample_rate} Hz, {a.channels} ch")
    else:
        print("  audio      none")
    for key in ("title", "artist", "album"):
        if key in info.tags:
            print(f"  {key:<10} {info.tags[key]}")
    last = grid[-1]
    print(f"  segments   {len(grid)} × {args.segment_seconds:g} s (last {last.start:.1f}–{last.end:.1f} s)")
    return 0
