"""Fit to length, measured: 20 generated songs × 5 target lengths (issue 12).

    .venv/bin/python bench/fit_length.py [--tracks 20] [--seed 5] [--slack 1.0] [--analysed]

Songs: ``training.demo_music`` (ten styles, 60-160 bpm, 60-200 s, 22.05 kHz stereo) with their
true bars (``--analysed``: the grid from ``engine.rhythm.music.analyse_rhythm``, checked
against the true one). Targets per song: 0.25, 0.5, 0.8, 1.25 and 2 × its length (at least
12 s). Each target is fitted twice: with stretch (to the frame at 30 fps) and without (within
``--slack``).

Printed per mode: the share of fits whose music ends within one frame (stretch) or within the
slack (no stretch) of the target, the median and worst error, the share of splices on a true
downbeat (±20 ms), clicks (the largest sample step within ±50 ms of each splice of the
rendered audio, over the song's own largest step: ≤ 1 means no step larger than the music
itself makes), the median seamlessness, and the CPU time per fit (decoded samples in, bar
features included) and per render (with the stretch).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.rhythm.fit import fit_to_length, render_plan  # noqa: E402
from engine.rhythm.music import MusicRhythm  # noqa: E402

FACTORS = (0.25, 0.5, 0.8, 1.25, 2.0)
FPS = 30.0


def songs(n: int, seed: int, analysed: bool):
    from training.demo_music import SR, plan_track, render_track

    for i in range(n):
        spec = plan_track(i, seed, (60.0, 200.0))
        x = render_track(spec).T.copy()  # [n, 2]
        beats = np.arange(spec.bars * spec.beats_per_bar) * spec.beat_seconds
        truth = np.append(beats[::spec.beats_per_bar], spec.bars * spec.bar_seconds)  # + the closing bar line
        if analysed:
            from engine.rhythm.music import analyse_rhythm

            r = analyse_rhythm(x.mean(1), SR)
        else:
            r = MusicRhythm(spec.duration, True, spec.bpm, meter=4, beats=beats, downbeats=truth[:-1],
                            sections=np.array([s.start_bar * spec.bar_seconds for s in spec.sections]),
                            ending=spec.bars * spec.bar_seconds)
        yield spec, x, SR, r, truth


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracks", type=int, default=20)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--slack", type=float, default=1.0, help="seconds allowed without stretch (default 1.0)")
    ap.add_argument("--analysed", action="store_true")
    args = ap.parse_args(argv)

    rows = {True: [], False: []}
    for k, (spec, x, rate, rhythm, truth) in enumerate(songs(args.tracks, args.seed, args.analysed)):
        own = float(np.abs(np.diff(x, axis=0)).max())
        for f in FACTORS:
            target = round(max(12.0, f * spec.duration), 1)
            for stretch in (True, False):
                t0 = time.process_time()
                plans = fit_to_length(x, rate, rhythm, target, stretch=stretch, slack=args.slack, fps=FPS)
                t_fit = time.process_time() - t0
                p = plans[0]
                t0 = time.process_time()
                y = render_plan(x, rate, p)
                t_render = time.process_time() - t0
                on_down = [min(np.abs(truth - a).min(), 1e9) <= 0.02 and np.abs(truth - b).min() <= 0.02
                           for a, b in p.splices]
                w = round(0.05 * rate)
                clicks = [float(np.abs(np.diff(y[max(0, i - w):i + w], axis=0)).max()) / own
                          for i in (round((q.at + q.crossfade) / p.stretch * rate) for q in p.pieces[1:])]
                rows[stretch].append(dict(err=p.error, exact=len(y) == round(target * rate), on=on_down,
                                          clicks=clicks, seam=p.seamlessness, fit=t_fit, render=t_render,
                                          stretch=p.stretch, note=p.note, splices=len(p.splices), target=target,
                                          dur=spec.duration, bar=spec.bar_seconds))
        print(f"\r  song {k + 1}/{args.tracks}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    print(f"\nFit to length: {args.tracks} songs × {len(FACTORS)} targets ({', '.join(f'{f:g}' for f in FACTORS)} × "
          f"the song, ≥ 12 s){' — grid from analyse_rhythm' if args.analysed else ' — true grid'}")
    print(f"  {'mode':<22} {'landed':>8} {'med|err|':>9} {'max|err|':>9} {'file=S':>7} {'on dbeat':>9} "
          f"{'click≤1':>8} {'max clk':>8} {'seam':>5} {'splices':>7} {'fit ms':>7} {'rend ms':>7}")
    for stretch in (True, False):
        r = rows[stretch]
        err = np.abs([x["err"] for x in r])
        tol = 1 / FPS if stretch else args.slack
        on = [v for x in r for v in x["on"]]
        clicks = [v for x in r for v in x["clicks"]]
        name = "stretch ≤ 3 %, 1 frame" if stretch else f"no stretch, slack {args.slack:g} s"
        print(f"  {name:<22} {100 * np.mean(err <= tol + 1e-9):>7.0f}% {np.median(err):>9.3f} {err.max():>9.3f} "
              f"{100 * np.mean([x['exact'] for x in r]):>6.0f}% {100 * np.mean(on) if on else float('nan'):>8.0f}% "
              f"{100 * np.mean(np.array(clicks) <= 1.0) if clicks else float('nan'):>7.0f}% "
              f"{max(clicks) if clicks else 0:>8.2f} {np.median([x['seam'] for x in r]):>5.2f} "
              f"{np.mean([x['splices'] for x in r]):>7.1f} {1000 * np.median([x['fit'] for x in r]):>7.0f} "
              f"{1000 * np.median([x['render'] for x in r]):>7.0f}")
        missed = [x for x in r if abs(x["err"]) > tol + 1e-9]
        for x in missed[:8]:
            print(f"      missed: song {x['dur']:.0f} s (bar {x['bar']:.2f} s) -> {x['target']:g} s: "
                  f"error {x['err']:+.3f} s, stretch {x['stretch']:.4f}; {x['note']}")
        if len(missed) > 8:
            print(f"      … and {len(missed) - 8} more")
    print("  (CPU ms, medians) landed: music ends within the tolerance · file=S: rendered file exactly S long · on dbeat: splices "
          "on a true downbeat (±20 ms) · click: largest step at a splice / the song's own largest step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
