"""``mvpt recommend | fit | footage | attribute``: suggestions from the command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections import Counter
from pathlib import Path

from engine.cli.checks import (
    UsageError,
    data_dir_arg,
    existing_data_dir,
    require_file,
    require_indexed,
    require_items,
    require_streams,
)
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
    p.add_argument("--sync", type=float, default=None, metavar="W",
                   help="0..1: how much cuts-on-beats and energy following the music count in the whole-video "
                        "list (default: the settings' sync_weight, else 0.5 with the starter model and 0.1 with "
                        "others; 0 = the model alone)")
    p.add_argument("--attribute", action="append", default=[], metavar="NAME:WEIGHT",
                   help="add (+) or remove (-) an attribute, weight in -1..1; repeatable")
    p.set_defaults(func=_recommend)

    p = sub.add_parser("fit", parents=[common], help="where in a track to start so it fits the whole video; "
                       "with --length/--out, re-edit it to a length on its downbeats")
    p.add_argument("video")
    p.add_argument("track", help="a track of the music library (its path, or its id); with --length/--out "
                                 "any audio file")
    p.add_argument("--length", type=float, metavar="S", help="re-edit the track to S seconds (default with "
                                                            "--out: the video's length)")
    p.add_argument("--out", metavar="FILE", help="write the re-edit (.wav, .flac, .ogg), exactly S long to the frame")
    p.add_argument("--slack", type=float, default=0.5, metavar="S",
                   help="seconds the music's end may miss the length without stretching (default 0.5)")
    p.add_argument("--no-stretch", action="store_true", help="never time-stretch (else up to 3 %%, pitch kept)")
    p.add_argument("--from", dest="track_start", type=float, default=0.0, metavar="S",
                   help="open the re-edit at S seconds of the track (e.g. the start `mvpt recommend` found, so the "
                        "cuts stay on its beats) instead of at its intro; the ending is kept")
    p.add_argument("--cue", metavar="FILE", help="also write the re-edit as a cue sheet (.json: pieces and stretch) "
                                                 "for mvpt export / the app")
    p.set_defaults(func=_fit)

    p = sub.add_parser("footage", parents=[common], help="footage from your footage library for a song")
    p.add_argument("song")
    p.add_argument("--top", type=int, default=5, help="suggestions per segment (default 5)")
    p.add_argument("--max-per-clip", type=int, default=2, metavar="N",
                   help="suggest one clip for at most N of the song's segments, so the cut has variety "
                        "(default 2; 0: no limit)")
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
    ls = asub.add_parser("list", parents=[common], help="attributes of the active model (without one: of every "
                                                         "model in the library)")
    ls.set_defaults(func=_attribute_list)
    rm = asub.add_parser("delete", parents=[common], help="forget an attribute")
    rm.add_argument("name")
    rm.set_defaults(func=_attribute_delete)


def _session(args: argparse.Namespace):
    """The engine session for a command that reads the library. Its data folder must exist
    (see :func:`engine.cli.checks.existing_data_dir`); nothing slow is loaded yet."""
    from engine.session import EngineSession
    from engine.settings import EngineSettings

    s = EngineSettings.load()
    changes = {}
    if getattr(args, "checkpoint", None):
        changes["checkpoint"] = str(args.checkpoint)
    named = getattr(args, "data_dir", None) or s.data_dir
    changes["data_dir"] = str(existing_data_dir(named))
    if getattr(args, "device", None):
        changes["device"] = args.device
    return EngineSession(s.with_(**changes))


def _ready(session, args: argparse.Namespace, kind: str) -> None:
    """The library holds ``kind`` items, the model loads, and they are indexed for it: the
    cheap checks, before the query is analysed."""
    require_items(session.library.catalog, kind, args.data_dir)
    require_indexed(session.library.catalog, session.checkpoint_id, kind, args.data_dir)


def _progress(args):
    from engine.cli.progress import ProgressBar

    return ProgressBar(enabled=not args.json)


def _conditioning(specs: list[str], session=None):
    """``NAME:WEIGHT`` specs as a Conditioning; with ``session``, every name must be an
    attribute of its model (checked before the video is analysed)."""
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
    if weights and session is not None:
        known = {a.name for a in session.library.catalog.attributes(session.checkpoint_id)}
        unknown = sorted(set(weights) - known)
        if unknown:
            raise UsageError(f"no attribute named {', '.join(unknown)} for this model "
                             f"({', '.join(sorted(known)) or 'it has none'}); see `mvpt attribute list`")
    return Conditioning(weights)


def _recommend(args: argparse.Namespace) -> int:
    from engine.recommend import analyse_video, best_soundtracks, recommend_segments

    video = require_file(args.video)
    require_streams(video, "recommend", "video")
    session = _session(args)
    _ready(session, args, "music")
    cond = _conditioning(args.attribute, session)
    bar = _progress(args)
    analysis = run(analyse_video(session, video, thumbnails=False), bar)
    bar.done()
    whole = best_soundtracks(session, analysis, args.top, cond, sync=args.sync)
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
        print("the music library has no indexed tracks for this model: "
              f"`mvpt library add FOLDER --checkpoint DIR{data_dir_arg(args.data_dir)}`")
        return 1
    print("\nWhole video")
    print(f"  {'#':>2}  {'track':<40} {'start at':>8} {'covers':>7} {'score':>6}  sync")
    for i, t in enumerate(whole, 1):
        name = f"{t.artist} – {t.title}" if t.artist else t.title
        db = " ↓" if t.on_downbeat else ""
        print(f"  {i:>2}  {name[:40]:<40} {clock(t.offset or 0):>8}{db} {100 * (t.coverage or 0):>6.0f}% "
              f"{t.score:>6.3f}  {t.sync_label}")
    rhythm = analysis.video_rhythm
    if rhythm is not None and not len(getattr(rhythm, "cuts", ())):
        print("  (no cuts found in the video: the list follows the model and the energy only)")
    if per_seg:
        print("\nPer segment")
        for (a, b), row in zip(zip(analysis.starts, analysis.ends), per_seg):
            picks = ", ".join(f"{s.title} @{clock(s.start)} ({s.score:.2f})" for s in row)
            print(f"  {clock(a)}–{clock(b)}  {picks}")
    return 0


def _track_id(session, track: str, data_dir: str | None = None) -> int:
    """A track of the music library by id or path: a path that does not exist is "file not
    found", one that exists but was never added says how to add it."""
    catalog = session.library.catalog
    if track.isdigit() and not Path(track).exists():
        if catalog.item(int(track)) is not None:
            return int(track)
        raise UsageError(f"no track with id {track} in the music library, and no file named {track}")
    path = require_file(track)
    item = catalog.item_by_path(path.resolve())
    if item is None or item.kind != "music":
        raise UsageError(f"{track} is not in the music library: add its folder with "
                         f"`mvpt library add {path.resolve().parent} --checkpoint DIR{data_dir_arg(data_dir)}`")
    return item.id


def _fit(args: argparse.Namespace) -> int:
    from engine.recommend import analyse_video, fit_soundtrack

    if args.length is not None or args.out:
        return _fit_length(args)
    video = require_file(args.video)
    if not args.track.isdigit():
        require_file(args.track)
    require_streams(video, "fit", "video")
    session = _session(args)
    item_id = _track_id(session, args.track, args.data_dir)
    _ready(session, args, "music")
    bar = _progress(args)
    analysis = run(analyse_video(session, video, thumbnails=False), bar)
    bar.done()
    fit = fit_soundtrack(session, analysis, item_id)
    if args.json:
        print(json.dumps({"item_id": fit.item_id, "offset": fit.offset, "offset_segments": fit.offset_segments,
                          "score": fit.score, "coverage": fit.coverage, "scores": fit.scores.tolist()}))
    else:
        print(f"start the track at {clock(fit.offset)} (segment {fit.offset_segments}); "
              f"fit {fit.score:.3f}, covers {100 * fit.coverage:.0f}% of the video")
    return 0


def _fit_length(args: argparse.Namespace) -> int:
    """``mvpt fit VIDEO TRACK --length S --out FILE``: the track re-edited on its downbeats."""
    from engine.media.probe import probe
    from engine.rhythm.fit import WRITABLE, fit_file, fitted_cue, write_fit

    video = require_file(args.video)
    info = probe(video)
    fps = info.video.fps if info.video is not None and info.video.fps else 30.0
    length = args.length if args.length is not None else info.duration
    if not length or length <= 0:
        raise UsageError("give the length in seconds: --length S (> 0)")
    if args.out and Path(args.out).suffix.lower() not in WRITABLE:
        raise UsageError(f"--out writes {', '.join(WRITABLE)}; got {args.out}")
    rhythm, path = None, Path(args.track).expanduser()
    if args.track.isdigit() or not path.is_file():  # a library track: its stored rhythm
        session = _session(args)
        item_id = _track_id(session, args.track, args.data_dir)
        catalog = session.library.catalog
        path, rhythm = Path(catalog.item(item_id).path), catalog.rhythm(item_id)
    if args.track_start < 0:
        raise UsageError("--from is seconds into the track (>= 0)")
    try:
        plans, samples, rate = fit_file(require_file(path), float(length), rhythm=rhythm, slack=args.slack,
                                        stretch=not args.no_stretch, fps=fps, start=args.track_start)
    except ValueError as e:  # a --from past the end of the music
        raise UsageError(str(e)) from None
    best = plans[0]
    if args.out:
        write_fit(args.out, samples, rate, best)
    cue = fitted_cue(best, str(path), path.stem)
    if getattr(args, "cue", None):
        from engine.atomic import atomic_write_text
        from engine.mix.cuesheet import CueSheet

        atomic_write_text(args.cue, CueSheet((cue,), fade_in=0.0, fade_out=max(best.fade_out, 0.05)).to_json())
    if args.json:
        print(json.dumps({"track": str(path), "target": length, "out": args.out, "cue": dataclasses.asdict(cue),
                          "plans": [{**{k: v for k, v in dataclasses.asdict(p).items() if k != "pieces"},
                                     "pieces": [dataclasses.asdict(q) for q in p.pieces]} for p in plans]},
                         indent=2))
        return 0
    print(f"{path.name} re-edited to {clock(length)} ({length:g} s):")
    for i, p in enumerate(plans, 1):
        cuts = ", ".join(f"{clock(a)}→{clock(b)}" for a, b in p.splices) or "no splice"
        print(f"  {i}. seamless {p.seamlessness:.2f} · stretch {100 * (p.stretch - 1):+.1f} % · music ends at "
              f"{p.length:.2f} s · {cuts}" + (f" · {p.note}" if p.note else ""))
    if args.out:
        print(f"wrote {args.out} ({length:g} s, variant 1)")
    return 0


def _footage(args: argparse.Namespace) -> int:
    from engine.recommend import analyse_music, recommend_segments

    song = require_file(args.song)
    require_streams(song, "footage", "audio")
    if args.top < 1 or args.max_per_clip < 0:
        raise UsageError("--top must be at least 1 and --max-per-clip at least 0")
    session = _session(args)
    _ready(session, args, "footage")
    clips = session.library.catalog.embedding_counts(session.checkpoint_id)["footage"]["items"]
    bar = _progress(args)
    analysis = run(analyse_music(session, song), bar)
    bar.done()
    n = args.max_per_clip
    # each row lists distinct clips; enough of them that no row runs dry while clips remain
    wide = args.top if n == 0 else min(clips, args.top + math.ceil(len(analysis) * args.top / n))
    rows = spread_picks(recommend_segments(session, analysis, wide), args.top, n)
    if args.json:
        print(json.dumps([[dataclasses.asdict(s) for s in row] for row in rows], indent=2))
        return 0
    if not any(rows):
        print("the footage library has no indexed clips: "
              f"`mvpt library add FOLDER --footage --checkpoint DIR{data_dir_arg(args.data_dir)}`")
        return 1
    for (a, b), row in zip(zip(analysis.starts, analysis.ends), rows):
        picks = ", ".join(f"{Path(s.path).name} @{clock(s.start)} ({s.score:.2f})" for s in row)
        print(f"  {clock(a)}–{clock(b)}  {picks or '-'}")
    if n and any(len(row) < args.top for row in rows):
        print(f"(some segments list fewer than {args.top}: each of the {clips} clips is suggested for at most {n} "
              "segments; `--max-per-clip 0` lifts the limit)")
    return 0


def spread_picks(rows: list[list], k: int, max_per_item: int) -> list[list]:
    """At most ``k`` picks per row from ``rows`` (each ranked best first, items distinct within
    a row) such that no item is picked in more than ``max_per_item`` rows (0: no limit).

    Filled in rounds, every row's first pick before any row's second: within a round the rows
    whose best remaining candidate scores highest choose first, so a clip goes to the
    segments it fits best and every segment gets its best clip that is still free."""
    if max_per_item <= 0:
        return [list(row[:k]) for row in rows]
    out: list[list] = [[] for _ in rows]
    uses: Counter[int] = Counter()
    for r in range(k):
        taken: set[int] = set()
        pool = sorted(((s.score, i, j) for i, row in enumerate(rows) if len(out[i]) == r
                       for j, s in enumerate(row)), key=lambda t: (-t[0], t[1], t[2]))
        for _, i, j in pool:
            s = rows[i][j]
            if i in taken or uses[s.item_id] >= max_per_item or any(x.item_id == s.item_id for x in out[i]):
                continue
            out[i].append(s)
            uses[s.item_id] += 1
            taken.add(i)
    return [sorted(row, key=lambda s: -s.score) for row in out]


def _attribute_create(args: argparse.Namespace) -> int:
    from engine.attributes import create_attribute

    session = _session(args)
    session.model  # noqa: B018 - a missing model is said before the examples are read
    bar = _progress(args)
    vec = run(create_attribute(session, args.name, images=args.images, audio=args.audio, text=args.text,
                               domain=args.domain), bar)
    bar.done()
    meta = next((x.meta for x in session.library.catalog.attributes(session.checkpoint_id) if x.name == args.name), {})
    given = f"{meta['examples']} examples" if "examples" in meta else "examples"
    if "segments" in meta and meta["segments"] != meta.get("examples"):
        given += f" ({meta['segments']} segments)"
    if "domain_examples" in meta:
        given += f", against {meta['domain_examples']} domain examples"
    print(f"attribute '{args.name}' saved for {session.checkpoint_id} from {given} "
          f"(norm {float((vec ** 2).sum() ** 0.5):.3f})")
    return 0


def _attribute_list(args: argparse.Namespace) -> int:
    """The active model's attributes; without a model (none configured, or it does not load),
    those of every model the library knows, each under the model it belongs to."""
    from engine.session import NoModelError

    session = _session(args)
    catalog = session.library.catalog
    try:
        active = session.checkpoint_id
        models = [ck for ck in catalog.checkpoints() if ck["id"] == active] or [{"id": active, "path": None}]
        why = None
    except NoModelError as e:
        models, why = catalog.checkpoints(), str(e)
    groups = [(ck, catalog.attributes(ck["id"])) for ck in models]
    if args.json:
        print(json.dumps([{"name": a.name, "modality": a.modality, "checkpoint_id": ck["id"], "checkpoint": ck["path"],
                           "meta": {k: v for k, v in a.meta.items() if k != "track_vector"}}
                          for ck, attrs in groups for a in attrs], indent=2))
        return 0
    if why is not None:
        print(f"no active model ({why.split(':')[0]}): the attributes of every model in the library")
    if not any(attrs for _, attrs in groups):
        print("no attributes yet: `mvpt attribute create NAME --images DIR` (or --audio DIR, --text \"…\")")
    for ck, attrs in groups:
        if not attrs:
            continue
        if why is not None or len(groups) > 1:
            print(f"model {ck['path'] or ck['id']} ({ck['id'][:12]}):")
        for a in attrs:
            src = ", ".join(f"{k}={v}" for k, v in a.meta.items() if k in ("images", "audio", "text", "domain"))
            print(f"  {a.name:<20} {a.modality:<7} {a.meta.get('examples', '?')} examples  {src}")
    return 0


def _attribute_delete(args: argparse.Namespace) -> int:
    session = _session(args)
    ok = session.library.catalog.delete_attribute(args.name, session.checkpoint_id)
    print(f"deleted '{args.name}'" if ok else f"no attribute named '{args.name}'", file=sys.stderr if not ok else sys.stdout)
    return 0 if ok else 1
