"""``Library(data_dir)``: the catalog file and the index folder of one data directory,
with the jobs and the indexes at hand (what the session, GUI and CLI hold)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from engine.jobs import CancelCheck, Job

from .catalog import Catalog
from .embed import EmbedReport, embed
from .embed import checkpoint_id as _checkpoint_id
from .index import VectorIndex, load_or_rebuild
from .scan import ScanReport, scan

CATALOG_FILE = "catalog.sqlite"
INDEX_DIR = "index"


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
