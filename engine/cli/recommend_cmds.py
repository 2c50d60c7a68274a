"""``mvpt recommend | fit | footage | attribute``: suggestions from the command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from engine.jobs import run
from engine.media.grid import clock


def register(sub: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--checkpoint", help="trained model folder (default: from settings)")
    common.add_argument("--data-dir", help="data folder holding the library (default: the app's, or $MVPT_DATA_DIR)")
    common.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default: from settings (auto)")
    common.add_argument("--json", action="store_true", help="machine-readable output, no progress bar")

    p = sub.add_parser("recommend", parents=[common], help="music from your library for a video")
    p.add_argument("video")
    p.add_argument("--top", type=int, default=5, help="suggestions per list (default 5)")
    p.add_argument("--per-segment", action="store_true", help="also list suggestions for every segment")
    p.add_argument("--attribute", action="append", default=[], metavar="NAME:WEIGHT",
                   help="add (+) or remove (-) an attribute, weight in -1..1; repeatable")
    p.set_defaults(func=_recommend)

    p = sub.add_parser("fit", parents=[common], help="where in a track to start so it fits the whole video")
    p.add_argument("video")
    p.add_argument("track", help="a track of the music library (its path, or its id)")
    p.set_defaults(func=_fit)

    p = sub.add_parser("footage", parents=[common], help="footage from your footage library for a song")
    p.add_argument("song")
    p.add_argument("--top", type=int, default=5)
    p.set_defaults(func=_footage)

    a = sub.add_parser("attribute", help="attributes (e.g. +drums, -vocals) defined by examples")
    asub = a.add_subparsers(dest="attribute_command", metavar="ACTION")
    a.set_defaults(func=lambda args: (a.print_help(), 2)[1])
    c = asub.add_parser("create", parents=[common], help="define an attribute from examples")
    c.add_argument("name")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", metavar="DIR", help="a folder of example images")
    src.add_argument("--audio", metavar="DIR", help="a folder of example songs")
    src.add_argument("--text", help="a text prompt (needs the CLIP extractor)")
    c.add_argument("--domain", metavar="DIR", help="a folder of the same kind of media in general "
                                                  "(subtracted: the paper's domain correction)")
    c.set_defaults(func=_attribute_create)
    ls = asub.add_parser("list", parents=[common], help="attributes of the active model")
    ls.set_defaults(func=_attribute_list)
    rm = asub.add_parser("delete", parents=[common], help="forget an attribute")
    rm.add_argument("name")
    rm.set_defaults(func=_attribute_delete)


def _session(args: argparse.Namespace):
    from engine.session import EngineSession
    from engine.settings import EngineSettings

    s = EngineSettings.load()
    changes = {}
    if getattr(args, "checkpoint", None):
        changes["checkpoint"] = str(args.checkpoint)
    if getattr(args, "data_dir", None):
        changes["data_dir"] = str(args.data_dir)
    if getattr(args, "device", None):
        changes["device"] = args.device
    return EngineSession(s.with_(**changes))


def _progress(args):
    from engine.cli.progress import ProgressBar

    return ProgressBar(enabled=not args.json)


def _conditioning(specs: list[str]):
    from engine.recommend import Conditioning

    weights = {}
    for spec in specs:
        name, sep, w = spec.rpartition(":")
        if not sep or not name:
            raise SystemExit(f"error: --attribute takes NAME:WEIGHT (e.g. drums:0.8), got {spec!r}")
        try:
            weights[name] = max(-1.0, min(1.0, float(w)))
        except ValueError:
            raise SystemExit(f"error: the weight in {spec!r} is not a number") from None
    return Conditioning(weights)


def _recommend(args: argparse.Namespace) -> int:
    from engine.recommend import analyse_video, best_soundtracks, recommend_segments

    session = _session(args)
    bar = _progress(args)
    analysis = run(analyse_video(session, args.video, thumbnails=False), bar)
    bar.done()
    cond = _conditioning(args.attribute)
    whole = best_soundtracks(session, analysis, args.top, cond)
    per_seg = recommend_segments(session, analysis, args.top, cond) if args.per_segment or args.json else None
    if args.json:
        print(json.dumps({"video": analysis.path, "checkpoint": analysis.checkpoint_id,
                          "segments": [{"start": float(a), "end": float(b), "attention": float(w)}
                                       for a, b, w in zip(analysis.starts, analysis.ends, analysis.attention)],
                          "whole_video": [dataclasses.asdict(t) for t in whole],
                          "per_segment": [[dataclasses.asdict(s) for s in row] for row in per_seg]}, indent=2))
        return 0
    status = session.status()
    print(f"{Path(args.video).name}: {len(analysis)} segments × {analysis.segment_seconds:g} s · {status.model}")
    if not whole:
        print("the music library has no indexed tracks for this model: `mvpt library add FOLDER --checkpoint DIR`")
        return 1
    print("\nWhole video")
    print(f"  {'#':>2}  {'track':<40} {'start at':>8} {'covers':>7} {'score':>6}")
    for i, t in enumerate(whole, 1):
        name = f"{t.artist} – {t.title}" if t.artist else t.title
        print(f"  {i:>2}  {name[:40]:<40} {clock(t.offset or 0):>8} {100 * (t.coverage or 0):>6.0f}% {t.score:>6.3f}")
    if per_seg:
        print("\nPer segment")
        for (a, b), row in zip(zip(analysis.starts, analysis.ends), per_seg):
            picks = ", ".join(f"{s.title} @{clock(s.start)} ({s.score:.2f})" for s in row)
            print(f"  {clock(a)}–{clock(b)}  {picks}")
    return 0


def _track_id(session, track: str) -> int:
    catalog = session.library.catalog
    if track.isdigit() and catalog.item(int(track)) is not None:
        return int(track)
    item = catalog.item_by_path(Path(track).resolve())
    if item is None:
        raise SystemExit(f"error: {track} is not in the music library; add its folder with `mvpt library add`")
    return item.id


def _fit(args: argparse.Namespace) -> int:
    from engine.recommend import analyse_video, fit_soundtrack

    session = _session(args)
    bar = _progress(args)
    analysis = run(analyse_video(session, args.video, thumbnails=False), bar)
    bar.done()
    fit = fit_soundtrack(session, analysis, _track_id(session, args.track))
    if args.json:
        print(json.dumps({"item_id": fit.item_id, "offset": fit.offset, "offset_segments": fit.offset_segments,
                          "score": fit.score, "coverage": fit.coverage, "scores": fit.scores.tolist()}))
    else:
        print(f"start the track at {clock(fit.offset)} (segment {fit.offset_segments}); "
              f"fit {fit.score:.3f}, covers {100 * fit.coverage:.0f}% of the video")
    return 0


def _footage(args: argparse.Namespace) -> int:
    from engine.recommend import analyse_music, recommend_segments

    session = _session(args)
    bar = _progress(args)
    analysis = run(analyse_music(session, args.song), bar)
    bar.done()
    rows = recommend_segments(session, analysis, args.top)
    if args.json:
        print(json.dumps([[dataclasses.asdict(s) for s in row] for row in rows], indent=2))
        return 0
    if not any(rows):
        print("the footage library has no indexed clips: `mvpt library add FOLDER --footage --checkpoint DIR`")
        return 1
    for (a, b), row in zip(zip(analysis.starts, analysis.ends), rows):
        picks = ", ".join(f"{Path(s.path).name} @{clock(s.start)} ({s.score:.2f})" for s in row)
        print(f"  {clock(a)}–{clock(b)}  {picks}")
    return 0


def _attribute_create(args: argparse.Namespace) -> int:
    from engine.attributes import create_attribute

    session = _session(args)
    bar = _progress(args)
    vec = run(create_attribute(session, args.name, images=args.images, audio=args.audio, text=args.text,
                               domain=args.domain), bar)
    bar.done()
    print(f"attribute '{args.name}' saved for {session.checkpoint_id} (norm {float((vec ** 2).sum() ** 0.5):.3f})")
    return 0


def _attribute_list(args: argparse.Namespace) -> int:
    session = _session(args)
    attrs = session.library.catalog.attributes(session.checkpoint_id)
    if args.json:
        print(json.dumps([{"name": a.name, "modality": a.modality,
                           "meta": {k: v for k, v in a.meta.items() if k != "track_vector"}} for a in attrs], indent=2))
        return 0
    if not attrs:
        print("no attributes yet: `mvpt attribute create NAME --images DIR` (or --audio DIR, --text \"…\")")
    for a in attrs:
        src = ", ".join(f"{k}={v}" for k, v in a.meta.items() if k in ("images", "audio", "text", "domain"))
        print(f"  {a.name:<20} {a.modality:<7} {a.meta.get('examples', '?')} examples  {src}")
    return 0


def _attribute_delete(args: argparse.Namespace) -> int:
    session = _session(args)
    ok = session.library.catalog.delete_attribute(args.name, session.checkpoint_id)
    print(f"deleted '{args.name}'" if ok else f"no attribute named '{args.name}'", file=sys.stderr if not ok else sys.stdout)
    return 0 if ok else 1
