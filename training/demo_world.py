"""The demo's own small world: a music library and music videos cut to some of its tracks.

What it is
----------
``build_world`` makes, locally and reproducibly from a seed, the kind of data MVPt learns
from: music videos whose music was chosen by their editors. It renders ``n_tracks`` songs in
ten clearly different styles (:mod:`training.demo_music`) into ``music/``, and ``n_clips``
clips (:mod:`training.demo_footage`), clip ``i`` cut to track ``i`` (rendered right after
it) with that track as its soundtrack from its start. Most clips go to ``footage/`` (the
training set); the last ``held_out`` ones go to ``held_out/``, paired with tracks of
different styles, to be matched per 6.7 s segment against the whole library later.
``manifest.json`` says what each file is (track: style, tempo, key, the full song plan;
clip: paired track, split).

Building is a job (``engine.jobs``): it yields progress, checks ``cancel`` between files and
inside long renders, and can be stopped and resumed. Every file is written under a hidden
temporary name and renamed into place, and the manifest (rewritten after each file) records
a digest of what each file was made from, so a second build skips what is complete and
remakes only what changed.

``style_check`` runs musicnn (MTT) over the library and tells whether its top tags agree
with the intended style: ``python -m training.demo_world OUT --check``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.atomic import atomic_path, atomic_write_text
from engine.jobs import CancelCheck, Job, Progress, check_cancel, run
from training.demo_footage import write_clip
from training.demo_music import SR, STYLE_ORDER, TrackSpec, plan_track, render_track

VERSION = 2
"""Bump when synthesis or rendering changes, so cached files are remade."""
MANIFEST = "manifest.json"

STYLE_TAGS: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "ambient": ("ambient", "slow", "synth", "new age", "quiet", "electronic", "soft"),
    "techno": ("techno", "electronic", "beat", "dance", "beats", "synth"),
    "piano": ("piano", "classical", "soft", "slow", "quiet", "solo"),
    "rock": ("rock", "guitar", "drums", "loud", "metal"),
    "strings": ("strings", "violin", "classical", "cello", "harpsichord"),
    "chiptune": ("electronic", "synth", "techno", "beats", "dance", "weird"),
    "hiphop": ("beat", "beats", "drums"),
    "harpsichord": ("harpsichord", "classical", "classic"),
    "folk": ("guitar", "country"),
    "indian": ("sitar", "indian"),
}.items()}
"""MagnaTagATune tags that count as musicnn recognising each style."""


@dataclass(frozen=True)
class WorldTrack:
    id: str
    path: Path
    style: str
    bpm: float
    key: str
    duration: float
    spec: TrackSpec


@dataclass(frozen=True)
class WorldClip:
    id: str
    path: Path
    track: str  # id of the paired track (the clip's soundtrack)
    split: str  # "train" or "held_out"
    duration: float


@dataclass(frozen=True)
class DemoWorld:
    root: Path
    music_dir: Path
    footage_dir: Path  # training clips
    held_out_dir: Path
    manifest: Path
    tracks: tuple[WorldTrack, ...]
    clips: tuple[WorldClip, ...]

    def track(self, track_id: str) -> WorldTrack:
        return next(t for t in self.tracks if t.id == track_id)

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> DemoWorld:
        """Read a built world from its manifest."""
        root = Path(root)
        data = json.loads((root / MANIFEST).read_text())
        tracks = tuple(WorldTrack(t["id"], root / t["file"], t["style"], t["bpm"], t["key"], t["duration"],
                                  TrackSpec.from_json(t["spec"])) for t in data["tracks"])
        clips = tuple(WorldClip(c["id"], root / c["file"], c["track"], c["split"], c["duration"])
                      for c in data["clips"])
        return cls(root, root / "music", root / "footage", root / "held_out", root / MANIFEST, tracks, clips)


def _digest(*parts) -> str:
    import hashlib

    return hashlib.sha1(json.dumps([VERSION, *parts], sort_keys=True).encode()).hexdigest()[:12]


def _write_json(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=1), fsync=False)


def _partial(final: Path) -> Path:
    return final.with_name(f".{final.stem}.partial{final.suffix}")  # hidden, same folder, same format


def _atomic(final: Path, write) -> None:
    """``write(tmp)`` then rename onto ``final``; the temporary file never survives a failure."""
    with atomic_path(final, suffix=f".partial{final.suffix}", fsync=False) as tmp:  # same format
        write(tmp)


def _clip_seconds(spec: TrackSpec, rng: np.random.Generator, clip_seconds: tuple[float, float]) -> float:
    """A clip length in ``clip_seconds`` ending on a bar line, or the whole track when shorter."""
    want = rng.uniform(*clip_seconds)
    if want >= spec.duration - spec.tail:
        return round(spec.duration, 3)
    bars = max(1, int(np.ceil(want / spec.bar_seconds)))
    return round(min(spec.duration, bars * spec.bar_seconds), 3)


def build_world(out_dir: str | os.PathLike[str], n_tracks: int = 40, n_clips: int = 24,
                seconds: tuple[float, float] = (60, 180), held_out: int = 4, seed: int = 0,
                cancel: CancelCheck | None = None, *, size: tuple[int, int] = (640, 360), fps: float = 24.0,
                clip_seconds: tuple[float, float] = (30, 60)) -> Job[DemoWorld]:
    """Build (or finish, or update) the demo world under ``out_dir``; returns a :class:`DemoWorld`.

    Track ``i`` has style ``STYLE_ORDER[i % 10]``; clip ``j`` goes with track ``j`` (so clips
    cover the styles evenly) and the last ``held_out`` clips are held out."""
    if not 0 < n_clips <= n_tracks:
        raise ValueError("need 0 < n_clips <= n_tracks (each clip goes with its own track)")
    if not 0 <= held_out <= n_clips:
        raise ValueError("held_out must be between 0 and n_clips")
    if size[0] % 4 or size[1] % 2:
        raise ValueError("frame width must be a multiple of 4 and height even (4:2:0 at half size)")
    root = Path(out_dir)
    dirs = {"train": root / "footage", "held_out": root / "held_out"}
    for d in (root / "music", *dirs.values()):
        d.mkdir(parents=True, exist_ok=True)
    try:
        old = json.loads((root / MANIFEST).read_text())
        old_tracks, old_clips = list(old["tracks"]), list(old["clips"])
        done = {e["file"]: e["hash"] for e in old_tracks + old_clips}
    except (OSError, ValueError, KeyError, TypeError):
        old_tracks, old_clips, done = [], [], {}
    head = {"format": "mvpt-demo-world", "version": VERSION, "seed": seed, "sample_rate": SR,
            "size": list(size), "fps": fps, "styles": list(STYLE_ORDER)}
    tracks: list[dict] = []
    clips: list[dict] = []

    def save() -> None:  # what this build has made so far, and what an earlier one had beyond it
        _write_json(root / MANIFEST, {**head, "tracks": tracks + old_tracks[len(tracks):],
                                      "clips": clips + old_clips[len(clips):]})

    for i in range(n_tracks):  # each clip right after its track: the audio is still in memory
        check_cancel(cancel)
        spec = plan_track(i, seed, seconds)
        rel = f"music/{i:02d}_{spec.style}.flac"
        digest = spec.key_hash(VERSION)
        yield Progress("music", i, n_tracks, message=rel)
        samples = None
        if done.get(rel) != digest or not (root / rel).is_file():
            samples = render_track(spec)
            _atomic(root / rel, lambda p, s=samples, sp=spec: _write_track(p, s, sp))
        tracks.append({"id": f"t{i:02d}", "file": rel, "style": spec.style, "bpm": spec.bpm, "key": spec.key_name,
                       "mode": spec.mode, "duration": round(spec.duration, 3), "hash": digest,
                       "spec": spec.to_json()})
        save()
        if i >= n_clips:
            continue
        check_cancel(cancel)
        split = "held_out" if i >= n_clips - held_out else "train"
        secs = _clip_seconds(spec, np.random.default_rng([seed, i, 5]), clip_seconds)
        clip_rel = f"{dirs[split].name}/c{i:02d}_{spec.style}.mp4"
        clip_digest = _digest(digest, secs, list(size), fps, seed)
        yield Progress("footage", i, n_clips, message=clip_rel)
        if done.get(clip_rel) != clip_digest or not (root / clip_rel).is_file():
            samples = _read_track(root / rel) if samples is None else samples
            with atomic_path(root / clip_rel, suffix=".partial.mp4", fsync=False) as tmp:
                yield from write_clip(tmp, spec, samples, SR, secs, size=size, fps=fps, seed=seed, cancel=cancel)
        clips.append({"id": f"c{i:02d}", "file": clip_rel, "track": f"t{i:02d}", "split": split,
                      "style": spec.style, "duration": secs, "hash": clip_digest})
        save()
    old_tracks, old_clips = [], []
    save()
    yield Progress("done", n_tracks + n_clips, n_tracks + n_clips)
    keep = {e["file"] for e in tracks + clips}
    for f in sorted(set(done) - keep):  # files an earlier, larger build made and this one does not list
        if (root / f).resolve().is_relative_to(root.resolve()):
            (root / f).unlink(missing_ok=True)
    return DemoWorld.load(root)


def _write_track(path: Path, samples: np.ndarray, spec: TrackSpec) -> None:
    from training.synthmedia import write_audio

    title = f"{spec.style.title()} {spec.index:02d} ({spec.key_name}, {spec.bpm:g} bpm)"
    write_audio(path, samples, sample_rate=SR, tags={"title": title, "artist": "MVPT demo world",
                                                     "genre": spec.style})


def _read_track(path: Path) -> np.ndarray:
    import soundfile as sf

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    if sr != SR:
        raise ValueError(f"{path} is at {sr} Hz, expected {SR}")
    return np.ascontiguousarray(data.T)


@dataclass(frozen=True)
class StyleRow:
    track: str
    style: str
    top: tuple[tuple[str, float], ...]  # musicnn's top tags over the whole track, best first
    agrees: bool  # one of the top tags is in STYLE_TAGS[style]

    @property
    def first_agrees(self) -> bool:
        """The stricter reading: the single most probable tag is one of the style's."""
        return bool(self.top) and self.top[0][0] in STYLE_TAGS[self.style]


def style_check(world: DemoWorld, model: str = "MTT_musicnn", k: int = 3, *,
                echo: bool = True) -> list[StyleRow]:
    """Tag every track of the library with musicnn and compare its top-``k`` tags with the
    style it was made in. Prints the table and the agreement rate when ``echo``."""
    from engine.features.registry import create_extractor
    from engine.media.grid import SegmentGrid

    ext = create_extractor("musicnn", model=model)
    rows = []
    if echo:
        print(TABLE_HEADER)
    for t in world.tracks:
        out = run(ext.extract_with_tags(t.path, SegmentGrid(t.duration)))
        top = tuple((name, round(p, 3)) for name, p in out.top_tags(k))
        rows.append(StyleRow(t.id, t.style, top, any(name in STYLE_TAGS[t.style] for name, _ in top)))
        if echo:
            print(format_rows(rows[-1:]), flush=True)
    if echo:
        first = sum(r.first_agrees for r in rows)
        print(f"agreement (top {k}): {sum(r.agrees for r in rows)}/{len(rows)} = {agreement(rows):.0%}; "
              f"top tag alone: {first}/{len(rows)} = {first / max(1, len(rows)):.0%}")
    return rows


TABLE_HEADER = "track style        top-3 top-1  musicnn's top tags (mean probability)"


def format_rows(rows: Sequence[StyleRow]) -> str:
    """One line per track: intended style, whether the top 3 / the top tag agree, the tags."""
    def yes(flag: bool) -> str:
        return "yes" if flag else "no"

    return "\n".join(f"{r.track:5s} {r.style:12s} {yes(r.agrees):5s} {yes(r.first_agrees):5s}  "
                     + ", ".join(f"{n} {p:.2f}" for n, p in r.top) for r in rows)


def agreement(rows: Sequence[StyleRow]) -> float:
    return sum(r.agrees for r in rows) / max(1, len(rows))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the demo world (music library + footage) and check it.")
    ap.add_argument("out", type=Path)
    ap.add_argument("--tracks", type=int, default=40)
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--held-out", type=int, default=4)
    ap.add_argument("--seconds", type=float, nargs=2, default=(60, 180))
    ap.add_argument("--size", type=int, nargs=2, default=(640, 360))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true", help="run musicnn's style check afterwards")
    a = ap.parse_args(argv)
    t0 = time.time()
    last = [""]

    def show(p: Progress) -> None:
        if p.stage in ("music", "footage") and p.message and p.message != last[0]:
            last[0] = p.message
            print(f"[{time.time() - t0:6.1f}s] {p.stage} {p.done + 1}/{p.total} {p.message}", flush=True)

    world = run(build_world(a.out, a.tracks, a.clips, tuple(a.seconds), a.held_out, a.seed,
                            size=tuple(a.size)), show)
    print(f"built {len(world.tracks)} tracks and {len(world.clips)} clips in {time.time() - t0:.1f}s "
          f"-> {world.manifest}")
    if a.check:
        style_check(world)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
