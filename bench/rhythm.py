"""Music rhythm analysis: accuracy on generated music with known beats, and its cost.

    .venv/bin/python bench/rhythm.py [--seeds 4] [--seconds 40] [--no-cost] [--real DIR]

For each style of :mod:`engine.rhythm.music_synth` (slow 60-90 bpm, straight, fast 160+,
swing, 3/4, a tempo change, a fade-out, beatless ambient, silence), ``--seeds`` tracks of
``--seconds`` are analysed with :func:`engine.rhythm.music.analyse_rhythm` and scored:

- beat F: F-measure of beats at +-70 ms (each reference beat matched to at most one);
- downbeat F: the same for downbeats;
- tempo acc1: within 4 % of the true tempo; acc2: also at x2, x1/2, x3, x1/3 (octave errors);
- meter: share with the right beats per bar; steady: share said to have a steady beat
  (1.0 is right for music with a beat, 0.0 for ambient and silence);
- ending: median |error| (s) of the real ending (last downbeat before fade or silence);
- sections F: section boundaries at +-1 s (the first, 0.0, not counted).

Then the cost: analysis time per minute of audio, against what the scan already spends on
a track (decoding its file and the musicnn features, or the classic extractor without
musicnn's weights), medians of 3 runs on one 3-minute generated track, side by side.
``--real DIR`` also analyses every audio file under DIR (no ground truth: tempo, steady,
how many beats sit on an onset peak). ``--charts DIR`` scores real songs that come with a
beat map: Frets on Fire song folders (``song.ogg`` + ``guitar.ogg`` + ``notes.mid``, whose
tempo and time-signature events give the beats and bars; Debian's
``fretsonfire-songs-muldjord`` installs four under /usr/share/games/fretsonfire/data/songs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.rhythm.music import analyse_rhythm  # noqa: E402
from engine.rhythm.music_synth import STYLES, synth_track  # noqa: E402

BEAT_WINDOW = 0.07
SECTION_WINDOW = 1.0


def f_measure(ref: np.ndarray, est: np.ndarray, window: float = BEAT_WINDOW) -> float:
    """F-measure of ``est`` against ``ref`` with one-to-one matches within ``window`` s.
    Both empty: 1.0 (nothing to find, nothing made up)."""
    ref, est = np.sort(np.asarray(ref, float)), np.sort(np.asarray(est, float))
    if len(ref) == 0 and len(est) == 0:
        return 1.0
    if len(ref) == 0 or len(est) == 0:
        return 0.0
    used = np.zeros(len(est), bool)
    hits = 0
    for r in ref:
        d = np.abs(est - r)
        d[used] = np.inf
        j = int(np.argmin(d))
        if d[j] <= window:
            used[j] = True
            hits += 1
    p, q = hits / len(est), hits / len(ref)
    return 0.0 if hits == 0 else 2 * p * q / (p + q)


def tempo_ok(est: float | None, ref: float | None, octave: bool) -> bool:
    if est is None or ref is None:
        return est is None and ref is None
    factors = (1.0, 2.0, 0.5, 3.0, 1 / 3) if octave else (1.0,)
    return any(abs(est - ref * k) <= 0.04 * ref * k for k in factors)


def accuracy(seeds: int, seconds: float) -> None:
    print(f"accuracy: {seeds} generated tracks of {seconds:g} s per style (beats +-{BEAT_WINDOW * 1000:.0f} ms)")
    head = (f"{'style':13s} {'beatF':>6s} {'dbeatF':>6s} {'acc1':>5s} {'acc2':>5s} {'meter':>5s} {'steady':>6s} "
            f"{'ending':>6s} {'sectF':>6s}  tempi (true -> found)")
    print(head)
    steady_rows: list[float] = []
    for style in STYLES:
        rows = []
        tempi = []
        for seed in range(seeds):
            t = synth_track(style, seed=100 + seed, duration=seconds)
            r = analyse_rhythm(t.samples, t.rate)
            if not t.steady:
                beat_f = 1.0 if not r.steady else 0.0
                rows.append((beat_f, beat_f, float(not r.steady), float(not r.steady), float(r.meter is None),
                             float(r.steady), np.nan, np.nan))
                tempi.append(f"- -> {r.tempo or '-'}")
                continue
            ref_beats = t.beats[t.beats <= t.ending + 1e-6] if style == "fade_out" else t.beats
            est_beats = r.beats[r.beats <= t.ending + 0.1] if style == "fade_out" else r.beats
            ref_down = t.downbeats
            est_down = r.downbeats[r.downbeats <= t.ending + 0.1] if style == "fade_out" else r.downbeats
            true_tempo = t.tempo
            tempi_ok = [t.tempo]
            if style == "tempo_change":  # either part's tempo counts (r.tempo is the median beat period)
                true_tempo = 60.0 / float(np.median(np.diff(t.beats[len(t.beats) // 2:])))
                tempi_ok.append(true_tempo)
            rows.append((f_measure(ref_beats, est_beats), f_measure(ref_down, est_down),
                         float(any(tempo_ok(r.tempo, k, False) for k in tempi_ok)),
                         float(any(tempo_ok(r.tempo, k, True) for k in tempi_ok)),
                         float(r.meter == t.meter), float(r.steady), abs(r.ending - t.ending),
                         f_measure(t.sections[1:], r.sections[1:], SECTION_WINDOW)))
            tempi.append(f"{true_tempo:.0f}->{r.tempo or 0:.0f}")
        a = np.asarray(rows, float)
        mean = np.nanmean(a, axis=0)
        ending = np.nanmedian(a[:, 6]) if np.isfinite(a[:, 6]).any() else float("nan")
        if style not in ("ambient", "silence"):
            steady_rows.extend(a[:, 0])
        print(f"{style:13s} {mean[0]:6.2f} {mean[1]:6.2f} {mean[2]:5.2f} {mean[3]:5.2f} {mean[4]:5.2f} "
              f"{mean[5]:6.2f} {ending:6.2f} {mean[7]:6.2f}  {' '.join(tempi)}")
    print(f"beat F over all steady styles: {np.mean(steady_rows):.3f} (goal >= 0.9)")


def cost(runs: int = 3, seconds: float = 180.0, extractor_name: str | None = None) -> None:
    from engine.features.registry import create_extractor
    from engine.jobs import run
    from engine.library.scan import default_extractor_name
    from engine.media.audio import decode_audio
    from engine.media.grid import DEFAULT_SEGMENT_SECONDS, SegmentGrid
    from engine.rhythm.music import ANALYSIS_RATE
    from training.synthmedia import write_audio

    t = synth_track("straight", seed=7, duration=seconds, rate=44100)
    path = Path(tempfile.gettempdir()) / f"mvpt-bench-rhythm-{int(seconds)}s.mp3"
    if not path.exists():
        write_audio(path, np.stack([t.samples, t.samples]), sample_rate=44100)
    name = extractor_name or default_extractor_name("music")
    extractor = create_extractor(name, "cpu")
    clip = synth_track("straight", seed=1, duration=10.0).samples
    t0 = time.perf_counter()
    analyse_rhythm(clip, ANALYSIS_RATE)  # first call in a process: numba compiles the beat tracker
    first = time.perf_counter() - t0
    wall: dict[str, list[float]] = {"decode": [], "features": [], "rhythm": []}
    cpu: dict[str, list[float]] = {"decode": [], "features": [], "rhythm": []}
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        samples = decode_audio(path, int(extractor.sample_rate))
        w1, c1 = time.perf_counter(), time.process_time()
        run(extractor.analyse_job(samples, SegmentGrid(len(samples) / extractor.sample_rate,
                                                        DEFAULT_SEGMENT_SECONDS)))
        w2, c2 = time.perf_counter(), time.process_time()
        analyse_rhythm(samples, int(extractor.sample_rate))
        w3, c3 = time.perf_counter(), time.process_time()
        for d, (a, b_, c, e) in ((wall, (w0, w1, w2, w3)), (cpu, (c0, c1, c2, c3))):
            d["decode"].append(b_ - a)
            d["features"].append(c - b_)
            d["rhythm"].append(e - c)
    minutes = seconds / 60
    print(f"cost on one {seconds:.0f} s track (medians of {runs}; extractor {extractor.id}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}):")
    for label, d in (("wall", wall), ("cpu", cpu)):
        dec, feat, rhy = (statistics.median(d[k]) for k in ("decode", "features", "rhythm"))
        print(f"  {label:4s}  decode {dec:.2f} s + features {feat:.2f} s = scan {dec + feat:.2f} s "
              f"({(dec + feat) / minutes:.2f} s/min);  rhythm {rhy:.2f} s ({rhy / minutes:.2f} s/min) "
              f"= {100 * rhy / (dec + feat):.1f} % of the scan (goal <= 10 %)")
    print(f"  first call in a process (numba compiles; a scan worker pays it at start): {first:.2f} s")


def _share_near(peaks: np.ndarray, times: np.ndarray, tol: float = 0.05) -> float:
    """Share of ``times`` within ``tol`` s of one of ``peaks``."""
    if len(peaks) == 0 or len(times) == 0:
        return 0.0
    return float(np.mean(np.abs(np.asarray(times)[:, None] - peaks[None, :]).min(axis=1) <= tol))


def real(folder: str) -> None:
    from engine.library.scan import media_files
    from engine.media.audio import decode_audio
    from engine.rhythm.signals import ANALYSIS_RATE, Frames

    files = media_files(folder, "music")
    print(f"real music: {len(files)} files under {folder} (no ground truth)")
    print("  onpk/rand: share of beats on an onset peak, and of random times; ibi cv: spread of the beat "
          "periods (tempo stability); odd bars: share of bars not `meter` beats long (bar phase jumps)")
    print(f"{'file':40s} {'dur':>6s} {'steady':>6s} {'clar':>5s} {'tempo':>6s} {'alts':24s} {'meter':>5s} "
          f"{'onpk':>5s} {'rand':>5s} {'ibicv':>5s} {'oddbar':>6s} {'sect':>4s} {'ending':>7s} {'secs':>5s}")
    for p in files:
        y = decode_audio(p, ANALYSIS_RATE)
        t0 = time.perf_counter()
        r = analyse_rhythm(y, ANALYSIS_RATE)
        dt = time.perf_counter() - t0
        onpk = rand = cv = odd = float("nan")
        if r.steady and len(r.beats) > 2:
            ibi = np.diff(r.beats)
            cv = float(np.std(ibi) / np.mean(ibi))
            starts = np.nonzero(r.beat_positions == 1)[0]
            odd = float(np.mean(np.diff(starts) != r.meter)) if len(starts) > 1 else 0.0
            # share of beats within 50 ms of an onset peak above the track's median, vs random times
            fr = Frames(y)
            o = fr.onset
            pk = np.nonzero((o[1:-1] > o[:-2]) & (o[1:-1] >= o[2:]) & (o[1:-1] > np.percentile(o, 75)))[0] + 1
            pt = fr.seconds(pk)
            onpk = _share_near(pt, r.beats)
            rand = _share_near(pt, np.random.default_rng(0).uniform(0, r.duration, len(r.beats)))
        alts = " ".join(f"{c.bpm:.0f}:{c.confidence:.2f}" for c in r.tempo_alternatives[:3])
        print(f"{Path(p).name[:40]:40s} {r.duration:6.1f} {str(r.steady):>6s} {r.pulse_clarity:5.2f} "
              f"{(r.tempo or 0):6.1f} {alts:24s} {str(r.meter or '-'):>5s} {onpk:5.2f} {rand:5.2f} {cv:5.2f} {odd:6.3f} "
              f"{len(r.sections):4d} {r.ending:7.1f} {dt:5.2f}")


def _varlen(data: bytes, p: int) -> tuple[int, int]:
    v = 0
    while True:
        b = data[p]
        p += 1
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            return v, p


def midi_beats(path: Path, duration: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(beats, downbeats, meter) of a standard MIDI file's tempo map (quarter-note beats,
    bars from its first time signature), up to ``duration`` s."""
    import struct

    data = path.read_bytes()
    if data[:4] != b"MThd":
        raise ValueError(f"{path} is not a MIDI file")
    _, ntrk, div = struct.unpack(">HHH", data[8:14])
    pos, tempi, meter = 14, [], 4
    for _ in range(ntrk):
        length = struct.unpack(">I", data[pos + 4:pos + 8])[0]
        p, end, tick, status = pos + 8, pos + 8 + length, 0, 0
        while p < end:
            dt, p = _varlen(data, p)
            tick += dt
            b = data[p]
            if b == 0xFF:
                kind = data[p + 1]
                n, q = _varlen(data, p + 2)
                if kind == 0x51:
                    tempi.append((tick, int.from_bytes(data[q:q + 3], "big")))
                elif kind == 0x58 and tick == 0:
                    meter = data[q]
                p = q + n
            elif b in (0xF0, 0xF7):
                n, q = _varlen(data, p + 1)
                p = q + n
            else:
                if b & 0x80:
                    status, p = b, p + 1
                p += 1 if (status & 0xF0) in (0xC0, 0xD0) else 2
        pos = end
    tempi = sorted(tempi) or [(0, 500000)]
    beats, t, tick = [], 0.0, 0
    while t <= duration:
        beats.append(t)
        us = [u for k, u in tempi if k <= tick][-1]
        t += us / 1e6
        tick += div
    b = np.asarray(beats)
    return b, b[::meter], meter


def charts(folder: str) -> None:
    from engine.media.audio import decode_audio
    from engine.rhythm.music import ANALYSIS_RATE

    songs = sorted(p.parent for p in Path(folder).rglob("notes.mid") if (p.parent / "song.ogg").exists())
    print(f"real songs with a beat map: {len(songs)} under {folder} (beats +-{BEAT_WINDOW * 1000:.0f} ms)")
    print(f"{'song':24s} {'dur':>5s} {'true':>5s} {'found':>6s} {'acc1':>4s} {'acc2':>4s} {'beatF':>5s} "
          f"{'beatF@x2':>8s} {'dbeatF':>6s} {'dbF@bar':>7s} {'meter':>5s} {'sect':>4s} {'secs':>5s}")
    rows = []
    for d in songs:
        y = decode_audio(d / "song.ogg", ANALYSIS_RATE)
        if (d / "guitar.ogg").exists():
            g = decode_audio(d / "guitar.ogg", ANALYSIS_RATE)
            n = min(len(y), len(g))
            y = y[:n] + g[:n]
        t0 = time.perf_counter()
        r = analyse_rhythm(y, ANALYSIS_RATE)
        dt = time.perf_counter() - t0
        beats, downbeats, meter = midi_beats(d / "notes.mid", r.sound_end)
        true = 60.0 / float(np.median(np.diff(beats)))
        # the same beats at the other octave: every other beat, or beats with their midpoints
        half = beats[::2]
        double = np.sort(np.concatenate([beats, (beats[:-1] + beats[1:]) / 2]))
        other = max(f_measure(half, r.beats), f_measure(double, r.beats))
        # the chart's bar lines start at its first tick, which is not always the music's
        # downbeat (a pickup): the best of the chart's bars shifted by whole beats
        any_phase = max(f_measure(beats[k::meter], r.downbeats) for k in range(meter))
        row = (int(tempo_ok(r.tempo, true, False)), int(tempo_ok(r.tempo, true, True)),
               f_measure(beats, r.beats), other, f_measure(downbeats, r.downbeats), any_phase)
        rows.append(row)
        print(f"{d.name[:24]:24s} {r.duration:5.0f} {true:5.1f} {(r.tempo or 0):6.1f} {row[0]:4d} {row[1]:4d} "
              f"{row[2]:5.2f} {row[3]:8.2f} {row[4]:6.2f} {row[5]:7.2f} {str(r.meter):>5s} {len(r.sections):4d} "
              f"{dt:5.2f}")
    if rows:
        m = np.mean(np.asarray(rows, float), axis=0)
        print(f"{'mean':24s} {'':5s} {'':5s} {'':6s} {m[0]:4.2f} {m[1]:4.2f} {m[2]:5.2f} {m[3]:8.2f} {m[4]:6.2f} "
              f"{m[5]:7.2f}")


DEMO_TRACKS = (2, 12, 22, 32, 42, 52, 62, 36, 46, 4, 14, 1, 3, 5, 6, 7, 8, 9)
"""Demo-world tracks (seed 0, 60-180 s, :mod:`training.demo_music`) with their known grid:
every piano track of the first 64 (62-80 bpm: "Piano 32 (68 bpm)" was read at 136), the
slow hip-hop and strings, and one of each other style with a beat."""


def demo(indices: tuple[int, ...] = DEMO_TRACKS) -> None:
    """Demo-world tracks, rendered (cached under the temp dir) and scored like the generated
    styles: the beats are every 60/bpm s from 0 to the last bar, bars of 4."""
    from engine.rhythm.music import ANALYSIS_RATE
    from training.demo_music import SR, plan_track, render_track

    cache = Path(tempfile.gettempdir()) / "mvpt-bench-rhythm-demo"
    cache.mkdir(exist_ok=True)
    print(f"demo-world tracks with a known grid: {len(indices)} (seed 0)")
    print(f"{'track':16s} {'dur':>5s} {'true':>5s} {'found':>6s} {'acc1':>4s} {'acc2':>4s} {'beatF':>5s} "
          f"{'dbeatF':>6s} {'meter':>5s}  alternatives")
    rows = []
    for i in indices:
        spec = plan_track(i, 0, (60, 180))
        path = cache / f"{i:02d}_{spec.key_hash(0)}.npy"
        if path.exists():
            y = np.load(path)
        else:
            import librosa

            y = librosa.resample(render_track(spec).mean(axis=0), orig_sr=SR, target_sr=ANALYSIS_RATE,
                                 res_type="soxr_hq").astype(np.float32)
            np.save(path, y)
        r = analyse_rhythm(y, ANALYSIS_RATE)
        beats = np.arange(spec.bars * spec.beats_per_bar) * spec.beat_seconds
        downbeats = beats[::spec.beats_per_bar]
        row = (int(tempo_ok(r.tempo, spec.bpm, False)), int(tempo_ok(r.tempo, spec.bpm, True)),
               f_measure(beats, r.beats), f_measure(downbeats, r.downbeats))
        rows.append(row)
        alts = " ".join(f"{c.bpm:.0f}:{c.confidence:.2f}" for c in r.tempo_alternatives[:3])
        print(f"{spec.style[:8]:8s} {i:02d}      {r.duration:5.0f} {spec.bpm:5.0f} {(r.tempo or 0):6.1f} {row[0]:4d} "
              f"{row[1]:4d} {row[2]:5.2f} {row[3]:6.2f} {str(r.meter):>5s}  {alts}")
    m = np.mean(np.asarray(rows, float), axis=0)
    print(f"{'mean':16s} {'':5s} {'':5s} {'':6s} {m[0]:4.2f} {m[1]:4.2f} {m[2]:5.2f} {m[3]:6.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--no-cost", action="store_true", help="skip the cost comparison")
    ap.add_argument("--no-accuracy", action="store_true")
    ap.add_argument("--extractor", help="music extractor the scan is compared with (default: the scan's default)")
    ap.add_argument("--real", metavar="DIR", help="also analyse the audio files under DIR")
    ap.add_argument("--charts", metavar="DIR", help="also score Frets on Fire songs (with notes.mid) under DIR")
    ap.add_argument("--demo", action="store_true", help="also score demo-world tracks (slow piano ...)")
    args = ap.parse_args(argv)
    if not args.no_accuracy:
        accuracy(args.seeds, args.seconds)
    if not args.no_cost:
        cost(extractor_name=args.extractor)
    if args.real:
        real(args.real)
    if args.charts:
        charts(args.charts)
    if args.demo:
        demo()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
