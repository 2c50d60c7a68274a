"""Start offsets and soundtrack ranks on REAL music, through the product's own path (issue 12).

    .venv/bin/python bench/sync_real.py [--videos 24] [--seed 5] [--work DIR] [--weights 0.1,0.5]
                                        [--section-cuts P] [-v]

Truth by construction: each video's soundtrack is a real song cut at a known offset. The
songs: the 8 charted Frets on Fire songs (``/usr/share/games/fretsonfire/data/songs``: the
chart's tempo map gives the true beats and bars; song + guitar stems mixed to one file) and
the 16 Singularity tracks (``/usr/share/games/singularity/music``, no chart: library only).
Videos are cut to the charted songs only (the edit needs true beats).

Each video (20-60 s, 320x180, 24/25/30 fps, H.264 through the project's writer, silent sound
track: the picture alone must say where the music goes) is rendered with the starter world's
procedural generator (:mod:`training.starter_footage`: places, camera moves, grade, grain,
exposure that follows the song's loudness, light pulses on the beat for club looks) and edited
like an editor would, from the CHART's beats: shots of 1-8 bars (shorter where the song is
loud), 55 % of cuts on a bar line, 25 % on another beat, 20 % off the beat (a quarter beat
late/early, or anywhere), a few long takes (8-20 s), 8 % dissolves (0.3-1 s); frames round the
cuts. The edit is never told the tracker's grid. ``--section-cuts P``: an editor who also cuts
on a share P of the places where the music changes, found from the stems (the mix's or the
guitar's loudness over two bars differs by ≥ 3 dB from the two before: 3-19 per song), not
from the tracker's sections; 0 by default (the charts mark no sections).

Then the app's path, unchanged: the songs are added to a library with the shipped starter
model (``resources/starter``: musicnn features, the tracker's own beats, bars, sections and
energy per song, stored in the catalog), each video is read by :func:`engine.recommend.
analyse_video` (the real cut detector, visual energy and the model's embeddings), and
:func:`engine.recommend.best_soundtracks` ranks the 24 songs and picks the start. Printed:

- offset of the video's own song within one beat (and on the right beat: ≤ 0.5), for: the
  model's own start (:func:`fit_soundtrack`, whole 6.7 s segments); sync over the whole song;
  the same with the model's content over offsets (:func:`engine.recommend.content_curve`)
  choosing among the offsets sync cannot tell apart;
  the product (``best_soundtracks``: sync, the model's content and then its start breaking
  ties); sync
  refining the model's start (±4 s around it); and with the right 6.7 s segment given
  (what a good model would hand sync: ``bench/sync.py``'s "refining"), and that start used
  as the product uses the model's (breaking ties over the whole song);
- the own song's rank among 24 for the model alone, sync alone (score over chance) and the
  product's blend at each ``--weights`` (0.1 is the app's default);
- wall time of each stage, and the machine's load.

Everything is cached under ``--work`` (songs, library, videos, analyses): a second run only
measures (2-4 min). First run: 17 min on a 2-core machine at load 5.5 (4 min the library,
10.5 the videos).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CHARTS = Path("/usr/share/games/fretsonfire/data/songs")
OTHERS = Path("/usr/share/games/singularity/music")
SIZE = (320, 180)
RATE = 22050
LOOK_STYLES = ("rock", "techno", "hiphop", "chiptune", "house", "dnb", "folk", "indian", "strings", "jazz")


@dataclass
class Song:
    name: str
    path: Path  # the file in the library folder
    beats: np.ndarray | None  # chart beats (s), None without a chart
    downbeats: np.ndarray | None
    meter: int = 4
    changes: np.ndarray | None = None  # bar lines where the music changes (from the stems), s


def stem_changes(mix: np.ndarray, guitar: np.ndarray | None, rate: int, bars: np.ndarray) -> np.ndarray:
    """Bar lines where the music clearly changes, from the stems (not the tracker): the
    loudness (dB) of the mix or of the guitar stem over the next two bars differs from the two
    before by ≥ 3 dB; local maxima, at least 4 bars apart. float64 [c] (s)."""
    def per_bar(y: np.ndarray) -> np.ndarray:
        idx = np.clip((bars * rate).astype(np.int64), 0, len(y))
        e = [float(np.mean(y[a:b] ** 2)) if b > a else 0.0 for a, b in zip(idx[:-1], idx[1:])]
        return 10 * np.log10(np.asarray(e) + 1e-8)

    stems = [per_bar(mix)] + ([per_bar(guitar)] if guitar is not None else [])
    nov = np.zeros(len(bars))
    for db in stems:
        for b in range(2, len(db) - 1):
            nov[b] = max(nov[b], abs(db[b:b + 2].mean() - db[b - 2:b].mean()))
    out: list[int] = []
    for b in np.argsort(-nov):
        if nov[b] < 3.0:
            break
        if all(abs(b - o) >= 4 for o in out):
            out.append(int(b))
    return np.sort(bars[out]) if out else np.zeros(0)


def prepare_songs(work: Path) -> list[Song]:
    """The library folder: charted songs mixed (song + guitar) to FLAC, the others linked."""
    import soundfile as sf
    from rhythm import midi_beats

    from engine.media.audio import decode_audio

    music = work / "music"
    music.mkdir(parents=True, exist_ok=True)
    songs = []
    for d in sorted(p.parent for p in CHARTS.rglob("notes.mid") if (p.parent / "song.ogg").exists()):
        out = music / f"{d.name}.flac"
        if not out.exists():
            y = decode_audio(d / "song.ogg", 44100)
            if (d / "guitar.ogg").exists():
                g = decode_audio(d / "guitar.ogg", 44100)
                n = min(len(y), len(g))
                y = y[:n] + g[:n]
            y = y / max(1.0, float(np.abs(y).max()))
            tmp = out.with_suffix(".tmp.flac")
            sf.write(tmp, y, 44100, format="FLAC")
            os.replace(tmp, out)
        dur = sf.info(out).duration
        beats, downbeats, meter = midi_beats(d / "notes.mid", dur)
        changes = work / f"{d.name}.changes.npy"
        if not changes.exists():
            mix = decode_audio(d / "song.ogg", 4000)
            gtr = decode_audio(d / "guitar.ogg", 4000) if (d / "guitar.ogg").exists() else None
            np.save(changes, stem_changes(mix, gtr, 4000, downbeats))
        songs.append(Song(d.name, out, beats, downbeats, meter, np.load(changes)))
    for f in sorted(OTHERS.rglob("*.ogg")):
        link = music / f.name
        if not link.exists():
            link.symlink_to(f)
        songs.append(Song(f.stem, link, None, None))
    return songs


# --- the edit and the footage ------------------------------------------------------------


@dataclass
class Plan:
    song: int
    offset: float  # song time at video time 0
    seconds: float
    fps: float
    look: str
    seed: int
    section_cuts: float = 0.0  # share of the music's changes (Song.changes) that get a cut


def plan_videos(songs: list[Song], n: int, seed: int, section_cuts: float = 0.0) -> list[Plan]:
    rng = np.random.default_rng(seed)
    charted = [i for i, s in enumerate(songs) if s.beats is not None]
    out = []
    for v in range(n):
        i = charted[v % len(charted)]
        s = songs[i]
        secs = float(rng.uniform(20, 60))
        top = float(s.beats[-1]) - secs - 2.0
        # half start on a bar line, half anywhere (an editor trims the song where the picture needs)
        offset = (float(rng.choice(s.downbeats[s.downbeats <= top])) if rng.random() < 0.5
                  else float(rng.uniform(0, top)))
        out.append(Plan(i, round(offset, 3), round(secs, 2), float(rng.choice([24.0, 25.0, 30.0])),
                        str(rng.choice(LOOK_STYLES)), int(rng.integers(2**31)), section_cuts))
    return out


def edit(song: Song, plan: Plan, loud: np.ndarray, rng: np.random.Generator) -> list:
    """The shots (:class:`training.starter_footage.Shot`) of the video: cut from the chart's
    beats as described in the module docstring. ``loud``: the song's loudness, 10 Hz, 0..1."""
    from training.starter_footage import LOOKS, Shot

    look = LOOKS[plan.look]
    beats, bars = song.beats, song.downbeats
    shots: list[Shot] = []
    t = 0.0
    while t < plan.seconds - 0.5:
        now = plan.offset + t
        level = float(loud[min(len(loud) - 1, int(now * 10))])
        if rng.random() < 0.06:
            n_bars = rng.uniform(8, 20) / (song.meter * float(np.median(np.diff(beats))))  # a long take
        elif level > 0.6:
            n_bars = float(rng.choice([1, 1, 2, 2, 4]))
        else:
            n_bars = float(rng.choice([1, 2, 2, 4, 4, 8]))
        target = now + max(1.0, n_bars * song.meter * float(np.median(np.diff(beats))))
        r = rng.random()
        if r < 0.55:
            end = float(bars[np.argmin(np.abs(bars - target))])
        elif r < 0.8:
            end = float(beats[np.argmin(np.abs(beats - target))])
        else:  # off the beat: a quarter beat or so late/early, or anywhere
            b = float(beats[np.argmin(np.abs(beats - target))])
            end = b + rng.normal(0, 0.12) if rng.random() < 0.6 else target + rng.uniform(-0.6, 0.6)
        changes = song.changes if song.changes is not None else np.zeros(0)
        nxt = changes[(changes > now + 0.5) & (changes < end)]  # song time
        if len(nxt) and rng.random() < plan.section_cuts:
            end = float(nxt[0])  # cut where the music changes
        end = float(np.clip(end - plan.offset, t + 0.5, plan.seconds))
        if plan.seconds - end < 0.5:
            end = plan.seconds
        pool = look.scenes if rng.random() > 1 / 7 else LOOKS[str(rng.choice(LOOK_STYLES))].scenes
        dissolve = float(rng.uniform(0.3, 1.0)) if shots and rng.random() < 0.08 else 0.0
        shots.append(Shot(round(t, 4), round(end, 4), str(rng.choice(pool)), min(1.0, 0.2 + level),
                          int(rng.integers(2**31)), dissolve))
        t = end
    return shots


def render(song: Song, plan: Plan, out: Path) -> dict:
    """Write the video (silent sound track); returns its edit (cut times in the video)."""
    from engine.jobs import run
    from engine.media.audio import decode_audio
    from training.demo_footage import write_clip
    from training.starter_footage import LOOKS, render_starter_frames

    y = decode_audio(song.path, RATE, start=plan.offset, duration=plan.seconds + 1)
    audio = np.stack([y, y]).astype(np.float32)  # [2, n]: drives the picture's exposure only
    whole = decode_audio(song.path, 2000)
    rms = np.sqrt(np.convolve(whole ** 2, np.ones(200) / 200, mode="same"))[::200]  # 10 Hz
    loud = np.clip(rms / max(np.percentile(rms, 95), 1e-9), 0, 1)
    rng = np.random.default_rng(plan.seed)
    shots = edit(song, plan, loud, rng)
    beat = float(np.median(np.diff(song.beats)))
    spec = SimpleNamespace(beat_seconds=beat, bpm=60.0 / beat)  # what the frame renderer reads of a track
    frames = render_starter_frames(spec, audio, RATE, plan.offset, plan.seconds, SIZE, plan.fps, LOOKS[plan.look],
                                   shots, rng)
    silent = np.zeros((2, int(plan.seconds * RATE) + RATE), np.float32)
    tmp = out.with_name(out.stem + ".part.mp4")
    run(write_clip(tmp, None, silent, RATE, plan.seconds, size=SIZE, fps=plan.fps, crf=28, threads=1,
                   frames_in=frames))
    os.replace(tmp, out)
    cuts = [s.start for s in shots[1:]]
    return {"cuts": cuts, "dissolves": [s.start for s in shots[1:] if s.dissolve]}


# --- measuring ---------------------------------------------------------------------------


def beats_off(found: float | None, true: float, song: Song) -> float:
    """|found - true| in beats of the chart at the true offset (inf when nothing was found)."""
    if found is None:
        return float("inf")
    b = song.beats
    j = int(np.clip(np.searchsorted(b, true), 1, len(b) - 1))
    return abs(found - true) / float(b[j] - b[j - 1])


def share(e: list[float], upto: float) -> str:
    return f"{100 * np.mean(np.asarray(e) <= upto):5.1f}"


def ranks_summary(r: list[int]) -> str:
    a = np.asarray(r)
    return f"{np.median(a):6.1f} {100 * np.mean(a == 1):6.1f} {100 * np.mean(a <= 3):6.1f} {np.mean(1 / a):6.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", type=int, default=24)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--work", default="/tmp/mvpt-bench-sync-real")
    ap.add_argument("--weights", default="0.1,0.5", help="sync weights of the blend to report (0.1: the app's)")
    ap.add_argument("--section-cuts", type=float, default=0.0, metavar="P",
                    help="share of the music's changes (from the stems: ≥ 3 dB over two bars) that get a cut")
    ap.add_argument("-v", "--verbose", action="store_true", help="a line per video: the grid, each error, the ranks")
    args = ap.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    weights = [float(w) for w in args.weights.split(",")]
    stage = {}

    from engine.jobs import run
    from engine.recommend import analyse_video, best_soundtracks, fit_soundtrack
    try:  # the model's content over offsets (not in the first version measured)
        from engine.recommend import content_curve
    except ImportError:
        content_curve = None
    from engine.rhythm.slip import align_in_point, fitting_starts
    from engine.rhythm.sync import best_offset
    from engine.session import EngineSession
    from engine.settings import EngineSettings

    t0 = time.perf_counter()
    songs = prepare_songs(work)
    session = EngineSession(EngineSettings(data_dir=str(work / "data"), device="cpu"))
    catalog = session.library.catalog
    run(session.library.add(work / "music", "music", session.model))
    ids = {}
    for s in songs:
        item = catalog.item_by_path(str(s.path))
        ids[s.name] = item.id
    rhythms = {s.name: catalog.rhythm(ids[s.name]) for s in songs}
    stage["songs + library"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    plans = plan_videos(songs, args.videos, args.seed, args.section_cuts)
    tag = f"v{args.seed}" + (f"s{round(100 * args.section_cuts)}" if args.section_cuts else "")
    vids = work / "videos"
    vids.mkdir(exist_ok=True)
    edits = {}
    for k, p in enumerate(plans):
        f = vids / f"{tag}_{k:03d}.mp4"
        meta = f.with_suffix(".json")
        if not (f.exists() and meta.exists() and {"section_cuts": 0.0, **json.loads(meta.read_text())["plan"]} == p.__dict__):
            edits[k] = render(songs[p.song], p, f)
            meta.write_text(json.dumps({"plan": p.__dict__, **edits[k]}))
        print(f"\r  video {k + 1}/{len(plans)} rendered", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    stage["render videos"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    analyses = []
    for k in range(len(plans)):
        analyses.append(run(analyse_video(session, vids / f"{tag}_{k:03d}.mp4", thumbnails=False)))
        print(f"\r  video {k + 1}/{len(plans)} analysed", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    stage["analyse videos"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    errs: dict[str, list[float]] = {k: [] for k in ("model", "whole", "content", "product", "refine", "segment", "good")}
    align: dict[str, list[float]] = {"before": [], "after": []}
    aligned_moved, offered_starts = [], []
    flags = []
    ranks: dict[str, list[int]] = {"model": [], "sync": []} | {f"blend {w:g}": [] for w in weights}
    cut_f = []
    for k, (p, a) in enumerate(zip(plans, analyses)):
        song = songs[p.song]
        own = ids[song.name]
        rm, video = rhythms[song.name], a.video_rhythm
        truth = json.loads((vids / f"{tag}_{k:03d}.json").read_text())
        cut_f.append(_cut_recall(np.asarray(truth["cuts"]), np.asarray(video.cuts)))
        fit = fit_soundtrack(session, a, own)
        errs["model"].append(beats_off(fit.offset, p.offset, song))
        whole = best_offset(video, rm)
        errs["whole"].append(beats_off(whole.offset, p.offset, song))
        if content_curve is not None:
            by_content = best_offset(video, rm, content=content_curve(session, a, own))
            errs["content"].append(beats_off(by_content.offset, p.offset, song))
        ref = best_offset(video, rm, prior_offset=fit.offset, search=4.0)
        errs["refine"].append(beats_off(ref.offset, p.offset, song))
        seg = session.segment_seconds
        right_seg = p.offset + np.random.default_rng(k).uniform(-seg / 2, seg / 2)
        good = best_offset(video, rm, prior_offset=right_seg, search=4.0)
        errs["segment"].append(beats_off(good.offset, p.offset, song))
        tie = best_offset(video, rm, model_offset=right_seg)  # the product's use, with a model right to the segment
        errs["good"].append(beats_off(tie.offset, p.offset, song))
        # "Align to cuts" on a cue over the whole video whose music an editor started up to a bar off
        beat_s = 60.0 / float(rm.tempo) if rm.tempo else 0.5
        start = max(0.0, p.offset + np.random.default_rng(1000 + k).uniform(-4 * beat_s, 4 * beat_s))
        at, _ = align_in_point(video, rm, 0.0, video.duration, start)
        align["before"].append(beats_off(start, p.offset, song))
        align["after"].append(beats_off(at, p.offset, song))
        aligned_moved.append(at != start)
        starts, _ = fitting_starts(video, rm, 0.0, video.duration)  # "Next fit": the starts offered in turn
        offered_starts.append((len(starts), any(beats_off(o, p.offset, song) <= 1.0 for o in starts)))
        model_list = best_soundtracks(session, a, k=len(songs), sync=0.0)
        ranks["model"].append(1 + [t.item_id for t in model_list].index(own))
        fits = {s.name: best_offset(video, rhythms[s.name]) for s in songs}
        excess = {n: (f.score - f.chance) if f.informative else -np.inf for n, f in fits.items()}
        ranks["sync"].append(1 + sum(v > excess[song.name] for v in excess.values()))
        for w in weights:
            lst = best_soundtracks(session, a, k=len(songs), sync=w)
            ranks[f"blend {w:g}"].append(1 + [t.item_id for t in lst].index(own))
            if w == weights[0]:
                mine = next(t for t in lst if t.item_id == own)
                errs["product"].append(beats_off(mine.offset, p.offset, song))
                sf = mine.sync
                offered = [mine.offset] + [o for o, _ in getattr(sf, "alternatives", ())] if sf is not None else []
                flags.append((bool(getattr(sf, "ambiguous", False)),
                              any(beats_off(o, p.offset, song) <= 1.0 for o in offered), getattr(sf, "ties", 1)))
        if args.verbose:
            print(_detail(k, song, p, video, rm, whole, {key: e[-1] for key, e in errs.items() if e},
                          {key: r[-1] for key, r in ranks.items()}))
        else:
            print(f"\r  video {k + 1}/{len(plans)} measured", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    stage["measure"] = time.perf_counter() - t0

    n = len(plans)
    print(f"\n{n} videos cut to {len({p.song for p in plans})} charted real songs, library of {len(songs)} real songs "
          f"(starter model, the tracker's own grid)")
    steady = sum(1 for r in rhythms.values() if r.steady)
    print(f"  songs with a steady beat by the tracker: {steady}/{len(songs)}; cuts found by the detector "
          f"(±2 frames of an edit cut): median recall {np.median(cut_f):.2f}")
    print(f"\nOffset of the own song (error in chart beats)  {'≤0.5':>6} {'≤1':>6}  median")
    names = {"model": "model's start (6.7 s segments)", "whole": "sync over the whole song",
             "content": "sync, the model's content breaks ties",
             "product": "product: sync, model's start breaks ties", "refine": "sync refining the model's start ±4 s",
             "segment": "sync given the right 6.7 s segment ±4 s",
             "good": "product's use of a right-segment model's start"}
    for key, label in names.items():
        e = errs[key]
        if not e:
            continue
        print(f"  {label:<44} {share(e, 0.5)}% {share(e, 1.0)}%  {np.median(e):6.2f}")
    on = {k: [abs(e - round(e)) for e in v] for k, v in align.items()}  # beat phase: the cuts on beats or not
    print(f"  'Align to cuts', a cue over the whole video started up to a bar off ({n}): cuts on the chart's beats "
          f"(phase ≤ 0.15 beat) {share(on['before'], 0.15)}% before -> {share(on['after'], 0.15)}% after; right start "
          f"(≤ 1 beat) {share(align['before'], 1.0)}% -> {share(align['after'], 1.0)}%; moved {100 * np.mean(aligned_moved):.0f} %")
    counts = np.array([c for c, _ in offered_starts])
    print(f"  'Next fit' (the starts that fit the cuts about as well, offered in turn): the true start among them for "
          f"{100 * np.mean([t for _, t in offered_starts]):.0f} %; starts offered: median {np.median(counts):.0f}, "
          f"at most {counts.max()}")
    fl = np.array([f[0] for f in flags])
    ok = np.array(errs["product"]) <= 1.0
    offered = np.array([f[1] for f in flags])
    print(f"  product: flagged 'not sure of the start' on {100 * fl.mean():.0f} %; right or flagged with the truth "
          f"offered {100 * np.mean(ok | (fl & offered)):.0f} %; wrong and not flagged {100 * np.mean(~ok & ~fl):.0f} %")
    print(f"\nRank of the own song among {len(songs)}   {'median':>6} {'top1%':>6} {'top3%':>6} {'MRR':>6}")
    for key, r in ranks.items():
        print(f"  {key:<34} {ranks_summary(r)}")
    load = os.getloadavg()[0]
    print("\nWall time: " + " · ".join(f"{k} {v:.0f} s" for k, v in stage.items()) + f" · load {load:.1f}")
    session.close()
    return 0


def _detail(k: int, song: Song, p: Plan, video, rm, whole, errs: dict, ranks: dict) -> str:
    """One video: the chart's and the tracker's tempo, the tracker's beat F inside the video's
    span, how the sync score at the true offset compares to its best, each error, each rank."""
    from rhythm import f_measure

    from engine.rhythm.sync import score_offsets

    lo, hi = p.offset, p.offset + p.seconds
    cb = song.beats[(song.beats >= lo) & (song.beats <= hi)]
    tb = np.asarray(rm.beats)[(rm.beats >= lo) & (rm.beats <= hi)]
    db = song.downbeats[(song.downbeats >= lo) & (song.downbeats <= hi)]
    tdb = np.asarray(rm.downbeats)[(rm.downbeats >= lo) & (rm.downbeats <= hi)]
    at = score_offsets(video, rm, [p.offset, whole.offset or 0.0], phrase=whole.phrase)
    chart_bpm = 60 / float(np.median(np.diff(cb))) if len(cb) > 1 else 0.0
    e = " ".join(f"{key}={v:6.2f}" for key, v in errs.items())
    r = " ".join(f"{key}={v}" for key, v in ranks.items())
    return (f"  v{k:02d} {song.name[:14]:14s} {p.seconds:4.0f}s bpm {chart_bpm:5.1f}/{rm.tempo or 0:5.1f} "
            f"beatF {f_measure(cb, tb):.2f} dbF {f_measure(db, tdb):.2f} cuts {len(video.cuts):3d} "
            f"true {at[0]:.3f} best {at[1]:.3f} ties {whole.ties} | {e} | {r}")


def _cut_recall(true: np.ndarray, found: np.ndarray, tol: float = 0.085) -> float:
    if len(true) == 0:
        return 1.0
    if len(found) == 0:
        return 0.0
    return float(np.mean(np.min(np.abs(true[:, None] - found[None, :]), axis=1) <= tol))


if __name__ == "__main__":
    raise SystemExit(main())
