"""``mvpt export``: the footage with its new soundtrack, as the app renders it (one mix for
preview and export): MP4 and/or OTIO, from one track at an offset or a saved cue sheet."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

LOUDNESS_PRESETS = {"web": -14.0, "broadcast": -23.0, "off": None}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write VIDEO with TRACK (or a cue sheet) as its soundtrack: MP4 and/or OTIO",
                       description="Render the mix (cues, crossfades, ducking under the footage's speech, "
                                   "loudness target) and write it under the video as MP4 (stereo AAC), "
                                   "and/or an OTIO timeline for Resolve, Premiere, Kdenlive.")
    p.add_argument("video", help="the footage")
    p.add_argument("track", nargs="?", help="the music (omit with --cues)")
    p.add_argument("--offset", type=float, default=0.0, help="seconds into TRACK at the video's first frame")
    p.add_argument("--cues", metavar="SHEET.json", help="a cue sheet saved by the app, instead of TRACK")
    p.add_argument("--out", metavar="FILE.mp4", help="the MP4 to write")
    p.add_argument("--otio", metavar="FILE.otio", help="the OTIO timeline to write")
    p.add_argument("--duck", action=argparse.BooleanOptionalAction, default=True,
                   help="lower the music under speech in the footage (default: on)")
    p.add_argument("--depth", type=float, default=None, help="ducking depth in dB (default -12)")
    p.add_argument("--loudness", default="web", metavar="LUFS",
                   help="integrated loudness target: a number (e.g. -14), web (-14), broadcast (-23) or off")
    p.add_argument("--original", choices=("full", "speech", "off"), default=None,
                   help="the footage's own sound: full, speech (full under speech, low elsewhere; default), off")
    p.add_argument("--original-level", type=float, default=None, help="its level outside speech (0..1)")
    p.add_argument("--fade-in", type=float, default=None)
    p.add_argument("--fade-out", type=float, default=None)
    p.add_argument("--beats", action=argparse.BooleanOptionalAction, default=True,
                   help="put fades and crossfades on the tracks' downbeats (default: on)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_export)


def parse_loudness(text: str) -> float | None:
    t = str(text).strip().lower()
    if t in LOUDNESS_PRESETS:
        return LOUDNESS_PRESETS[t]
    try:
        v = float(t)
    except ValueError:
        raise ValueError(f"--loudness {text!r}: give LUFS (e.g. -14), web, broadcast or off") from None
    if not -70.0 < v < 0.0:
        raise ValueError(f"--loudness {v:g}: a target between -70 and 0 LUFS (web -14, broadcast -23)")
    return v


def _export(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from engine.cli.progress import ProgressBar
    from engine.jobs import run
    from engine.media.errors import MediaFileMissing
    from engine.media.probe import probe
    from engine.mix.cuesheet import CueSheet, MixSettings
    from engine.mix.export import export_job, single_cue_sheet

    def fail(msg: str) -> int:
        print(f"error: {msg}", file=sys.stderr)
        return 2

    if not args.out and not args.otio:
        return fail("say where to write: --out FILE.mp4 and/or --otio FILE.otio")
    if bool(args.track) == bool(args.cues):
        return fail("give a TRACK (with --offset) or --cues SHEET.json, not both or neither")
    try:
        target = parse_loudness(args.loudness)
    except ValueError as e:
        return fail(str(e))
    video = Path(args.video)
    if not video.is_file():
        raise MediaFileMissing(video, "file not found")
    info = probe(video)
    if args.cues:
        path = Path(args.cues)
        if not path.is_file():
            return fail(f"file not found: {args.cues}")
        try:
            sheet = CueSheet.from_json(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            return fail(f"{path.name}: {e}")
    else:
        if not Path(args.track).is_file():
            raise MediaFileMissing(args.track, "file not found")
        sheet = single_cue_sheet(str(Path(args.track).resolve()), info.duration, args.offset)
    if args.fade_in is not None:
        sheet = replace(sheet, fade_in=max(0.0, args.fade_in))
    if args.fade_out is not None:
        sheet = replace(sheet, fade_out=max(0.0, args.fade_out))
    settings = MixSettings(duck=args.duck, loudness_target=target)
    if args.depth is not None:
        settings = replace(settings, duck_depth_db=-abs(args.depth))
    if args.original is not None:
        settings = replace(settings, original=args.original)
    if args.original_level is not None:
        settings = replace(settings, original_level=min(1.0, max(0.0, args.original_level)))
    rhythms = _rhythms(sheet) if args.beats else None
    bar = ProgressBar(enabled=not args.quiet and not args.json)
    video_rhythm = None
    if args.otio and args.beats:  # the footage's cuts as markers on the timeline (one decode of the picture)
        from engine.rhythm.video import detect_cuts

        video_rhythm = run(detect_cuts(video), bar)
    result = run(export_job(video, sheet, settings, mp4=args.out, otio=args.otio, rhythms=rhythms,
                            video_rhythm=video_rhythm), bar)
    bar.done()
    out = {"mp4": str(result.mp4) if result.mp4 else None, "otio": str(result.otio) if result.otio else None,
           "cues": len(sheet.cues), "loudness_lufs": _num(result.loudness_lufs),
           "true_peak_dbtp": _num(result.true_peak_dbtp), "gain_db": _num(result.gain_db),
           "speech_regions": int(len(result.speech)) if result.speech is not None else 0, "note": result.note}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    for key in ("mp4", "otio"):
        if out[key]:
            print(f"wrote {out[key]}")
    lufs = f"{out['loudness_lufs']:.1f} LUFS" if out["loudness_lufs"] is not None else "silent"
    tp = f"{out['true_peak_dbtp']:.1f} dBTP" if out["true_peak_dbtp"] is not None else "-"
    print(f"  {len(sheet.cues)} cue(s), {lufs}, true peak {tp}, ducked under {out['speech_regions']} "
          f"speech region(s){'' if args.duck else ' (ducking off)'}")
    if result.note:
        print(f"  note: {result.note}")
    return 0


def _num(x) -> float | None:
    return None if x is None or not float(x) == float(x) or abs(float(x)) == float("inf") else round(float(x), 2)


def _rhythms(sheet) -> dict:
    """Downbeats of each track of the sheet (for fades on the beat), when the rhythm module is
    there; a track it cannot read just gets plain fades."""
    try:
        from engine.rhythm.music import analyse_rhythm
    except ImportError:
        return {}
    from engine.media.audio import decode_audio
    from engine.media.errors import MediaError

    out = {}
    for path in {c.music_path for c in sheet.cues}:
        try:
            out[path] = analyse_rhythm(decode_audio(path, 22050), 22050)
        except (MediaError, ValueError, NotImplementedError):
            continue
    return out
