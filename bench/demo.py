"""The full demo, as a check: build the workspace `make demo` opens and print its figures.

    .venv/bin/python bench/demo.py [--root DIR] [--fresh] [--threads N] [--seeds N]

Builds (or reuses, unless ``--fresh``) the demo workspace with the default settings — 40
tracks, 24 clips (4 held out), musicnn + the classic visual extractor (CLIP when its weights
are here), the demo model and the models of the other seeds — and prints: the time of each
stage, musicnn's style table, the held-out proof (own track in the top 5 per segment) and
its range over the training seeds, one line per seed. Exits 1 when the held-out hit rate is
not at least twice what a random ranking gets: the demo would not show what it claims.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.jobs import run  # noqa: E402
from training.demo import DemoConfig, build_demo, format_proof, format_styles  # noqa: E402
from training.demo_cli import StageLog, suggestion_tables  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "mvpt-bench-demo")
    ap.add_argument("--fresh", action="store_true", help="delete ROOT first: time a first run")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads for every stage (default: the demo's, 1; 0: torch's default)")
    ap.add_argument("--seeds", type=int, default=None, help="models for the proof's range (default: the demo's, 5)")
    a = ap.parse_args(argv)
    if a.fresh and a.root.exists():
        shutil.rmtree(a.root)
    t0 = time.monotonic()
    changes: dict = {} if a.seeds is None else {"spread_seeds": a.seeds}
    if a.threads is not None:
        changes["threads"] = a.threads or None
    cfg = DemoConfig(str(a.root), **changes)
    report = run(build_demo(cfg), StageLog(False))
    print(f"demo workspace {a.root} built in {time.monotonic() - t0:.0f} s")
    for stage, secs in report.seconds.items():
        print(f"  {stage:<11} {secs:8.1f} s")
    print(f"  {report.extractors}")
    print()
    print(format_styles(report, rows=True))
    print()
    print(format_proof(report))
    for p in report.spread:
        print(f"  seed {p.seed}: {p.hits}/{p.segments} = {p.rate:.0%}, whole-video ranks {p.ranks}")
    print()
    print(suggestion_tables(report))
    ok = report.hit_rate >= 2 * report.chance
    print(f"\nheld-out hit rate {report.hit_rate:.0%} vs random {report.chance:.0%}: {'OK' if ok else 'TOO LOW'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
