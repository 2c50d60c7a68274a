"""``mvpt dataset build FOLDER --out DIR``: music videos -> base features -> feature dataset.

Every video file under FOLDER (recursively) is probed, cut into the segment grid of
``--segment-seconds``, and read by the active visual and music extractors
(:mod:`engine.features.registry`); both ``[T, D]`` arrays go to ``DIR/items/<id>.npz``.

- Resumable: items already in ``DIR/items`` are kept (the extractor ids are checked against
  ``DIR/build.json``, so a resumed build never mixes features of two models).
- Parallel: ``--workers`` threads, each with its own extractors (decoding and torch both
  release the GIL).
- A bad file (no video, no audio, undecodable, ...) is logged to ``DIR/build_errors.jsonl``
  and skipped.
- Split by video with a fixed seed (``--seed``): the sorted item ids are shuffled and cut
  into train/val/test; the manifest is written last, atomically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.atomic import atomic_path, atomic_write_text
from engine.jobs import CancelCheck, Cancelled, Job, Progress, run
from engine.media.grid import SegmentGrid

from .synth import split_ids

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}


@dataclass(frozen=True)
class BuildConfig:
    folder: str                     # folder of music videos (searched recursively)
    out: str                        # dataset folder to write (or resume)
    workers: int = 2                # files processed at once
    segment_seconds: float = 6.7    # t
    visual: str | None = None       # extractor name; None = the active default
    music: str | None = None        # extractor name; None = the active default
    device: str = "cpu"             # device for the extractors
    seed: int = 0                   # split seed
    val_fraction: float = 0.1
    test_fraction: float = 0.1


@dataclass
class BuildReport:
    out: Path
    built: int = 0
    kept: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    splits: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.built + self.kept > 0

    def summary(self) -> str:
        s = (f"{self.out}: {self.built} videos built, {self.kept} kept from before, {len(self.failed)} skipped; "
             f"splits " + ", ".join(f"{k} {v}" for k, v in self.splits.items()))
        if self.failed:
            s += f"\nskipped files are listed in {self.out / 'build_errors.jsonl'}"
        return s


def find_videos(folder: str | os.PathLike[str]) -> list[Path]:
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
                  and not p.name.startswith("."))


def item_id(folder: Path, path: Path) -> str:
    """Stable, filesystem-safe id: readable stem + hash of the path relative to FOLDER."""
    rel = path.relative_to(folder).as_posix()
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem).strip("_")[:48] or "video"
    return f"{stem}-{hashlib.sha1(rel.encode()).hexdigest()[:8]}"


def _make_extractors(cfg: BuildConfig):
    from engine.features import registry

    if cfg.visual is None or cfg.music is None:
        dv, dm = registry.default_extractors(cfg.device)
    visual = registry.create_extractor(cfg.visual, cfg.device) if cfg.visual else dv
    music = registry.create_extractor(cfg.music, cfg.device) if cfg.music else dm
    if visual.modality != "visual" or music.modality != "music":
        raise ValueError(f"--visual must name a visual extractor and --music a music one "
                         f"(got {visual.id} / {music.id})")
    return visual, music


def extract_item(path: Path, visual, music, segment_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Probe ``path`` and read both modalities on its segment grid. Raises on a bad file."""
    from engine.analysis.read import read_media
    from engine.media.errors import NoAudioStream, NoVideoStream
    from engine.media.probe import probe

    info = probe(path)
    if info.video is None:
        raise NoVideoStream(path, "has no video stream")
    if info.audio is None:
        raise NoAudioStream(path, "has no audio stream (a music video needs its music)")
    grid = SegmentGrid(info.duration, segment_seconds)
    # the one analysis pass per stream: picture -> visual encoder, sound -> music encoder
    v = np.asarray(run(read_media(path, visual, segment_seconds, info=info, grid=grid)).features, dtype=np.float32)
    m = np.asarray(run(read_media(path, music, segment_seconds, info=info, grid=grid)).features, dtype=np.float32)
    T = len(grid)
    if v.shape != (T, visual.dim) or m.shape != (T, music.dim):
        raise ValueError(f"extractors returned {v.shape} / {m.shape}, expected ({T}, {visual.dim}) / ({T}, {music.dim})")
    if not (np.isfinite(v).all() and np.isfinite(m).all()):
        raise ValueError("extractors returned NaN or infinite values")
    return v, m


def build_dataset(cfg: BuildConfig, cancel: CancelCheck | None = None) -> Job[BuildReport]:
    folder, out = Path(cfg.folder), Path(cfg.out)
    files = find_videos(folder)
    items = out / "items"
    items.mkdir(parents=True, exist_ok=True)
    report = BuildReport(out)
    yield Progress("build", 0, len(files), f"{len(files)} videos in {folder}")

    local = threading.local()
    first = _make_extractors(cfg)
    ids_info = {"visual": {"id": first[0].id, "dim": int(first[0].dim)},
                "music": {"id": first[1].id, "dim": int(first[1].dim)}}
    state = out / "build.json"
    if state.exists():
        prev = json.loads(state.read_text())
        if prev.get("extractors") != ids_info or prev.get("segment_seconds") != cfg.segment_seconds:
            raise ValueError(f"{out} was built with {prev.get('extractors')} at t={prev.get('segment_seconds')} s; "
                             f"resuming with {ids_info} at t={cfg.segment_seconds} s would mix features. "
                             "Use a new --out folder.")
    else:
        state.write_text(json.dumps({"extractors": ids_info, "segment_seconds": cfg.segment_seconds,
                                     "folder": str(folder)}, indent=1))
    lock = threading.Lock()
    local_pairs: list = [first]

    def extractors():
        if not hasattr(local, "pair"):
            with lock:
                local.pair = local_pairs.pop() if local_pairs else _make_extractors(cfg)
        return local.pair

    def work(path: Path, iid: str) -> str:
        vx, mx = extractors()
        v, m = extract_item(path, vx, mx, cfg.segment_seconds)
        with atomic_path(items / f"{iid}.npz", suffix=".npz", fsync=False) as tmp, open(tmp, "wb") as f:
            np.savez(f, visual=v, music=m)
        return iid

    done_ids: list[str] = []
    todo: list[tuple[Path, str]] = []
    for p in files:
        iid = item_id(folder, p)
        if (items / f"{iid}.npz").exists():
            done_ids.append(iid)
            report.kept += 1
        else:
            todo.append((p, iid))
    errors = open(out / "build_errors.jsonl", "a")
    n = report.kept
    try:
        with ThreadPoolExecutor(max(1, cfg.workers)) as ex:
            pending: dict[Future, tuple[Path, str]] = {}
            queue = list(todo)
            while queue or pending:
                while queue and len(pending) < 2 * max(1, cfg.workers):
                    p, iid = queue.pop(0)
                    pending[ex.submit(work, p, iid)] = (p, iid)
                finished, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                if cancel is not None and cancel():
                    for f in pending:
                        f.cancel()
                    raise Cancelled("dataset build cancelled; run it again to resume")
                for f in finished:
                    p, iid = pending.pop(f)
                    n += 1
                    try:
                        done_ids.append(f.result())
                        report.built += 1
                    except Exception as e:  # noqa: BLE001 - a bad file is logged and skipped
                        msg = f"{type(e).__name__}: {e}"
                        log.warning("skipping %s: %s", p, msg)
                        report.failed.append((str(p), msg))
                        errors.write(json.dumps({"file": str(p), "error": msg}) + "\n")
                        errors.flush()
                    yield Progress("build", n, len(files), p.name)
    finally:
        errors.close()
    splits = split_ids(sorted(done_ids), cfg.val_fraction, cfg.test_fraction, cfg.seed)
    report.splits = {k: len(v) for k, v in splits.items()}
    manifest = {"format": "mvpt-features", "version": 1, "segment_seconds": cfg.segment_seconds,
                "splits": splits, "extractors": ids_info,
                "source": {"builder": "mvpt dataset build", "folder": str(folder), "seed": cfg.seed}}
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return report
