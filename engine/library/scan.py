"""``scan(catalog, folder, kind)``: bring the catalog up to date with a folder (a job).

What it does, in order:

1. registers the folder (idempotent) and lists its media files (by extension, no symlinked
   folders followed), sorted, so runs are reproducible;
2. skips every file whose size and mtime match the catalog row made with the same
   extractor and segment length (``ok`` *and* ``failed``: a broken file is not retried
   until it changes, ``retry_failed=True``, or the media layer reads more than it did when
   the folder was last scanned, :data:`engine.media.READER_VERSION`);
3. decodes and extracts the rest in :class:`~engine.library.workers.IsolatedPool` worker
   processes (parallel, a wall-clock limit per file, crashes and overruns charged to the
   file that caused them) and writes each result from this process in one transaction;
4. forgets catalog items under the folder whose files are gone (only after a complete pass).

Which extractor id a name (``"musicnn"``) stands for is learned from the first worker that
starts and kept in the catalog's ``meta`` table, so an unchanged folder is checked without
starting a worker or loading a model. When a worker reports another id (an upgraded
extractor), the to-do list is recomputed with it.

Resumable: each file is committed on its own, so a run killed at any point keeps every
file finished before the kill, never half of one, and the next run starts where it stopped.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.jobs import CancelCheck, Job, Progress, check_cancel
from engine.media import READER_VERSION
from engine.media.container import MEDIA_EXTENSIONS_AUDIO, MEDIA_EXTENSIONS_VIDEO
from engine.media.errors import MediaFileMissing
from engine.media.grid import DEFAULT_SEGMENT_SECONDS

from .catalog import Catalog
from .records import KINDS
from .workers import IsolatedPool

log = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT = 600.0
"""Seconds one file may take (decode + features) before its worker is killed."""
DEFAULT_MEMORY_LIMIT = 8 << 30
"""Address space one worker may map (bytes). torch alone maps ~2 GiB; CLIP, musicnn and a
2-hour file's features fit well within 8 GiB, a decoder running away does not."""
PROCESSOR = "engine.library.worker_task:process_file"


@dataclass
class ScanReport:
    folder: str
    kind: str
    extractor_id: str | None = None
    found: int = 0
    """Media files in the folder."""
    skipped: int = 0
    """Unchanged files not decoded again."""
    processed: list[str] = field(default_factory=list)
    """Files decoded in this run and stored as ok."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """``(path, reason)`` of files that failed in this run."""
    removed: int = 0
    """Catalog items dropped because their file is gone."""
    moved: int = 0
    """Files found under a new name or folder with the same content (kept, not decoded)."""
    rhythm_updated: int = 0
    """Unchanged music files whose stored rhythm was from an older analysis and was redone
    (decoded again, features kept)."""
    media_seconds: float = 0.0
    """Total duration of the files decoded in this run."""
    seconds: float = 0.0
    """Wall-clock time of the run."""

    @property
    def realtime_factor(self) -> float | None:
        return self.media_seconds / self.seconds if self.seconds > 0 and self.media_seconds else None


def media_files(folder: str | os.PathLike[str], kind: str) -> list[str]:
    """Media files of ``kind`` under ``folder`` (recursive, hidden entries skipped), sorted."""
    exts = MEDIA_EXTENSIONS_AUDIO if kind == "music" else MEDIA_EXTENSIONS_VIDEO
    out: list[str] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in exts:
                out.append(os.path.join(root, name))
    return sorted(out)


def default_extractor_name(kind: str) -> str:
    """The extractor the defaults pick for a kind (learned when its weights are here).

    For music this mirrors ``registry.plan_defaults`` without its CLIP look-up, which
    imports open_clip (seconds) only to decide the visual side.
    """
    if kind == "music":
        from engine.features.base import FeatureError
        from engine.features.registry import DEFAULT_MUSICNN

        try:
            from engine.features.musicnn.weights import find_weights

            find_weights(DEFAULT_MUSICNN)
            return "musicnn"
        except (FeatureError, ImportError):
            return "classic-music"
    from engine.features.registry import plan_defaults

    return plan_defaults().visual


def scan(catalog: Catalog, folder: str | os.PathLike[str], kind: str, *,
         visual_extractor_name: str | None = None, music_extractor_name: str | None = None,
         segment_seconds: float = DEFAULT_SEGMENT_SECONDS, workers: int = 2,
         time_limit: float = DEFAULT_TIME_LIMIT, memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
         retry_failed: bool = False, threads: int | None = None,
         cancel: CancelCheck | None = None, processor: str = PROCESSOR) -> Job[ScanReport]:
    """Scan ``folder`` as a ``kind`` (``"music"``/``"footage"``) library (see module doc).

    Extractor names default to :func:`default_extractor_name`. ``workers`` processes decode
    in parallel; ``time_limit`` (seconds) bounds each file, ``memory_limit`` (bytes of address
    space, None for none) each worker; ``threads``: torch threads per worker (None: the cores
    shared among the workers; a fixed count makes features agree across machines). Result: a :class:`ScanReport`.
    Cancelling keeps the files finished so far and raises :class:`~engine.jobs.Cancelled`.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be 'music' or 'footage', got {kind!r}")
    t0 = time.monotonic()
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise MediaFileMissing(root, "library folder not found; is the drive connected?")
    name = (music_extractor_name if kind == "music" else visual_extractor_name) or default_extractor_name(kind)
    record = catalog.add_folder(root, kind)
    report = ScanReport(record.path, kind)
    yield Progress("discover", 0, None, f"listing {record.path}")
    files = media_files(record.path, kind)
    report.found = len(files)
    known = {it.path: it for it in catalog.items(folder_id=record.id)}
    stats: dict[str, os.stat_result] = {}
    for p in files:
        try:
            stats[p] = os.stat(p)
        except OSError:
            pass  # vanished meanwhile: treated as gone
    report.moved = _detect_moves(catalog, known, stats)
    yield Progress("discover", len(files), len(files), f"{len(files)} {kind} files")
    check_cancel(cancel)

    def todo(extractor_id: str | None) -> list[str]:
        out = []
        for p, st in stats.items():
            it = known.get(p)
            unchanged = (it is not None and (it.size, it.mtime_ns) == (st.st_size, st.st_mtime_ns)
                         and extractor_id is not None and it.extractor_id == extractor_id
                         and abs(it.segment_seconds - segment_seconds) < 1e-6)
            if not unchanged or (retry_failed and it.status == "failed"):
                out.append(p)
        return sorted(out)

    def rhythm_todo(full: list[str]) -> list[str]:
        """Unchanged ok music files without a current rhythm (not already in ``full``)."""
        if kind != "music":
            return []
        from engine.rhythm.music import RHYTHM_VERSION

        versions = catalog.rhythm_versions(record.id)
        skip = set(full)
        return sorted(p for p, it in known.items() if p in stats and p not in skip and it.status == "ok"
                      and versions.get(it.id) != RHYTHM_VERSION)

    reader_key = f"media_reader:{record.id}"
    if catalog.get_meta(reader_key) != str(READER_VERSION):
        retry_failed = True  # this version may read what failed before
    cached_id = catalog.get_meta(f"extractor_id:{name}")
    pending = todo(cached_id)
    rhythm_only = rhythm_todo(pending)
    if pending or rhythm_only:
        threads = threads or max(1, (os.cpu_count() or 1) // workers)
        with IsolatedPool(processor, init="engine.library.worker_task:init",
                          init_args=(kind, name, segment_seconds, threads), workers=workers,
                          time_limit=time_limit, memory_limit=memory_limit) as pool:
            yield Progress("scan", 0, len(pending), f"starting {workers} worker(s) with {name}")
            info = pool.start(cancel)
            report.extractor_id = info["extractor_id"]
            if report.extractor_id != cached_id:
                catalog.set_meta(f"extractor_id:{name}", report.extractor_id)
                pending = todo(report.extractor_id)
                rhythm_only = rhythm_todo(pending)
            report.skipped = len(stats) - len(pending)
            yield from _process(catalog, pool, record.id, kind, pending, report, segment_seconds, cancel,
                                rhythm_only, {p: known[p] for p in rhythm_only})
    else:
        report.extractor_id = cached_id
        report.skipped = len(stats)
    catalog.set_meta(reader_key, str(READER_VERSION))  # a complete pass (a cancel raised above)
    gone = [it.id for p, it in known.items() if p not in stats]
    if gone:
        report.removed = catalog.remove_items(gone)
    report.seconds = time.monotonic() - t0
    yield Progress("scan", len(pending) + len(rhythm_only), len(pending) + len(rhythm_only),
                   f"{len(report.processed)} analysed, {len(report.failed)} failed, {report.skipped} unchanged")
    return report


def _detect_moves(catalog: Catalog, known: dict, stats: dict[str, os.stat_result]) -> int:
    """Items whose file is gone while a new file of the same size has the same content hash:
    the file was moved or renamed. The item follows it (same id, features and vectors).
    Only those candidates are hashed here (a few blocks each, no decoding)."""
    from engine.features.cache import content_key

    gone_by_size: dict[int, list] = {}
    for p, it in known.items():
        if p not in stats and it.status == "ok" and it.content_hash:
            gone_by_size.setdefault(it.size, []).append(it)
    moved = 0
    for p, st in sorted(stats.items()):
        if p in known or st.st_size not in gone_by_size:
            continue
        try:
            key = content_key(p)
        except OSError:
            continue
        for it in gone_by_size[st.st_size]:
            if it.content_hash == key:
                catalog.move_item(it.id, p, st.st_size, st.st_mtime_ns)
                gone_by_size[st.st_size].remove(it)
                del known[it.path]
                known[p] = replace(it, path=p, mtime_ns=st.st_mtime_ns)
                moved += 1
                break
    return moved


def _process(catalog: Catalog, pool: IsolatedPool, folder_id: int, kind: str, pending: list[str],
             report: ScanReport, segment_seconds: float, cancel: CancelCheck | None,
             rhythm_only: list[str] = (), rhythm_items: dict | None = None) -> Iterator[Progress]:
    extractor_id = report.extractor_id or ""
    total = len(pending) + len(rhythm_only)
    done = 0
    tasks = [(p, (p,)) for p in pending] + [(("rhythm", p), (p, "rhythm")) for p in rhythm_only]
    for result in pool.run(iter(tasks), cancel):
        if isinstance(result.key, tuple):  # rhythm only: the item and its features stay as they are
            path = result.key[1]
            item = rhythm_items[path]
            if result.ok:
                catalog.store_rhythm(item.id, result.value)
                report.rhythm_updated += 1
                message = f"{os.path.basename(path)}: rhythm"
            else:  # stored as "no grid" with the reason, so it is not retried until the file changes
                from engine.rhythm.music import MusicRhythm

                log.info("library: rhythm of %s failed: %s", path, result.error)
                catalog.store_rhythm(item.id, MusicRhythm(float(item.duration or 0.0), False, None,
                                                          reason=f"rhythm analysis failed: {result.error}"))
                message = f"{os.path.basename(path)}: rhythm failed: {result.error}"
            done += 1
            yield Progress("scan", done, total, message)
            continue
        path = result.key
        name = os.path.basename(path)
        if result.ok:
            f = result.value
            catalog.record_ok(folder_id, kind, f, extractor_id, segment_seconds)
            report.processed.append(path)
            report.media_seconds += f.duration
            message = f"{name} ({f.duration:.0f} s)"
        else:
            try:
                st = os.stat(path)
                size, mtime = st.st_size, st.st_mtime_ns
            except OSError:
                size, mtime = -1, -1
            catalog.record_failure(folder_id, kind, path, size, mtime, result.error or "unknown error",
                                   extractor_id, segment_seconds)
            report.failed.append((path, result.error or "unknown error"))
            message = f"{name}: {result.error}"
            log.info("library: %s failed: %s", path, result.error)
        done += 1
        yield Progress("scan", done, total, message)
