"""``mvpt library add|status|remove``: the music and footage libraries from the command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from engine.cli.progress import ProgressBar
from engine.jobs import run

NO_MODEL_NOTE = ("base features stored; suggestions need a model: run `mvpt library add FOLDER --checkpoint DIR` "
                 "with a trained checkpoint (or train one with `mvpt train`)")


def register(sub: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="data folder holding the library (default: the app's, or $MVPT_DATA_DIR)")
    common.add_argument("--json", action="store_true", help="machine-readable output on stdout, no progress bar")
    lib = sub.add_parser("library", help="manage the music and footage libraries")
    lsub = lib.add_subparsers(dest="library_command", metavar="ACTION")
    lib.set_defaults(func=lambda args: (lib.print_help(), 2)[1])

    add = lsub.add_parser("add", parents=[common], help="add (or rescan) a folder: decode, extract features, embed")
    add.add_argument("folder")
    add.add_argument("--footage", action="store_true", help="the folder holds footage (default: music)")
    add.add_argument("--workers", type=int, default=2, help="decoding worker processes (default 2)")
    add.add_argument("--time-limit", type=float, default=None, help="seconds one file may take (default 600)")
    add.add_argument("--extractor", help="base-feature extractor name (default: the checkpoint's, else the best "
                                         "one installed)")
    add.add_argument("--checkpoint", help="model checkpoint folder to embed the library for (default: the active model, "
                                           "else the starter model)")
    add.add_argument("--retry-failed", action="store_true", help="try files that failed before again")
    add.set_defaults(func=_add)

    status = lsub.add_parser("status", parents=[common], help="folders, items, failures and stored vectors")
    status.add_argument("--failures", action="store_true", help="list every file that failed, with the reason")
    status.set_defaults(func=_status)

    remove = lsub.add_parser("remove", parents=[common], help="forget a folder, its items and their vectors")
    remove.add_argument("folder")
    remove.set_defaults(func=_remove)


def _library(args: argparse.Namespace, create: bool = False):
    """The library in ``--data-dir``. Only ``library add`` creates a data folder; the other
    actions refuse one that does not exist (a typo must not read as an empty library)."""
    from engine.cli.checks import existing_data_dir
    from engine.library import Library

    return Library(args.data_dir if create else existing_data_dir(args.data_dir))


def _add(args: argparse.Namespace) -> int:
    from engine.library.scan import DEFAULT_TIME_LIMIT

    kind = "footage" if args.footage else "music"
    loaded = None
    if args.checkpoint:
        from engine.model.checkpoint import load_checkpoint

        loaded = load_checkpoint(args.checkpoint)
    else:  # the model the app uses: the configured one, else the starter model that ships
        from engine.session import EngineSession, NoModelError

        try:
            loaded = EngineSession().model
        except NoModelError:
            loaded = None
    folder = Path(args.folder).expanduser()
    bar = ProgressBar(not args.json)
    out: dict = {"folder": str(folder.resolve()), "kind": kind}
    with _library(args, create=True) as lib:
        try:
            added = run(lib.add(folder, kind, loaded, extractor=args.extractor, workers=args.workers,
                                time_limit=args.time_limit or DEFAULT_TIME_LIMIT, retry_failed=args.retry_failed), bar)
        finally:
            bar.done()
        report = added.scan
        out["scan"] = {**dataclasses.asdict(report), "realtime_factor": report.realtime_factor}
        out["counts"] = lib.catalog.status_counts(kind)
        out["embed"] = dataclasses.asdict(added.embed) if added.embed is not None else None
        if added.embed is None:
            out["note"] = NO_MODEL_NOTE
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    rt = f", {report.realtime_factor:.0f}× realtime" if report.realtime_factor else ""
    print(f"{out['folder']} ({kind}): {report.found} files, {len(report.processed)} analysed, "
          f"{len(report.failed)} failed, {report.skipped} unchanged, {report.moved} moved, {report.removed} removed "
          f"in {report.seconds:.1f} s{rt}")
    for path, reason in report.failed:
        print(f"  failed: {Path(path).name}: {reason}")
    if out["embed"]:
        e = out["embed"]
        print(f"embedded {e['embedded']} items with {e['checkpoint_id']} ({e['vectors'].get('segment', 0)} segment "
              f"vectors, {e['vectors'].get('track', 0)} tracks)"
              + (f"; {e['missing_features']} items lack the model's features" if e["missing_features"] else ""))
    else:
        print(NO_MODEL_NOTE)
    return 0


def _status(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        cat = lib.catalog
        doc = {"catalog": str(cat.path), "kinds": {}, "checkpoints": []}
        for kind in ("music", "footage"):
            doc["kinds"][kind] = {"folders": [f.path for f in cat.folders(kind)], **cat.status_counts(kind)}
            if args.failures:
                doc["kinds"][kind]["failures"] = [{"path": p, "reason": r} for p, r in cat.failures(kind)]
        for ck in cat.checkpoints():
            counts = cat.embedding_counts(ck["id"])
            doc["checkpoints"].append({"id": ck["id"], "path": ck["path"],
                                       "items_embedded": {k: v["items"] for k, v in counts.items()},
                                       "segment_vectors": {k: v["segments"] for k, v in counts.items()}})
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(f"library catalog {doc['catalog']}")
    for kind, k in doc["kinds"].items():
        print(f"  {kind:<8} {k['ok']} ok, {k['failed']} failed, folders: {', '.join(k['folders']) or 'none'}")
        for f in k.get("failures", []):
            print(f"    failed: {f['path']}: {f['reason']}")
    if not doc["checkpoints"]:
        print(f"  no model yet: {NO_MODEL_NOTE}")
    for ck in doc["checkpoints"]:
        e = ck["items_embedded"]
        print(f"  model {ck['id']}: {e['music']} music, {e['footage']} footage items embedded")
    return 0


def _remove(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        if lib.catalog.folder(args.folder) is None:
            msg = f"{args.folder} is not a library folder"
            print(json.dumps({"removed": 0, "error": msg}) if args.json else f"error: {msg}",
                  file=sys.stdout if args.json else sys.stderr)
            return 1
        n = lib.remove_folder(args.folder)
    print(json.dumps({"removed": n}) if args.json else f"removed {args.folder} ({n} items)")
    return 0
