"""``mvpt demo``: build the demo workspace once, show its proof, open the app on it.

    mvpt demo [--root DIR]            build (or reuse) the workspace, print the tables, open the app
    mvpt demo build [--root DIR]      build (or reuse) it and print the tables only

Without a display the app runs offscreen and writes a screenshot of its window instead.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from engine.jobs import Progress
from engine.media.grid import clock


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="build the built-in demo workspace and open the app on it",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", nargs="?", choices=["run", "build"], default="run",
                   help="run (default): build if needed, then open the app; build: build and report only")
    p.add_argument("--root", help="the demo's data folder (default: <app data folder>/demo)")
    p.add_argument("--screenshot", metavar="PNG", help="render the app's window to PNG and exit "
                                                        "(the default without a display: ROOT/demo-window.png)")
    p.add_argument("--reduced", action="store_true", help="a small demo (6 tracks, short clips): seconds, not minutes")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch threads for every stage (default 1, as the README's figures; 0: torch's default)")
    p.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="models trained for the proof's range (default 5; reduced 3; 1: the demo model only)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_demo)


class StageLog:
    """One line per stage change and every few seconds within a stage, on stderr."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.stage, self.last, self.t0 = quiet, None, 0.0, time.monotonic()

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if self.quiet or (p.stage == self.stage and now - self.last < 5):
            return
        self.stage, self.last = p.stage, now
        count = f" {p.done}/{p.total}" if p.total else ""
        print(f"[{now - self.t0:6.0f} s] {p.stage}{count} {p.message or ''}".rstrip(), file=sys.stderr, flush=True)


def cmd_demo(a: argparse.Namespace) -> int:
    from engine.jobs import run

    from .demo import DemoConfig, build_demo, default_root, format_proof, format_styles

    root = Path(a.root).expanduser() if a.root else default_root()
    changes: dict = {} if a.seeds is None else {"spread_seeds": a.seeds}
    if a.threads is not None:
        changes["threads"] = a.threads or None  # 0: torch's default
    cfg = DemoConfig.reduced(str(root), **changes) if a.reduced else replace(DemoConfig(str(root)), **changes)
    print(f"demo workspace: {root} (built once; later runs reuse it)", flush=True)
    t0 = time.monotonic()
    report = run(build_demo(cfg), StageLog(a.quiet))
    took = ", ".join(f"{k} {v:g} s" for k, v in report.seconds.items())
    print(f"demo ready in {time.monotonic() - t0:.0f} s ({took})")
    print(f"library: {report.library_tracks} tracks, {report.footage_clips} clips; attributes: "
          f"{', '.join(report.attributes)}; {report.extractors}")
    print(format_styles(report))
    print()
    print(format_proof(report))
    print()
    print(suggestion_tables(report))
    if a.action == "build":
        return 0
    return open_app(report, a.screenshot)


def suggestion_tables(report, clip: str | None = None, k: int = 3) -> str:
    """Per-segment and whole-video suggestions for a held-out clip, as text tables."""
    from engine.jobs import run
    from engine.recommend import analyse_video, best_soundtracks, recommend_segments

    from .demo import session_for

    clip = clip or report.clips[0]
    session = session_for(report.root, report.checkpoint)
    try:
        analysis = run(analyse_video(session, clip, thumbnails=False))
        per_segment = recommend_segments(session, analysis, k=k)
        whole = best_soundtracks(session, analysis, k=5)
    finally:
        session.close()
    lines = [f"Suggestions for {Path(clip).name} (demo model), scene by scene:",
             f"  {'scene':<15} " + "  ".join(f"{f'#{i + 1} track (start, score)':<30}" for i in range(k))]
    for i, (a, b, segs) in enumerate(zip(analysis.starts, analysis.ends, per_segment)):
        cells = [f"{_short(s.title)} ({clock(s.start)}, {s.score:.2f})" for s in segs]
        lines.append(f"  {i + 1:>2} {clock(a)}-{clock(b)} " + "  ".join(f"{c:<30}" for c in cells))
    lines += ["", "For the whole video:", f"  {'#':>2} {'track':<28} {'start at':>8} {'covers':>7} {'score':>6}"]
    for i, t in enumerate(whole):
        cover = f"{t.coverage:.0%}" if t.coverage is not None else "-"
        start = clock(t.offset) if t.offset is not None else "-"
        lines.append(f"  {i + 1:>2} {_short(t.title, 28):<28} {start:>8} {cover:>7} {t.score:>6.2f}")
    return "\n".join(lines)


def _short(title: str, width: int = 20) -> str:
    """"Ambient 10 (D major, 62 bpm)" -> "Ambient 10": the name without its parenthetical."""
    return title.split(" (")[0][:width]


def _has_display() -> bool:
    if sys.platform != "linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_app(report, screenshot: str | None = None) -> int:
    """Start the desktop app on the first held-out clip with the demo's model and library (a
    separate process: the training side never imports the GUI)."""
    if screenshot is None and not _has_display():
        screenshot = str(Path(report.root) / "demo-window.png")
    cmd = [sys.executable, "-m", "mvpt_desktop.app", report.clips[0], "--checkpoint", report.checkpoint,
           "--data-dir", report.root]
    env = {**os.environ, "MVPT_DATA_DIR": report.root}  # the demo's own settings and caches (see demo.py)
    env.setdefault("QT_LOGGING_RULES", "qt.multimedia*=false")  # the media backend's probing chatter
    if screenshot:
        cmd += ["--screenshot", screenshot]
        if not _has_display():
            env.setdefault("QT_QPA_PLATFORM", "offscreen")
        print(f"rendering the app's window on {Path(report.clips[0]).name} to {screenshot} …", flush=True)
    else:
        print(f"opening the app on {Path(report.clips[0]).name} …", flush=True)
    rc = subprocess.call(cmd, env=env)
    if rc != 0 and not screenshot:
        print("the app could not open its window (see above; on Linux, Qt needs libxcb-cursor0: "
              "`make setup` installs it as root). `mvpt demo --screenshot OUT.png` renders it offscreen.",
              file=sys.stderr)
    return rc
