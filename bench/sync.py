"""Sync-aware suggestions, measured: generated music videos cut to their own music, with a
library of generated tracks (issue 12).

    .venv/bin/python bench/sync.py [--tracks 50] [--videos 100] [--seed 12] [--analysed] [--section-cuts P]

Music: ``--tracks`` songs of 90-240 s from ``training.demo_music`` (ten styles, 60-160 bpm,
sections of 4-8 bars with their own energy), rendered to audio. Beats, downbeats and sections
are the generator's own (``--analysed``: from ``engine.rhythm.music.analyse_rhythm`` when it
exists); the energy curve is computed from the rendered audio (spectral flux + loudness at
10 Hz; ``--analysed``: the analyser's). Videos are always cut to the true grid.

Videos (``--videos``, 30-180 s), each cut to one track of the library from a true offset (60 %
on a downbeat, 40 % anywhere), imperfectly, as a detector would report an editor's cut:
shots of 1-8 bars, shorter in loud sections; 55 % of cuts on a downbeat, 25 % on another beat,
20 % anywhere; every cut jittered (N(0, 25 ms)) and rounded to the frame (24/25/30 fps); a
cut on most section starts (``--section-cuts``, 0.7; 0: an editor who ignores them); 8 % of
cuts missed, one false cut per 30 s at low confidence. Its energy curve: a spike at each cut, motion noise and bursts, and the music's smoothed loudness
at a weight drawn per video in 0.1-0.6 (some videos hardly follow their music).

The model's score is a **noisy stand-in** (no trained model on this world): cosine-like
scores N(0.3, 0.05) per (video, track), +0.6 sd for tracks of the true track's style, +0.6 sd
for the true track: a weak content signal with ambiguous styles.

Printed: the offset error of the sync search on the true track (in beats: whole track, with the
model's offset as a search window, with it as a tie-breaker only; how many misses are whole
bars; how many pairs are right or honestly flagged with the truth among the alternatives,
and how many are wrong without a flag), the rank of the true track for model only, sync only
(z, and the raw score for comparison) and blended at several weights, and the time to score one candidate over every beat-aligned offset of a
3-minute video (goal ≤ 20 ms) and of a full :func:`best_offset` with its surrogate cohort.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.rhythm import ENERGY_RATE  # noqa: E402
from engine.rhythm.music import RHYTHM_VERSION, MusicRhythm  # noqa: E402
from engine.rhythm.slip import align_in_point, fitting_starts  # noqa: E402
from engine.rhythm.sync import best_offset, rerank, score_offsets  # noqa: E402
from engine.rhythm.video import VideoRhythm  # noqa: E402

FOLLOW = 10
"""The picture follows the music's loudness smoothed over this many 10 Hz samples."""
METRICS = ("excess", "z", "raw")
WEIGHTS = (0.0, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0)


# --- the music ---------------------------------------------------------------------------


def energy_curve(x: np.ndarray, rate: int) -> np.ndarray:
    """float32 [ceil(duration * 10)]: spectral flux + loudness, 0..1 (a stand-in for the
    analyser's curve)."""
    hop, n_fft = rate // 50, 1024
    n = 1 + max(0, (len(x) - n_fft) // hop)
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
    frames = np.pad(x, (0, n_fft))[idx] * np.hanning(n_fft)
    mag = np.log1p(100 * np.abs(np.fft.rfft(frames, axis=1)))
    flux = np.concatenate([[0], np.clip(np.diff(mag, axis=0), 0, None).sum(1)])
    rms = np.sqrt((frames ** 2).mean(1) + 1e-12)
    k = 5  # 50 Hz -> 10 Hz
    m = int(np.ceil(len(x) / rate * ENERGY_RATE))
    pad = lambda a: np.pad(a, (0, max(0, m * k - len(a))))[: m * k].reshape(m, k)  # noqa: E731
    f, r = pad(flux).max(1), pad(rms).mean(1)
    norm = lambda a: a / max(np.percentile(a, 99), 1e-9)  # noqa: E731
    return np.clip(0.5 * norm(f) + 0.5 * norm(r), 0, 1).astype(np.float32)


def _analyser_key() -> str:
    """RHYTHM_VERSION and a digest of the analyser's code (cached analyses of an edited tracker
    are not reused)."""
    code = b"".join((ROOT / "engine" / "rhythm" / f"{m}.py").read_bytes()
                    for m in ("music", "signals", "tempo", "downbeats", "sections"))
    return f"{RHYTHM_VERSION}-{hashlib.sha1(code).hexdigest()[:8]}"


def library(n: int, seed: int, analysed: bool, long_fast: int = 0
            ) -> tuple[list[MusicRhythm], list[MusicRhythm], list[str]]:
    """(rhythms sync reads, true rhythms the videos are cut to, styles). Without ``analysed``
    the two lists are the same: the generator's grid with an energy curve from the audio."""
    from training.demo_music import SR, plan_track, render_track

    cache = Path(tempfile.gettempdir()) / "mvpt-bench-sync"
    cache.mkdir(exist_ok=True)
    used, truth, styles = [], [], []
    for i in range(n + long_fast):
        spec = (plan_track(i, seed, (90.0, 240.0)) if i < n else  # then long, busy tracks: raw-score bait
                plan_track(1000 + i, seed, (300.0, 420.0), style=("chiptune", "rock", "techno")[i % 3]))
        audio = None
        pair = []
        for kind in ((False, True) if analysed else (False,)):
            version = _analyser_key() if kind else ""  # an analysis is redone when the analyser changes
            f = cache / f"{hashlib.sha1(f'{spec.key_hash(1)}{kind}{version}'.encode()).hexdigest()[:12]}.npz"
            if f.exists():
                d = np.load(f)
                r = MusicRhythm(float(d["dur"]), bool(d["steady"]), float(d["tempo"]) if d["tempo"] > 0 else None,
                                meter=4, beats=d["beats"], downbeats=d["downbeats"], sections=d["sections"],
                                energy=d["energy"], ending=float(d["ending"]))
            else:
                audio = render_track(spec).mean(0) if audio is None else audio
                if kind:
                    from engine.rhythm.music import analyse_rhythm

                    r = analyse_rhythm(audio, SR)
                else:
                    beats = np.arange(spec.bars * spec.beats_per_bar) * spec.beat_seconds
                    r = MusicRhythm(spec.duration, True, spec.bpm, meter=4, beats=beats, downbeats=beats[::4],
                                    sections=np.array([s.start_bar * spec.bar_seconds for s in spec.sections]),
                                    energy=energy_curve(audio, SR), ending=spec.bars * spec.bar_seconds)
                np.savez(f, dur=r.duration, steady=r.steady, tempo=r.tempo or 0.0, beats=r.beats,
                         downbeats=r.downbeats, sections=r.sections, energy=r.energy, ending=r.ending)
            pair.append(r)
        truth.append(pair[0])
        used.append(pair[-1])
        styles.append(spec.style)
        print(f"\r  track {i + 1}/{n + long_fast}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return used, truth, styles


# --- the videos --------------------------------------------------------------------------


def cut_video(music: MusicRhythm, rng: np.random.Generator, section_cuts: float = 0.7) -> tuple[VideoRhythm, float]:
    """A video cut to ``music`` from a true offset, as described in the module docstring."""
    dur = float(min(rng.uniform(30, 180), music.duration - 5))
    top = music.duration - dur
    d = music.downbeats[music.downbeats <= top]
    offset = float(rng.choice(d)) if rng.random() < 0.6 and len(d) else float(rng.uniform(0, top))
    fps = float(rng.choice([24.0, 25.0, 30.0]))
    beat = 60.0 / music.tempo
    bar = 4 * beat
    loud = np.interp(np.arange(len(music.energy)), np.arange(len(music.energy)),
                     np.convolve(music.energy, np.ones(FOLLOW) / FOLLOW, mode="same"))
    cuts = []
    t = offset + rng.uniform(0.5, 2 * bar)
    while t < offset + dur:
        r = rng.random()
        if r < 0.55:
            c = music.downbeats[np.argmin(np.abs(music.downbeats - t))]
        elif r < 0.8:
            c = music.beats[np.argmin(np.abs(music.beats - t))]
        else:
            c = t
        cuts.append(c + rng.normal(0, 0.025))
        level = loud[min(len(loud) - 1, int(c * ENERGY_RATE))]
        bars = rng.choice([0.5, 1, 2], p=[0.3, 0.4, 0.3]) if level > 0.5 else rng.choice([1, 2, 4, 8], p=[0.2, 0.35, 0.3, 0.15])
        t = c + bars * bar * rng.uniform(0.9, 1.1)
    for s in music.sections:  # most section changes get a cut
        if offset < s < offset + dur and rng.random() < section_cuts:
            cuts.append(s + rng.normal(0, 0.025))
    cuts = np.array(cuts) - offset
    cuts = cuts[rng.random(len(cuts)) > 0.08]  # missed by the detector
    conf = rng.uniform(0.6, 1.0, len(cuts))
    false = rng.uniform(0, dur, rng.poisson(dur / 30))
    cuts = np.round(np.concatenate([cuts, false]) * fps) / fps
    conf = np.concatenate([conf, rng.uniform(0.3, 0.6, len(false))])
    keep = (cuts > 0) & (cuts < dur)
    cuts, conf = cuts[keep], conf[keep]
    order = np.argsort(cuts)
    cuts, conf = cuts[order], conf[order]
    # energy: spikes at cuts, motion noise with bursts, and some of the music's loudness
    n = int(np.ceil(dur * ENERGY_RATE))
    tt = np.arange(n) / ENERGY_RATE
    spikes = np.zeros(n)
    for c in cuts:
        spikes += np.exp(-np.clip(tt - c, 0, None) / 0.15) * (tt >= c - 0.05)
    ar = np.zeros(n)
    noise = rng.normal(0, 1, n)
    for i in range(1, n):
        ar[i] = 0.9 * ar[i - 1] + noise[i]
    bursts = np.convolve((rng.random(n) < 0.01).astype(float), np.ones(20), mode="same")
    follow = np.interp(tt + offset, np.arange(len(loud)) / ENERGY_RATE, loud)
    a = rng.uniform(0.1, 0.6)
    e = a * follow / max(follow.max(), 1e-9) + 0.3 * spikes + 0.15 * (ar - ar.min()) / max(np.ptp(ar), 1e-9) + 0.2 * bursts
    e = np.clip(e / max(e.max(), 1e-9), 0, 1).astype(np.float32)
    return VideoRhythm(dur, cuts, conf.astype(np.float32), (), e), offset


# --- measuring ---------------------------------------------------------------------------


def rank_of(scores: np.ndarray, true: int) -> int:
    return int(1 + np.sum(scores > scores[true]))


def summary(ranks: list[int]) -> str:
    r = np.array(ranks)
    return (f"{np.median(r):>6.1f} {100 * np.mean(r == 1):>6.1f} {100 * np.mean(r <= 5):>6.1f} "
            f"{np.mean(1 / r):>6.3f}")


def timing(lib: list[MusicRhythm]) -> tuple[float, float, int, float]:
    """Median CPU seconds of score_offsets over every beat of the longest track (a 3-minute video,
    90 cuts) and of best_offset over the track; the count of offsets; the track's length."""
    rng = np.random.default_rng(0)
    music = max(lib, key=lambda m: m.duration)
    video = VideoRhythm(180.0, np.sort(rng.uniform(0, 180, 90)), np.ones(90, np.float32), (),
                        rng.random(1800).astype(np.float32))
    offs = np.asarray(music.beats, np.float64)  # every beat, even those the video would overrun
    ts, tb = [], []  # CPU time of this process: wall time on a shared 2-core machine measures the queue
    for _ in range(30):
        t0 = time.process_time()
        score_offsets(video, music, offs)
        ts.append(time.process_time() - t0)
    for _ in range(10):
        t0 = time.process_time()
        best_offset(video, music, search=(0.0, music.duration))
        tb.append(time.process_time() - t0)
    return float(np.median(ts)), float(np.median(tb)), len(offs), music.duration


def why(pairs: list[tuple[VideoRhythm, float, int]], lib: list[MusicRhythm], truth: list[MusicRhythm],
        styles: list[str]) -> None:
    """Offsets within one beat with the found grid, with one part of it replaced by the true
    one (energy, sections, downbeats on the found beats, the whole grid), per cause of the true
    track's grid error (:func:`bench.rhythm_why.diagnose`)."""
    from dataclasses import replace

    from bench.rhythm_why import CAUSES, diagnose

    def true_bars(a: MusicRhythm, t: MusicRhythm) -> MusicRhythm:
        if not a.steady or len(a.beats) == 0:
            return a
        j = np.argmin(np.abs(a.beats[:, None] - t.downbeats[None, :]), axis=0)
        keep = np.abs(a.beats[j] - t.downbeats) <= 0.07
        return replace(a, downbeats=np.unique(a.beats[j[keep]]))

    variants = {
        "found grid (the product)": lambda a, t: a,
        "+ true energy curve": lambda a, t: replace(a, energy=t.energy),
        "+ true sections": lambda a, t: replace(a, sections=t.sections),
        "+ true bars on found beats": true_bars,
        "+ true beats, bars, tempo": lambda a, t: replace(t, energy=a.energy, sections=a.sections),
        "true grid": lambda a, t: t,
    }
    cause = [diagnose(t.beats, t.downbeats, t.sections, t.tempo, a)["cause"] for a, t in zip(lib, truth)]
    rng = np.random.default_rng(7)
    priors = [offset + rng.uniform(-3.35, 3.35) for _, offset, _ in pairs]
    print(f"\nWhy (--why): start within one beat, {len(pairs)} pairs, by the cause of the true track's grid error")
    by = {c: [k for k, (_, _, i) in enumerate(pairs) if cause[i] == c] for c in CAUSES}
    head = " ".join(f"{c + f' ({len(by[c])})':>15s}" for c in CAUSES if by[c])
    print(f"  {'grid sync reads':<28} {'whole':>6} {'prior':>6}  whole/prior, per cause: {head}")
    for name, make in variants.items():
        whole, prior = [], []
        for (video, offset, i), p in zip(pairs, priors):
            m, beat = make(lib[i], truth[i]), 60.0 / truth[i].tempo
            f = best_offset(video, m)
            whole.append(f.offset is not None and abs(f.offset - offset) <= beat)
            f = best_offset(video, m, prior_offset=p, search=4.0)
            prior.append(f.offset is not None and abs(f.offset - offset) <= beat)
        w, q = np.array(whole), np.array(prior)
        per = " ".join(f"{f'{100 * w[by[c]].mean():.0f}/{100 * q[by[c]].mean():.0f}%':>15s}" for c in CAUSES if by[c])
        print(f"  {name:<28} {100 * w.mean():>5.0f}% {100 * np.mean(prior):>5.0f}%  {'':23s} {per}")
    per_style = {s: [cause[i] for i in range(len(lib)) if styles[i] == s] for s in dict.fromkeys(styles)}
    print("  tracks by style and cause: " + "; ".join(
        f"{s} " + ", ".join(f"{c} {cs.count(c)}" for c in CAUSES if cs.count(c)) for s, cs in per_style.items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracks", type=int, default=50)
    ap.add_argument("--videos", type=int, default=100)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--section-cuts", type=float, default=0.7, metavar="P",
                    help="share of the section starts inside a video that get a cut (0: an editor who ignores them)")
    ap.add_argument("--analysed", action="store_true", help="beats/energy from engine.rhythm.music.analyse_rhythm")
    ap.add_argument("--why", action="store_true",
                    help="with --analysed: which part of the found grid costs the offsets (bench/rhythm_why.py)")
    ap.add_argument("--long-fast", type=int, default=0, metavar="N",
                    help="add N long (300-420 s) busy tracks that no video is cut to: the bias of raw maxima")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    lib, truth, styles = library(args.tracks, args.seed, args.analysed, args.long_fast)
    print(f"library: {len(lib)} tracks ({time.perf_counter() - t0:.0f} s to build or load)")
    rng = np.random.default_rng(args.seed + 1)
    style_ids = np.array([hash(s) % 1000 for s in styles])
    off_err, prior_err, ambiguous_ok, confident, model_err, honest = [], [], [], [], [], []
    ranks: dict[str, list[int]] = {k: [] for k in ("model", "raw", "excess", "z")}
    blended: dict[tuple[str, float], list[int]] = {(k, w): [] for k in METRICS for w in WEIGHTS}
    t_sync, pairs = [], []
    align_rng, align_before, align_after, align_moved = np.random.default_rng(args.seed + 2), [], [], []
    offered_starts = []
    for v in range(args.videos):
        true = int(rng.integers(args.tracks))
        video, offset = cut_video(truth[true], rng, args.section_cuts)  # cut to the true grid; sync reads `lib`
        pairs.append((video, offset, true))
        model = rng.normal(0.3, 0.05, len(lib))
        model[style_ids == style_ids[true]] += 0.03
        model[true] += 0.03
        t1 = time.process_time()
        fits = {i: best_offset(video, m) for i, m in enumerate(lib)}
        t_sync.append(time.process_time() - t1)
        fit = fits[true]
        beat = 60.0 / truth[true].tempo
        err = abs(fit.offset - offset) / beat if fit.offset is not None else np.inf
        off_err.append(err)
        ambiguous_ok.append((fit.ambiguous, err <= 0.5, fit.gap if fit.informative else -np.inf,
                             not fit.informative))
        prior = offset + rng.uniform(-3.35, 3.35)  # the model's offset: the right 6.7 s segment
        pf = best_offset(video, lib[true], prior_offset=prior, search=4.0)
        prior_err.append(abs(pf.offset - offset) / beat if pf.offset is not None else np.inf)
        # "Align to cuts" (the cue panel): a cue over the whole video, its music started up to a bar off
        start = max(0.0, offset + align_rng.uniform(-4 * beat, 4 * beat))
        at, _ = align_in_point(video, lib[true], 0.0, video.duration, start)
        align_before.append(abs(start - offset) / beat)
        align_after.append(abs(at - offset) / beat)
        align_moved.append(at != start)
        starts, _ = fitting_starts(video, lib[true], 0.0, video.duration)  # "Next fit": the starts offered in turn
        offered_starts.append((len(starts), any(abs(o - offset) <= beat for o in starts)))
        mf = best_offset(video, lib[true], model_offset=prior)  # the model only breaks ties
        model_err.append(abs(mf.offset - offset) / beat if mf.offset is not None else np.inf)
        offered = [fit.offset] + [o for o, _ in fit.alternatives] if fit.offset is not None else []
        honest.append((err <= 1.0, fit.ambiguous and any(abs(o - offset) / beat <= 1.0 for o in offered),
                       fit.phrase, fit.ties))
        confident.append((fit.confidence, err <= 0.5))
        z = np.array([fits[i].z for i in range(len(lib))])
        raw = np.array([fits[i].score for i in range(len(lib))])
        ranks["model"].append(rank_of(model, true))
        ranks["z"].append(rank_of(z, true))
        ranks["raw"].append(rank_of(raw, true))
        ranks["excess"].append(rank_of(raw - np.array([fits[i].chance for i in range(len(lib))]), true))
        cands = [(i, float(model[i])) for i in range(len(lib))]
        for k in METRICS:
            for w in WEIGHTS:
                order = [r.item_id for r in rerank(cands, video, {}, w, fits=fits, metric=k)]
                blended[k, w].append(order.index(true) + 1)
        print(f"\r  video {v + 1}/{args.videos}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    if args.why and args.analysed:
        why(pairs, lib, truth, styles)
    e = np.array(off_err)
    no_grid = sum(1 for i in range(len(lib)) if not lib[i].steady)
    if no_grid:
        gl = np.array([not lib[i].steady for _, _, i in pairs])
        pe_gl = np.array(prior_err)[gl]
        print(f"\n{no_grid} of {len(lib)} tracks have no steady beat by the analyser: their offsets are searched "
              f"on their onsets and energy, no grid made up ({gl.sum()} pairs: ≤ 1 beat of the true grid "
              f"{100 * np.mean(e[gl] <= 1.0) if gl.any() else float('nan'):.1f} % over the whole track, "
              f"{100 * np.mean(pe_gl <= 1.0) if gl.any() else float('nan'):.1f} % refining; the other "
              f"{(~gl).sum()} pairs: {100 * np.mean(e[~gl] <= 1.0):.1f} % and "
              f"{100 * np.mean(np.array(prior_err)[~gl] <= 1.0):.1f} %)")
    print(f"\nOffset of the true track found by sync ({args.videos} videos, 30-180 s; error in beats)")
    print(f"  median {np.median(e):.2f} · ≤ 0.5 beat (the right beat) {100 * np.mean(e <= 0.5):.1f} % · "
          f"≤ 1 beat {100 * np.mean(e <= 1.0):.1f} % (goal ≥ 95 %) · off by exactly a bar "
          f"{100 * np.mean(np.abs(e - 4) <= 0.5):.1f} %")
    miss = e > 1.0
    with np.errstate(invalid="ignore"):  # inf: a track without a grid (counted as a miss, not as bars)
        bars = miss & np.isfinite(e) & (np.abs(e / 4 - np.round(e / 4)) * 4 <= 0.5)
    print(f"  misses: {100 * miss.mean():.1f} %, of which whole bars away {100 * bars.sum() / max(miss.sum(), 1):.0f} %")
    me = np.array(model_err)
    print(f"  ties broken by the model's offset (true ± 3.35 s, the search not narrowed): ≤ 1 beat "
          f"{100 * np.mean(me <= 1.0):.1f} %")
    right, offered = np.array([x[0] for x in honest]), np.array([x[1] for x in honest])
    flagged = np.array([a for a, _, _, _ in ambiguous_ok], bool)
    silent = np.array([s for _, _, _, s in ambiguous_ok], bool)  # "no steady beat": says it cannot tell
    print(f"  right beat, or flagged ambiguous with the true offset among the alternatives offered: "
          f"{100 * np.mean(right | offered):.1f} %; no sync information (said so: a flat track, no cuts): "
          f"{100 * np.mean(silent):.1f} %; wrong and not flagged: {100 * np.mean(~right & ~flagged & ~silent):.1f} %")
    print(f"  section-hit term used (cuts hit section starts beyond chance) on "
          f"{100 * np.mean([x[2] for x in honest]):.0f} % of pairs; offsets within noise of the best: median "
          f"{np.median([x[3] for x in honest]):.0f}")
    pe = np.array(prior_err)
    print(f"  with a prior (the right 6.7 s segment, searched ±4 s): ≤ 0.5 beat {100 * np.mean(pe <= 0.5):.1f} % · "
          f"≤ 1 beat {100 * np.mean(pe <= 1.0):.1f} %")
    ab, aa = np.array(align_before), np.array(align_after)
    phase = lambda e: np.abs(e - np.round(e)) <= 0.15  # noqa: E731 - the cuts on the true beats
    print(f"  'Align to cuts' (a cue over the whole video, its music started up to a bar off): cuts on the true "
          f"beats {100 * phase(ab).mean():.0f} % before -> {100 * phase(aa).mean():.0f} % after; right "
          f"start (≤ 1 beat) {100 * np.mean(ab <= 1):.0f} % -> {100 * np.mean(aa <= 1):.0f} %; moved "
          f"{100 * np.mean(align_moved):.0f} %")
    counts = np.array([c for c, _ in offered_starts])
    print(f"  'Next fit' (the starts that fit the cuts about as well, offered in turn): the true start among them "
          f"for {100 * np.mean([t for _, t in offered_starts]):.0f} %; starts offered: median {np.median(counts):.0f}, "
          f"at most {counts.max()}")
    amb = np.array([a[:3] for a in ambiguous_ok], np.float64)
    gaps, right = amb[:, 2], amb[:, 1].astype(bool)
    for g in (0.1, 0.25, 0.5, 1.0):
        print(f"  gap ≥ {g:<4}: {100 * np.mean(gaps >= g):>3.0f} % of pairs, right beat there "
              f"{100 * right[gaps >= g].mean() if (gaps >= g).any() else float('nan'):.0f} %")
    amb = amb[:, :2].astype(bool)
    if amb[:, 0].any():
        print(f"  flagged ambiguous: {100 * amb[:, 0].mean():.0f} % of pairs, right beat there "
              f"{100 * amb[amb[:, 0], 1].mean():.0f} %; not flagged: right beat "
              f"{100 * amb[~amb[:, 0], 1].mean() if (~amb[:, 0]).any() else float('nan'):.0f} %")
    conf = np.array(confident)
    hi = conf[:, 0] >= 0.5
    print(f"  confidence ≥ 0.5 on {100 * hi.mean():.0f} % of pairs, right beat there "
          f"{100 * conf[hi, 1].mean() if hi.any() else float('nan'):.0f} %")
    print(f"\nRank of the true track among {len(lib)} (model = noisy stand-in, see the docstring)")
    print(f"  {'ranking':<30} {'median':>6} {'top1%':>6} {'top5%':>6} {'MRR':>6}")
    print(f"  {'model only':<30} {summary(ranks['model'])}")
    print(f"  {'sync only, raw max score':<30} {summary(ranks['raw'])}")
    print(f"  {'sync only, score - chance':<30} {summary(ranks['excess'])}")
    print(f"  {'sync only, z (default)':<30} {summary(ranks['z'])}")
    for k in METRICS:
        for w in WEIGHTS[1:-1]:
            print(f"  {f'blended ({k}), weight {w:g}':<30} {summary(blended[k, w])}")
    tsc, tbo, k, dur = timing(lib)
    print(f"\nCPU time (medians; wall time on a shared machine measures the queue): score_offsets, a 3-min video (90 cuts) at every beat of a {dur:.0f} s track "
          f"({k} offsets): {1000 * tsc:.1f} ms (goal ≤ 20 ms); best_offset over that track in 10 ms steps with "
          f"16 surrogate videos: {1000 * tbo:.1f} ms; sync for the whole library of {len(lib)}, per video: "
          f"{np.median(t_sync):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
