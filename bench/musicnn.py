"""musicnn extractor speed: × realtime on a generated track, decoding included.

    .venv/bin/python bench/musicnn.py [--minutes 5] [--runs 3] [--model MTT_musicnn]
                                      [--threads N] [--format mp3] [--device cpu]

Generates (once, cached under the system temp folder) a 44.1 kHz stereo track with chords,
a bass line, kick and hi-hat, then times ``MusicnnExtractor.extract`` on it (decode to
16 kHz mono, log-mel, 3 s patches, network, pooling into 6.7 s segments) and prints the
median over the runs, plus where the time went in the last run. Goal: ≥ 60× realtime on a
2-core CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.features.musicnn import MusicnnExtractor  # noqa: E402
from engine.features.musicnn import preprocess as pre  # noqa: E402
from engine.jobs import run  # noqa: E402
from engine.media.audio import decode_audio  # noqa: E402
from engine.media.grid import SegmentGrid  # noqa: E402
from training.synthmedia import write_audio  # noqa: E402

SR = 44100


def synth_song(seconds: float, seed: int = 0) -> np.ndarray:
    """float32 [2, n]: 120 bpm, a I-V-vi-IV progression, bass, kick on the beat, hats."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    beat = 0.5
    chords = [(261.6, 329.6, 392.0), (196.0, 246.9, 293.7), (220.0, 261.6, 329.6), (174.6, 220.0, 261.6)]
    out = np.zeros(n, dtype=np.float64)
    bar = (t // (4 * beat)).astype(int) % 4
    for i, chord in enumerate(chords):
        mask = bar == i
        for f in chord:
            out[mask] += 0.08 * np.sin(2 * np.pi * f * t[mask]) * (1 + 0.3 * np.sin(2 * np.pi * 5 * t[mask]))
        out[mask] += 0.15 * np.sign(np.sin(2 * np.pi * chord[0] / 2 * t[mask])) * 0.5
    phase = (t % beat) / beat
    out += 0.6 * np.sin(2 * np.pi * 55 * t) * np.exp(-phase * 12)  # kick
    half = ((t + beat / 2) % beat) / beat
    out += 0.05 * rng.standard_normal(n) * np.exp(-half * 40)  # off-beat hats
    out /= np.abs(out).max() * 1.1
    return np.stack([out, np.roll(out, 200)]).astype(np.float32)


def make_track(minutes: float, fmt: str) -> Path:
    path = Path(tempfile.gettempdir()) / f"mvpt-bench-musicnn-{minutes:g}min.{fmt}"
    if not path.exists():
        tmp = path.with_name(path.stem + ".part." + fmt)
        write_audio(tmp, synth_song(minutes * 60), sample_rate=SR)
        tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--model", default="MTT_musicnn")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--format", default="mp3", choices=["mp3", "flac", "wav", "m4a"])
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--weights-dir", default=None, help="musicnn checkpoints (default: the installed package)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    track = make_track(args.minutes, args.format)
    seconds = args.minutes * 60
    grid = SegmentGrid(seconds)
    ext = MusicnnExtractor(args.model, device=args.device, weights_dir=args.weights_dir,
                           batch_size=args.batch_size)
    print(f"{ext.id}  track {track.name} ({seconds:.0f} s, {len(grid)} segments)  "
          f"torch threads {torch.get_num_threads()}")

    run(ext.extract(track, SegmentGrid(30.0)))  # warm-up: allocator, FFT plans, MKL
    times = []
    for i in range(args.runs):
        t0, c0 = time.perf_counter(), time.process_time()
        feats = run(ext.extract(track, grid))
        times.append(time.perf_counter() - t0)
        cpu = time.process_time() - c0
        print(f"  run {i + 1}: {times[-1]:.2f} s = {seconds / times[-1]:.1f}x realtime  {feats.shape}  "
              f"(CPU {cpu:.2f} s: {seconds / cpu:.1f}x realtime per core)")
    med = statistics.median(times)

    t0 = time.perf_counter()
    samples = decode_audio(track, pre.SAMPLE_RATE)
    t1 = time.perf_counter()
    rep = pre.log_mel(samples)
    t2 = time.perf_counter()
    n_patches = len(pre.patch_starts(len(rep), ext.hop_frames))
    print(f"  parts: decode {t1 - t0:.2f} s, log-mel {t2 - t1:.2f} s, network+pooling "
          f"~{med - (t2 - t0):.2f} s for {n_patches} patches "
          f"({(med - (t2 - t0)) / n_patches * 1000:.0f} ms/patch)")
    print(f"median of {args.runs}: {med:.2f} s for {seconds:.0f} s of audio = "
          f"{seconds / med:.1f}x realtime (goal >= 60x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
