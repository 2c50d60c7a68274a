"""``mvpt starter build``: rebuild the starter model that ships in ``resources/starter``.

    mvpt starter build --root DIR [--out DIR] [--reduced]

Generates the starter world under DIR (kept there, resumable), builds its feature dataset,
trains, judges the model on the held-out clips and writes ``model.safetensors``,
``config.json`` and ``MODEL_CARD.md`` to ``--out`` (default: the app's ``resources/starter``).
The full build takes about an hour on two busy CPU cores; a second run reuses every stage.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("starter", help="rebuild the starter model that ships with the app",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["build"], help="build: world, dataset, model, proof, model card")
    p.add_argument("--root", required=True, help="work folder for the generated world, datasets and run")
    p.add_argument("--out", default=None, help="where the model goes (default: resources/starter)")
    p.add_argument("--reduced", action="store_true", help="a tiny build (6 short clips): seconds, for tests")
    p.add_argument("--clips", type=int, default=None, metavar="N", help="music videos to generate (default 112)")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="processes rendering the world (default 2)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_starter)


def cmd_starter(a: argparse.Namespace) -> int:
    from engine.jobs import run

    from .demo_cli import StageLog
    from .starter import StarterConfig, build_starter
    from .starter_card import proof_table

    root = str(Path(a.root).expanduser())
    changes: dict = {"out": a.out}
    if a.clips is not None:
        changes["n_clips"] = a.clips
    if a.workers is not None:
        changes["workers"] = a.workers
    cfg = StarterConfig.reduced(root, **changes) if a.reduced else replace(StarterConfig(root), **changes)
    if not a.reduced and (a.clips is not None or a.out is not None):
        extra = (f" --clips {a.clips}" if a.clips is not None else "") + (f" --out {a.out}" if a.out else "")
        cfg = replace(cfg, command=f"mvpt starter build --root {root}{extra}")
    t0 = time.monotonic()
    report = run(build_starter(cfg), StageLog(a.quiet))
    took = ", ".join(f"{k} {v:g} s" for k, v in report.seconds.items())
    print(f"starter model written to {report.out} ({report.size_bytes / 1e6:.2f} MB) in "
          f"{time.monotonic() - t0:.0f} s ({took})")
    print(f"{report.train_clips} training clips, {report.held_out_clips} held out, {report.footage_hours:g} h of "
          f"footage; trained {report.train.get('steps')} steps ({report.train.get('stopped')})")
    print(proof_table(report))
    for w in report.train.get("warnings", []):
        print(f"warning: {w}", file=sys.stderr)
    return 0
