"""``Library(data_dir)``: the catalog file and the index folder of one data directory,
with the jobs and the indexes at hand (what the session, GUI and CLI hold)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.jobs import CancelCheck, Job

from .catalog import Catalog
from .embed import EmbedReport, embed
from .embed import checkpoint_id as _checkpoint_id
from .index import VectorIndex, load_or_rebuild
from .scan import ScanReport, scan

CATALOG_FILE = "catalog.sqlite"
INDEX_DIR = "index"


@dataclass(frozen=True)
class AddReport:
    """What :meth:`Library.add` did: the scan, and the embedding when a model was given."""
    scan: ScanReport
    embed: EmbedReport | None


def scan_options_for(loaded_model, kind: str, extractor: str | None = None) -> dict:
    """``Library.scan`` options that make a folder readable by ``loaded_model``: the base-feature
    extractor it was trained with and its segment length (``extractor`` overrides the name;
    with no model, the default extractor and segment length)."""
    from engine.media.grid import DEFAULT_SEGMENT_SECONDS

    key = "music_extractor_name" if kind == "music" else "visual_extractor_name"
    if loaded_model is None:
        return {key: extractor, "segment_seconds": DEFAULT_SEGMENT_SECONDS}
    from engine.features.registry import extractor_name_for_id

    cfg = loaded_model.config
    wanted = cfg.music_id if kind == "music" else cfg.visual_id
    return {key: extractor or extractor_name_for_id(wanted), "segment_seconds": float(cfg.segment_seconds)}


class Library:
    """``<data_dir>/library/catalog.sqlite`` and ``<data_dir>/library/index/``.

    ``data_dir`` defaults to :func:`engine.paths.data_dir` (``MVPT_DATA_DIR`` overrides it).
    """

    def __init__(self, data_dir: str | os.PathLike[str] | None = None) -> None:
        if data_dir is None:
            from engine.paths import data_dir as default_data_dir

            data_dir = default_data_dir()
        self.root = Path(data_dir) / "library"
        self.index_dir = self.root / INDEX_DIR
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(self.root / CATALOG_FILE)
        self._indexes: dict[tuple[str, str, str], tuple[int, VectorIndex]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def scan(self, folder: str | os.PathLike[str], kind: str, **options) -> Job[ScanReport]:
        """:func:`engine.library.scan.scan` on this library's catalog."""
        return scan(self.catalog, folder, kind, **options)

    def embed(self, loaded_model, kind: str, checkpoint_id: str | None = None,
              cancel: CancelCheck | None = None) -> Job[EmbedReport]:
        """Embed ``kind`` items with a loaded checkpoint and rebuild its indexes."""
        ck = checkpoint_id or _checkpoint_id(loaded_model)
        return embed(self.catalog, loaded_model, ck, kind, cancel, index_dir=self.index_dir)

    def add(self, folder: str | os.PathLike[str], kind: str, loaded_model=None, *, extractor: str | None = None,
            checkpoint_id: str | None = None, cancel: CancelCheck | None = None, **scan_options) -> Job[AddReport]:
        """Add (or rescan) a folder the way ``loaded_model`` reads it, then embed it for that
        model (the whole of ``mvpt library add``). Without a model only base features are stored."""
        opts = {**scan_options_for(loaded_model, kind, extractor), **scan_options}
        report = yield from self.scan(folder, kind, cancel=cancel, **opts)
        embedded = None
        if loaded_model is not None:
            embedded = yield from self.embed(loaded_model, kind, checkpoint_id, cancel)
        return AddReport(report, embedded)

    def index(self, checkpoint_id: str, kind: str, level: str = "segment") -> VectorIndex:
        """The verified index (rebuilt from the catalog when stale or damaged), kept in memory
        until the stored vectors change."""
        key = (checkpoint_id, kind, level)
        with self._lock:
            generation = self.catalog.generation(checkpoint_id, kind)
            hit = self._indexes.get(key)
            if hit is not None and hit[0] == generation:
                return hit[1]
            vi = load_or_rebuild(self.catalog, checkpoint_id, kind, level, self.index_dir)
            self._indexes[key] = (generation, vi)
            return vi

    def remove_folder(self, path: str | os.PathLike[str]) -> int:
        return self.catalog.remove_folder(path)
