"""The demo's attribute examples: image and audio folders written from the demo world, as a
user would collect them to define "bright", "drums" and "calm" in the app (stage 5 of
:func:`training.demo.build_demo`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.atomic import atomic_path
from engine.jobs import CancelCheck, Job, Progress, check_cancel

from .demo_world import DemoWorld

DRUM_STYLES = ("rock", "techno", "hiphop")
CALM_STYLES = ("ambient", "piano", "strings")


def write_examples(world: DemoWorld, out: Path, n: int, segment_seconds: float,
                   cancel: CancelCheck | None = None) -> Job[dict[str, tuple[str, Path, Path]]]:
    """Example folders for the demo's attributes: ``{name: (kind, folder, domain folder)}``.

    bright: the ``n`` brightest segment frames of the training clips (domain: frames spread over
    all of them); drums / calm: ``n`` excerpts of drum-driven / quiet styles (domain: excerpts of
    every style). Rewritten only when missing.
    """
    from PIL import Image

    from engine.media.frames import sample_frames
    from engine.media.grid import SegmentGrid
    from engine.media.probe import probe

    sets = {"bright": ("images", out / "bright", out / "all_frames"),
            "drums": ("audio", out / "drums", out / "all_music"),
            "calm": ("audio", out / "calm", out / "all_music")}
    complete = out / ".complete"  # holds n: other sizes are remade
    if complete.is_file() and complete.read_text().strip() == str(n):
        return sets
    for _, a, b in sets.values():
        for folder in (a, b):
            for f in folder.glob("*") if folder.is_dir() else ():
                f.unlink()
    frames: list[tuple[float, np.ndarray]] = []  # (mean luma, uint8 [h, w, 3])
    train_clips = [c for c in world.clips if c.split == "train"]
    for i, clip in enumerate(train_clips):
        check_cancel(cancel)
        yield Progress("attributes", i, len(train_clips), f"frames of {clip.path.name}")
        info = probe(clip.path)
        for seg in sample_frames(clip.path, SegmentGrid(info.duration, segment_seconds), per_segment=1,
                                 short_side=224, info=info, cancel=cancel):
            img = seg.frames[0]
            frames.append((float(img.mean()), img))
    rng = np.random.default_rng(0)
    order = np.argsort([-b for b, _ in frames], kind="stable")  # ties in frame order, on any CPU
    _write_images(out / "bright", [frames[j][1] for j in order[:n]], Image)
    _write_images(out / "all_frames", [frames[j][1] for j in rng.permutation(len(frames))[:2 * n]], Image)
    by_style: dict[str, list] = {}
    for t in world.tracks:
        by_style.setdefault(t.style, []).append(t)
    _write_excerpts(out / "drums", [t for s in DRUM_STYLES for t in by_style.get(s, [])], n, segment_seconds, rng)
    _write_excerpts(out / "calm", [t for s in CALM_STYLES for t in by_style.get(s, [])], n, segment_seconds, rng)
    _write_excerpts(out / "all_music", list(world.tracks), 2 * n, segment_seconds, rng)
    complete.write_text(f"{n}\n")
    return sets


def _write_images(folder: Path, images: list[np.ndarray], Image) -> None:  # noqa: N803 - the PIL module
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        with atomic_path(folder / f"{i:03d}.png", suffix=".png", fsync=False) as tmp:
            Image.fromarray(img).save(tmp, format="PNG")


def _write_excerpts(folder: Path, tracks: list, n: int, seconds: float, rng: np.random.Generator) -> None:
    """``n`` excerpts of 2 segments each, spread over ``tracks`` (round robin), as WAV."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    if not tracks:
        return
    for i in range(n):
        t = tracks[i % len(tracks)]
        info = sf.info(str(t.path))
        length = min(info.frames, int(2 * seconds * info.samplerate))
        start = int(rng.integers(0, max(1, info.frames - length)))
        data, sr = sf.read(str(t.path), start=start, frames=length, dtype="float32")
        with atomic_path(folder / f"{i:03d}_{t.style}.wav", suffix=".wav", fsync=False) as tmp:
            sf.write(str(tmp), data, sr, format="WAV")
