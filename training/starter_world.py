"""The starter world: generated music videos, many more and more varied than the demo's.

``build_starter_world`` renders ``n_clips`` music videos, each cut to its own track:

- **music** (:mod:`training.starter_music`): fourteen styles (the demo's ten and house, drum
  and bass, jazz, lo-fi) in turn, wider tempi, 3/4 and swing; keys, modes and song
  structures drawn per track;
- **lengths** from 15 s to 5 minutes (:func:`clip_length`: 40 % short, 40 % medium, 20 %
  long), a quarter of the clips using the music from a later section, not from its start;
- **footage** (:mod:`training.starter_footage`): places, camera moves, grade, grain and
  compression, edited to the track with noise.

Clips go to ``footage/`` (training) or ``held_out/``: whole blocks of fourteen consecutive
clips (one per style) are held out, so every style is judged on tracks and footage the
model never saw. ``manifest.json`` records each clip's track plan, offset, look and split.

Building is a job: progress per clip, ``cancel`` checked inside renders, every clip written
under a hidden name and renamed into place, the manifest rewritten after each clip with a
digest of what made it, so a second build skips finished clips and remakes changed ones.
The tracks are not written as files of their own: the model learns from the clips'
soundtracks, and the evaluation ranks those (see :mod:`training.starter`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from engine.jobs import CancelCheck, Job, Progress, check_cancel
from training.demo_footage import write_clip
from training.demo_music import SR, TrackSpec, render_track
from training.demo_world import _partial, _write_json
from training.starter_footage import LOOKS, plan_shots, render_starter_frames
from training.starter_music import STARTER_STYLES, plan_starter_track

VERSION = 1
"""Bump when synthesis, footage or editing change, so cached clips are remade."""
MANIFEST = "manifest.json"
HELD_OUT_EVERY = 7
"""Every 7th block of len(STARTER_STYLES) clips is held out (about 14 %)."""


@dataclass(frozen=True)
class StarterClip:
    id: str
    path: Path
    style: str          # the music's style
    look: str           # the style whose look the footage has (another one in one clip of ten)
    split: str          # "train" or "held_out"
    seconds: float
    offset: float       # where in the track the clip's music starts
    spec: TrackSpec


@dataclass(frozen=True)
class StarterWorld:
    root: Path
    footage_dir: Path
    held_out_dir: Path
    clips: tuple[StarterClip, ...]
    rendered: int = 0
    """Clips the build that returned this rendered (0: every clip was kept from an earlier one)."""

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> StarterWorld:
        root = Path(root)
        data = json.loads((root / MANIFEST).read_text())
        clips = tuple(StarterClip(c["id"], root / c["file"], c["style"], c["look"], c["split"], c["seconds"],
                                  c["offset"], TrackSpec.from_json(c["spec"])) for c in data["clips"])
        return cls(root, root / "footage", root / "held_out", clips)


def clip_length(rng: np.random.Generator, lengths: tuple[float, float]) -> float:
    """Seconds: 40 % short (up to 3x the minimum), 40 % medium (up to 8x), 20 % long (to the
    maximum); with the default (15, 300): 15-45 s, 45-120 s, 120-300 s."""
    lo, hi = lengths
    edges = [lo, min(hi, 3 * lo), min(hi, 8 * lo), hi]
    k = int(rng.choice(3, p=[0.4, 0.4, 0.2]))
    return float(rng.uniform(edges[k], max(edges[k], edges[k + 1])))


def plan_clip(i: int, seed: int, lengths: tuple[float, float]) -> tuple[TrackSpec, float, float, str]:
    """(track, offset, seconds, look style) of clip ``i``: style in turn, length drawn, a later
    start in the track for a quarter of the clips, another style's look for one in ten."""
    rng = np.random.default_rng([seed, i, 17])
    style = STARTER_STYLES[i % len(STARTER_STYLES)]
    seconds = clip_length(rng, lengths)
    lead = float(rng.uniform(8, 40)) if rng.random() < 0.25 else 0.0
    spec = plan_starter_track(i, seed, seconds + lead, style)
    starts = [s.start_bar * spec.bar_seconds for s in spec.sections if s.start_bar * spec.bar_seconds <= lead]
    offset = round(max(starts), 3)
    seconds = round(min(seconds, spec.duration - offset), 3)
    look = style if rng.random() >= 0.1 else str(rng.choice([s for s in STARTER_STYLES if s != style]))
    return spec, offset, seconds, look


def split_of(i: int, block: int = len(STARTER_STYLES), every: int = HELD_OUT_EVERY) -> str:
    """Clip ``i``'s split: blocks of ``block`` consecutive clips (one per style), the middle
    one of every ``every`` blocks held out."""
    return "held_out" if (i // block) % every == every // 2 else "train"


def _digest(*parts) -> str:
    import hashlib

    return hashlib.sha1(json.dumps([VERSION, *parts], sort_keys=True).encode()).hexdigest()[:12]


def render_clip(root: str, i: int, seed: int, lengths: tuple[float, float], size: tuple[int, int], fps: float,
                held_out: tuple[int, int], cancel: CancelCheck | None = None) -> Job[dict]:
    """Render clip ``i`` into ``root`` (under a hidden name, renamed into place); returns its
    manifest entry (:func:`plan_entry`)."""
    entry = plan_entry(i, seed, lengths, size, fps, held_out)
    spec, offset, secs, look = TrackSpec.from_json(entry["spec"]), entry["offset"], entry["seconds"], entry["look"]
    rel, crf = entry["file"], entry["crf"]
    audio = render_track(spec)[:, int(offset * SR):]  # float32 [2, n]
    rng = np.random.default_rng([seed, i, 29])
    shots = plan_shots(spec, offset, secs, LOOKS[look], STARTER_STYLES, rng)
    frames = render_starter_frames(spec, audio, SR, offset, secs, size, fps, LOOKS[look], shots, rng)
    final = Path(root) / rel
    tmp = _partial(final)
    try:
        yield from write_clip(tmp, spec, audio, SR, secs, size=size, fps=fps, seed=seed, crf=crf, threads=1,
                              cancel=cancel, frames_in=frames)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return entry


def _render_in_worker(*args) -> dict:
    from engine.jobs import run

    return run(render_clip(*args))


def plan_entry(i: int, seed: int, lengths: tuple[float, float], size: tuple[int, int], fps: float,
               held_out: tuple[int, int] = (len(STARTER_STYLES), HELD_OUT_EVERY)) -> dict:
    """Clip ``i``'s manifest entry (file, plan, digest of what makes it), without rendering it;
    ``held_out``: (block, every) of :func:`split_of`."""
    spec, offset, secs, look = plan_clip(i, seed, lengths)
    split = split_of(i, *held_out)
    rel = f"{'held_out' if split == 'held_out' else 'footage'}/s{i:04d}_{spec.style}.mp4"
    crf = int(np.random.default_rng([seed, i, 23]).integers(23, 33))
    return {"id": f"s{i:04d}", "file": rel, "style": spec.style, "look": look, "split": split, "seconds": secs,
            "offset": offset, "bpm": spec.bpm, "meter": spec.beats_per_bar, "swing": spec.swing, "crf": crf,
            "hash": _digest(spec.to_json(), offset, secs, look, list(size), fps, seed, crf), "spec": spec.to_json()}


def build_starter_world(out_dir: str | os.PathLike[str], n_clips: int, *, lengths: tuple[float, float] = (15, 300),
                        size: tuple[int, int] = (256, 144), fps: float = 12.0, seed: int = 0, workers: int = 1,
                        held_out: tuple[int, int] = (len(STARTER_STYLES), HELD_OUT_EVERY),
                        cancel: CancelCheck | None = None) -> Job[StarterWorld]:
    """Build (or finish, or update) the starter world under ``out_dir``. ``workers`` > 1
    renders clips in that many processes (a cancel then waits for the clips in flight);
    ``held_out``: (block, every) of :func:`split_of`."""
    if n_clips < 1:
        raise ValueError("need at least one clip")
    if size[0] % 4 or size[1] % 2:
        raise ValueError("frame width must be a multiple of 4 and height even (4:2:0 at half size)")
    root = Path(out_dir)
    for d in ("footage", "held_out"):
        (root / d).mkdir(parents=True, exist_ok=True)
    try:
        old = {c["id"]: c for c in json.loads((root / MANIFEST).read_text())["clips"]}
    except (OSError, ValueError, KeyError, TypeError):
        old = {}
    head = {"format": "mvpt-starter-world", "version": VERSION, "seed": seed, "sample_rate": SR,
            "size": list(size), "fps": fps, "lengths": list(lengths), "styles": list(STARTER_STYLES)}
    made: dict[int, dict] = {}
    todo = []
    for i in range(n_clips):
        want = plan_entry(i, seed, lengths, size, fps, held_out)
        prev = old.get(want["id"])
        if prev is not None and prev["hash"] == want["hash"] and prev["file"] == want["file"] \
                and (root / want["file"]).is_file():
            made[i] = prev
        else:
            todo.append(i)

    def save() -> None:  # finished clips, and an earlier build's entries for the others (resumable)
        entries = [made.get(i) or old.get(f"s{i:04d}") for i in range(n_clips)]
        _write_json(root / MANIFEST, {**head, "clips": [e for e in entries if e is not None]})

    yield Progress("world", len(made), n_clips, f"{len(made)} clips kept, {len(todo)} to render")
    args = [(str(root), i, seed, tuple(lengths), tuple(size), fps, tuple(held_out)) for i in todo]
    if workers <= 1:
        for a in args:
            check_cancel(cancel)
            made[a[1]] = yield from render_clip(*a, cancel=cancel)
            save()
            yield Progress("world", len(made), n_clips, made[a[1]]["file"])
    else:
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            pending = {pool.submit(_render_in_worker, *a): a[1] for a in args}
            try:
                while pending:
                    check_cancel(cancel)
                    done, _ = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                    for f in done:
                        made[pending.pop(f)] = f.result()
                        save()
                        yield Progress("world", len(made), n_clips, f"{len(made)} of {n_clips} clips")
            finally:
                for f in pending:
                    f.cancel()
    save()
    keep = {made[i]["file"] for i in made}
    for e in old.values():  # clips an earlier, larger build made and this one does not list
        f = root / e["file"]
        if e["file"] not in keep and f.resolve().is_relative_to(root.resolve()):
            f.unlink(missing_ok=True)
    yield Progress("world", n_clips, n_clips, "done")
    return replace(StarterWorld.load(root), rendered=len(todo))
