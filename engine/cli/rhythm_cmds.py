"""``mvpt beats TRACK``: tempo, beats, downbeats, sections, energy and ending of a song.

``mvpt cuts VIDEO``: hard cuts, fades, dissolves, flashes and visual energy of footage.
"""

from __future__ import annotations

import argparse
import json
import sys

from engine.media.grid import clock


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("beats", help="tempo, beats, downbeats, sections and energy of a song")
    p.add_argument("track", help="an audio (or video) file with music")
    p.add_argument("--json", action="store_true", help="machine-readable output (all times in seconds)")
    p.set_defaults(func=_beats)
    register_cuts(sub)


def _beats(args: argparse.Namespace) -> int:
    from engine.cli.checks import require_file, require_streams
    from engine.media.audio import decode_audio
    from engine.rhythm.music import ANALYSIS_RATE, analyse_rhythm

    path = require_file(args.track)
    require_streams(path, "beats", "audio")
    r = analyse_rhythm(decode_audio(path, ANALYSIS_RATE), ANALYSIS_RATE)
    if args.json:
        print(json.dumps({"track": str(path), **r.to_dict()}))
        return 0
    out = sys.stdout
    print(f"{path}", file=out)
    print(f"  duration   {clock(r.duration)} ({r.duration:.1f} s), sound until {clock(r.sound_end)}", file=out)
    alts = ", ".join(f"{c.bpm:.1f} ({c.confidence:.0%})" for c in r.tempo_alternatives)
    if not r.steady:
        print(f"  tempo      {r.reason or 'no steady beat'}: no beat grid" + (f" (periodicities: {alts})"
                                                                         if alts else ""), file=out)
    else:
        print(f"  tempo      {r.tempo:.1f} bpm, {r.meter}/4   readings: {alts}", file=out)
        print(f"  beats      {len(r.beats)}, first at {r.beats[0]:.2f} s; {len(r.downbeats)} bars, "
              f"first downbeat {r.downbeats[0]:.2f} s", file=out)
        print(f"  ending     last downbeat before the fade/silence: {clock(r.ending)} ({r.ending:.2f} s)", file=out)
    print(f"  sections   {len(r.sections)}: " + " ".join(clock(t) for t in r.sections), file=out)
    if len(r.energy):
        peak = int(r.energy.argmax())
        print(f"  energy     {len(r.energy)} values at {r.energy_rate:g} Hz, mean {r.energy.mean():.2f}, "
              f"peak {r.energy.max():.2f} at {clock(peak / r.energy_rate)}", file=out)
    print(f"  pulse      clarity {r.pulse_clarity:.2f} (under 0.25: no steady beat)", file=out)
    return 0


# --- mvpt cuts (footage) ------------------------------------------------------------------

def register_cuts(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cuts", help="shot cuts, fades, dissolves, flashes and visual energy of a video")
    p.add_argument("video", help="a video file")
    p.add_argument("--json", action="store_true", help="machine-readable output (all times in seconds), "
                                                       "no progress bar")
    p.set_defaults(func=_cuts)


def _cuts(args: argparse.Namespace) -> int:
    from engine.cli.checks import require_file, require_streams
    from engine.cli.progress import ProgressBar
    from engine.jobs import run
    from engine.rhythm.video import detect_cuts

    path = require_file(args.video)
    require_streams(path, "cuts", "video")
    bar = ProgressBar(enabled=not args.json)
    try:
        r = run(detect_cuts(path), bar)
    finally:
        bar.done()
    if args.json:
        print(json.dumps({"video": str(path), "has_cuts": r.has_cuts, **r.to_dict()}))
        return 0
    out = sys.stdout
    print(f"{path}", file=out)
    print(f"  duration     {clock(r.duration)} ({r.duration:.1f} s), {r.frames} frames read", file=out)
    if not r.has_cuts:
        print("  cuts         no cuts found (one continuous shot)", file=out)
    else:
        per_min = 60.0 * len(r.shot_boundaries()) / max(r.duration, 1e-9)
        print(f"  cuts         {len(r.cuts)} hard cuts, {len(r.transitions)} gradual transitions "
              f"({per_min:.1f} shot changes per minute)", file=out)
        for t, c in zip(r.cuts, r.cut_confidence):
            print(f"    {clock(float(t)):>8}  {float(t):8.3f} s  cut       confidence {float(c):.2f}", file=out)
        for tr in r.transitions:
            kind = f"{tr.kind} ({tr.through})" if tr.through else tr.kind
            print(f"    {clock(tr.start):>8}  {tr.start:8.3f} s  {kind:<14} to {tr.end:.3f} s  "
                  f"confidence {tr.confidence:.2f}", file=out)
    if len(r.flashes):
        print(f"  flashes      {len(r.flashes)}: " + " ".join(clock(float(t)) for t in r.flashes), file=out)
    if len(r.energy):
        peak = int(r.energy.argmax())
        print(f"  energy       {len(r.energy)} values at {r.energy_rate:g} Hz, mean {r.energy.mean():.2f}, "
              f"peak {r.energy.max():.2f} at {clock(peak / r.energy_rate)}", file=out)
    return 0
