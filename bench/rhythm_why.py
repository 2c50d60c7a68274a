"""Why the tracker's grid differs from the true one, per track: tempo (octave), beat phase
(a constant lag, the off-beats), bar phase (downbeats on the wrong beat of the bar), sections.

    .venv/bin/python bench/rhythm_why.py [--set sync|demo] [--tracks 50]

``--set sync``: the 50 generated songs of ``bench/sync.py`` (seed 12, 90-240 s); ``--set
demo``: the 18 demo-world tracks of ``bench/rhythm.py --demo``. Audio is rendered once and
cached at 16 kHz (int16) under the temp dir, so a change to the tracker is measured in about
a minute. ``bench/sync.py --analysed --why`` uses :func:`diagnose` per pair.

Per track: tempo found / true; beat F (+-70 ms); the lag: median signed time of the found
beats from the true beat nearest each (ms, only beats within a quarter beat of one); off: share
of found beats nearer a true off-beat (half-way) than a beat; downbeat F; bar: on which beat
of the true bar the found downbeats fall (share of each of beats 1..4; 1 is right); sections F
(+-1 s). The cause: ``tempo`` (not within 4 %), ``beat phase`` (beat F < 0.8 at the right
tempo), ``bar phase`` (downbeat F < 0.8 with the beats right), else ``ok``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.rhythm import DEMO_TRACKS, f_measure  # noqa: E402
from engine.rhythm.music import ANALYSIS_RATE, MusicRhythm, analyse_rhythm  # noqa: E402

CAUSES = ("ok", "bar phase", "beat phase", "tempo", "no grid")


def diagnose(beats: np.ndarray, downbeats: np.ndarray, sections: np.ndarray, bpm: float,
             r: MusicRhythm) -> dict:
    """The found grid ``r`` against the true ``beats``/``downbeats``/``sections`` at ``bpm``."""
    out = dict(ratio=(r.tempo or 0.0) / bpm, beat_f=f_measure(beats, r.beats), down_f=f_measure(downbeats, r.downbeats),
               sect_f=f_measure(sections[1:], r.sections[1:], 1.0), lag=np.nan, off=np.nan,
               bar=np.zeros(4), cause="no grid")
    if not r.steady or len(r.beats) == 0:
        return out
    period = 60.0 / bpm
    d = r.beats[:, None] - beats[None, :]  # [found, true]
    j = np.argmin(np.abs(d), axis=1)
    near = d[np.arange(len(d)), j]
    on = np.abs(near) <= period / 4
    out["lag"] = 1000 * float(np.median(near[on])) if on.any() else np.nan
    out["off"] = float(np.mean(~on))
    meter = max(1, int(round(len(beats) / max(len(downbeats), 1))))
    dd = r.downbeats[:, None] - beats[None, :]
    jd = np.argmin(np.abs(dd), axis=1)
    hit = np.abs(dd[np.arange(len(dd)), jd]) <= 0.07
    if hit.any():
        first = int(np.argmin(np.abs(beats - downbeats[0])))
        k = (jd[hit] - first) % meter
        out["bar"] = np.bincount(k, minlength=4)[:4] / hit.sum()
    if abs(np.log(max(out["ratio"], 1e-9))) > np.log(1.04):
        out["cause"] = "tempo"
    elif out["beat_f"] < 0.8:
        out["cause"] = "beat phase"
    elif out["down_f"] < 0.8:
        out["cause"] = "bar phase"
    else:
        out["cause"] = "ok"
    return out


def tracks(which: str, n: int) -> list[tuple[str, object]]:
    from training.demo_music import plan_track

    if which == "demo":
        return [(f"{i:02d}", plan_track(i, 0, (60, 180))) for i in DEMO_TRACKS]
    return [(f"{i:02d}", plan_track(i, 12, (90.0, 240.0))) for i in range(n)]


def audio_of(spec) -> np.ndarray:  # noqa: ANN001 (a TrackSpec)
    """float32 [n] at ANALYSIS_RATE, cached as int16."""
    from training.demo_music import SR, render_track

    cache = Path(tempfile.gettempdir()) / "mvpt-bench-rhythm-why"
    cache.mkdir(exist_ok=True)
    path = cache / f"{spec.key_hash(1)}.npy"
    if path.exists():
        return np.load(path).astype(np.float32) / 32767.0
    import librosa

    y = librosa.resample(render_track(spec).mean(axis=0), orig_sr=SR, target_sr=ANALYSIS_RATE, res_type="soxr_hq")
    q = np.round(np.clip(y, -1, 1) * 32767).astype(np.int16)
    np.save(path, q)
    return q.astype(np.float32) / 32767.0


def truth_of(spec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
    beats = np.arange(spec.bars * spec.beats_per_bar) * spec.beat_seconds
    sections = np.array([s.start_bar * spec.bar_seconds for s in spec.sections])
    return beats, beats[::spec.beats_per_bar], sections


def print_table(rows: list[tuple[str, str, float, dict]]) -> None:
    print(f"{'track':12s} {'style':8s} {'bpm':>5s} {'ratio':>5s} {'beatF':>5s} {'lag ms':>6s} {'off':>4s} "
          f"{'dbF':>4s} {'bar 1/2/3/4 %':>15s} {'sectF':>5s}  cause")
    for name, style, bpm, d in rows:
        bar = "/".join(f"{round(100 * x):d}" for x in d["bar"])
        print(f"{name:12s} {style[:8]:8s} {bpm:5.0f} {d['ratio']:5.2f} {d['beat_f']:5.2f} {d['lag']:6.0f} "
              f"{d['off']:4.2f} {d['down_f']:4.2f} {bar:>15s} {d['sect_f']:5.2f}  {d['cause']}")
    ds = [d for *_, d in rows]
    print(f"{'mean':12s} {'':8s} {'':5s} {'':5s} {np.mean([d['beat_f'] for d in ds]):5.2f} "
          f"{np.nanmedian([d['lag'] for d in ds]):6.0f} {np.nanmean([d['off'] for d in ds]):4.2f} "
          f"{np.mean([d['down_f'] for d in ds]):4.2f} {'':15s} {np.mean([d['sect_f'] for d in ds]):5.2f}")
    counts = {c: sum(d["cause"] == c for d in ds) for c in CAUSES}
    print("causes: " + ", ".join(f"{c} {k}" for c, k in counts.items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=("sync", "demo"), default="sync")
    ap.add_argument("--tracks", type=int, default=50)
    args = ap.parse_args(argv)
    rows, spent = [], 0.0
    for name, spec in tracks(args.set, args.tracks):
        y = audio_of(spec)
        t0 = time.process_time()
        r = analyse_rhythm(y, ANALYSIS_RATE)
        spent += time.process_time() - t0
        beats, downbeats, sections = truth_of(spec)
        rows.append((name, spec.style, spec.bpm, diagnose(beats, downbeats, sections, spec.bpm, r)))
        print(f"\r  track {len(rows)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print_table(rows)
    print(f"analysis CPU: {spent:.1f} s for {len(rows)} tracks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
