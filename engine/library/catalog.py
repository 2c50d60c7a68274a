"""The library catalog: one SQLite file (WAL) with folders, items, segments, base features,
tags, embeddings per checkpoint, index records and attributes (see :mod:`.schema`).

The database is the source of truth. Base features live here (float16 blobs, ~30 KB for a
4-minute track), not in the feature cache: the cache may be cleared or pruned at any time
and is keyed by file content, while re-embedding for a new checkpoint must work from the
catalog alone — even after the media drive is unplugged — and an item's features must
appear and disappear in the same transaction as its row.

Only the process that owns the catalog writes to it (scan workers hand their results to
the main process). Every write that belongs together is one transaction: an item, its
segments, features and tags are all there or none are.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from engine.media.grid import Segment

from .records import (
    KINDS,
    CorruptRow,
    Folder,
    Item,
    ProcessedFile,
    Tags,
    decode_array,
    encode_array,
)
from .schema import CatalogError, migrate
from .vector_store import VectorStoreMixin

_ITEM_COLUMNS = ("id, folder_id, kind, path, size, mtime_ns, content_hash, duration, title, artist, "
                 "status, error, extractor_id, segment_seconds, processed_at, process_count")


class Catalog(VectorStoreMixin):
    """Open (creating or upgrading) the catalog at ``path``. Use as a context manager.

    Safe to share between threads (calls are serialised); one catalog per process writes.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            # Autocommit mode: transactions are opened explicitly by _tx()/_read().
            self._conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None,
                                         check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            migrate(self._conn, str(self.path))
        except sqlite3.DatabaseError as e:
            raise CatalogError(f"{self.path}: the library catalog cannot be opened ({e}); move it "
                               "away to start a new library") from e

    # --- plumbing ---------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (taken at once, so two writers queue instead of deadlocking)."""
        with self._lock:
            if self._conn is None:
                raise CatalogError("the catalog is closed")
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees one snapshot."""
        with self._lock:
            if self._conn is None:
                raise CatalogError("the catalog is closed")
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        with self._read() as c:
            row = c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- folders ----------------------------------------------------------------------------
    def add_folder(self, path: str | os.PathLike[str], kind: str) -> Folder:
        """Register a folder of ``kind`` (``"music"`` or ``"footage"``); idempotent.

        Raises ValueError when the folder is already registered with the other kind, or
        overlaps (contains or lies inside) another registered folder.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be 'music' or 'footage', got {kind!r}")
        p = _norm(path)
        with self._tx() as c:
            row = c.execute("SELECT id, path, kind, added_at FROM folders WHERE path = ?", (p,)).fetchone()
            if row is not None:
                if row[2] != kind:
                    raise ValueError(f"{p} is already in the library as a {row[2]} folder; remove it first")
                return Folder(*row)
            for (other,) in c.execute("SELECT path FROM folders"):
                if _inside(p, other) or _inside(other, p):
                    raise ValueError(f"{p} overlaps the library folder {other}; add one or the other")
            now = time.time()
            cur = c.execute("INSERT INTO folders (path, kind, added_at) VALUES (?, ?, ?)", (p, kind, now))
            return Folder(int(cur.lastrowid), p, kind, now)

    def remove_folder(self, path: str | os.PathLike[str]) -> int:
        """Forget a folder, its items and everything derived from them (segments, features,
        vectors). Returns the number of items removed; 0 when the folder was not registered."""
        p = _norm(path)
        with self._tx() as c:
            row = c.execute("SELECT id FROM folders WHERE path = ?", (p,)).fetchone()
            if row is None:
                return 0
            n = c.execute("SELECT COUNT(*) FROM items WHERE folder_id = ?", (row[0],)).fetchone()[0]
            c.execute("DELETE FROM folders WHERE id = ?", (row[0],))  # cascades to items and below
            return int(n)

    def folders(self, kind: str | None = None) -> list[Folder]:
        with self._read() as c:
            rows = c.execute("SELECT id, path, kind, added_at FROM folders"
                             + (" WHERE kind = ?" if kind else "") + " ORDER BY path",
                             (kind,) if kind else ()).fetchall()
        return [Folder(*r) for r in rows]

    def folder(self, path: str | os.PathLike[str]) -> Folder | None:
        with self._read() as c:
            row = c.execute("SELECT id, path, kind, added_at FROM folders WHERE path = ?", (_norm(path),)).fetchone()
        return Folder(*row) if row else None

    # --- items ------------------------------------------------------------------------------
    def items(self, kind: str | None = None, status: str | None = None, folder_id: int | None = None) -> list[Item]:
        where, args = [], []
        for col, val in (("kind", kind), ("status", status), ("folder_id", folder_id)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val)
        sql = f"SELECT {_ITEM_COLUMNS} FROM items" + (" WHERE " + " AND ".join(where) if where else "")
        with self._read() as c:
            return [Item(*r) for r in c.execute(sql + " ORDER BY id", args)]

    def item(self, item_id: int) -> Item | None:
        with self._read() as c:
            row = c.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE id = ?", (int(item_id),)).fetchone()
        return Item(*row) if row else None

    def item_by_path(self, path: str | os.PathLike[str]) -> Item | None:
        """The item stored for ``path`` (as scanned, or with symlinks resolved)."""
        with self._read() as c:
            for candidate in dict.fromkeys((os.path.abspath(path), _norm(path))):
                row = c.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE path = ?", (candidate,)).fetchone()
                if row:
                    return Item(*row)
        return None

    def segments(self, item_id: int) -> list[Segment]:
        with self._read() as c:
            rows = c.execute("SELECT idx, start, end FROM segments WHERE item_id = ? ORDER BY idx",
                             (int(item_id),)).fetchall()
        return [Segment(int(i), float(s), float(e)) for i, s, e in rows]

    def base_features(self, item_id: int, extractor_id: str) -> np.ndarray | None:
        """float32 ``[T, dim]`` base features of an item, or None when not stored."""
        with self._read() as c:
            row = c.execute("SELECT rows, dim, dtype, data FROM features WHERE item_id = ? AND extractor_id = ?",
                            (int(item_id), extractor_id)).fetchone()
        if row is None:
            return None
        return decode_array(row[3], row[2], (row[0], row[1]))

    def feature_ids(self, item_id: int) -> list[str]:
        """Extractor ids with stored features for an item."""
        with self._read() as c:
            return [r[0] for r in c.execute("SELECT extractor_id FROM features WHERE item_id = ? ORDER BY 1",
                                            (int(item_id),))]

    def tags(self, item_id: int) -> Tags | None:
        """Per-segment tag probabilities and their names (musicnn), or None."""
        with self._read() as c:
            row = c.execute("SELECT extractor_id, names, rows, dim, data FROM tags WHERE item_id = ?",
                            (int(item_id),)).fetchone()
        if row is None:
            return None
        import json

        return Tags(row[0], list(json.loads(row[1])), decode_array(row[4], "f2", (row[2], row[3])))

    def status_counts(self, kind: str | None = None) -> dict[str, int]:
        """``{"ok": n, "failed": m}`` for one kind (or all)."""
        with self._read() as c:
            rows = c.execute("SELECT status, COUNT(*) FROM items" + (" WHERE kind = ?" if kind else "")
                             + " GROUP BY status", (kind,) if kind else ()).fetchall()
        counts = {"ok": 0, "failed": 0}
        counts.update({s: int(n) for s, n in rows})
        return counts

    def failures(self, kind: str | None = None) -> list[tuple[str, str]]:
        """``(path, reason)`` of every file that could not be used."""
        with self._read() as c:
            rows = c.execute("SELECT path, error FROM items WHERE status = 'failed'"
                             + (" AND kind = ?" if kind else "") + " ORDER BY path",
                             (kind,) if kind else ()).fetchall()
        return [(p, e or "unknown error") for p, e in rows]

    # --- writes by the scanner ----------------------------------------------------------------
    def record_ok(self, folder_id: int, kind: str, f: ProcessedFile, extractor_id: str,
                  segment_seconds: float) -> int:
        """Store a decoded file: item row, segments, features, tags, in one transaction.

        The item keeps its id when it was known. Its vectors are dropped (``embed`` makes new
        ones); features of other extractors survive only while the file and grid are unchanged.
        """
        if extractor_id not in f.features:
            raise ValueError(f"no features from {extractor_id!r} for {f.path}")
        rows = len(f.segments)
        for eid, feats in f.features.items():
            if feats.ndim != 2 or feats.shape[0] != rows:
                raise ValueError(f"{eid} features {feats.shape} do not match {rows} segments")
        with self._tx() as c:
            item_id, changed = self._upsert_item(c, folder_id, kind, f.path, f.size, f.mtime_ns, f.content_hash,
                                                 f.duration, f.title, f.artist, "ok", None, extractor_id,
                                                 segment_seconds)
            c.execute("DELETE FROM segments WHERE item_id = ?", (item_id,))
            c.execute("DELETE FROM embeddings WHERE item_id = ?", (item_id,))
            c.execute("DELETE FROM tags WHERE item_id = ?", (item_id,))
            if changed:
                c.execute("DELETE FROM features WHERE item_id = ?", (item_id,))
            c.execute("DELETE FROM features WHERE item_id = ? AND segment_seconds != ?", (item_id, segment_seconds))
            c.executemany("INSERT INTO segments (item_id, idx, start, end) VALUES (?, ?, ?, ?)",
                          [(item_id, i, float(s), float(e)) for i, (s, e) in enumerate(f.segments)])
            for eid, feats in f.features.items():
                dtype, blob = encode_array(feats)
                c.execute("INSERT OR REPLACE INTO features (item_id, extractor_id, segment_seconds, rows, dim, dtype, data)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?)", (item_id, eid, segment_seconds, rows, feats.shape[1], dtype, blob))
            if f.rhythm is not None:
                self._put_rhythm(c, item_id, f.rhythm)
            elif changed:
                c.execute("DELETE FROM rhythm WHERE item_id = ?", (item_id,))
            if f.tags is not None and f.tags.values.shape[0] == rows:
                import json

                _, blob = encode_array(np.clip(f.tags.values, 0.0, 1.0))
                c.execute("INSERT INTO tags (item_id, extractor_id, names, rows, dim, data) VALUES (?, ?, ?, ?, ?, ?)",
                          (item_id, f.tags.extractor_id, json.dumps(list(f.tags.names)), rows,
                           f.tags.values.shape[1], blob))
        return item_id

    def record_failure(self, folder_id: int, kind: str, path: str, size: int, mtime_ns: int, error: str,
                       extractor_id: str, segment_seconds: float) -> int:
        """Store a file that could not be used, with the reason; drops anything derived from it."""
        with self._tx() as c:
            item_id, _ = self._upsert_item(c, folder_id, kind, path, size, mtime_ns, None, None, None, None,
                                           "failed", error, extractor_id, segment_seconds)
            for table in ("segments", "features", "tags", "embeddings", "rhythm"):
                c.execute(f"DELETE FROM {table} WHERE item_id = ?", (item_id,))
        return item_id

    # --- music rhythm (beats, downbeats, sections, energy) -----------------------------------
    def store_rhythm(self, item_id: int, rhythm) -> None:
        """Store (replace) the :class:`~engine.rhythm.music.MusicRhythm` of an item."""
        with self._tx() as c:
            if c.execute("SELECT 1 FROM items WHERE id = ?", (int(item_id),)).fetchone() is None:
                raise KeyError(f"no item {item_id} in the catalog")
            self._put_rhythm(c, int(item_id), rhythm)

    @staticmethod
    def _put_rhythm(c: sqlite3.Connection, item_id: int, rhythm) -> None:
        c.execute("INSERT OR REPLACE INTO rhythm (item_id, version, data, computed_at) VALUES (?, ?, ?, ?)",
                  (item_id, int(rhythm.version), rhythm.to_json(), time.time()))

    def rhythm(self, item_id: int):
        """The stored :class:`~engine.rhythm.music.MusicRhythm` of an item (whatever its
        version), or None when there is none or the row is damaged."""
        from engine.rhythm.music import MusicRhythm

        with self._read() as c:
            row = c.execute("SELECT data FROM rhythm WHERE item_id = ?", (int(item_id),)).fetchone()
        if row is None:
            return None
        try:
            return MusicRhythm.from_json(row[0])
        except ValueError:
            return None

    def rhythm_versions(self, folder_id: int | None = None) -> dict[int, int]:
        """``{item id: stored rhythm version}`` of the items that have one (of a folder)."""
        sql = "SELECT r.item_id, r.version FROM rhythm r"
        args: tuple = ()
        if folder_id is not None:
            sql += " JOIN items i ON i.id = r.item_id WHERE i.folder_id = ?"
            args = (int(folder_id),)
        with self._read() as c:
            return {int(i): int(v) for i, v in c.execute(sql, args)}

    def move_item(self, item_id: int, new_path: str, size: int, mtime_ns: int) -> None:
        """A file moved or renamed with the same content: keep the item, its id and vectors."""
        with self._tx() as c:
            c.execute("UPDATE items SET path = ?, size = ?, mtime_ns = ? WHERE id = ?",
                      (new_path, size, mtime_ns, int(item_id)))

    def remove_items(self, item_ids: list[int]) -> int:
        with self._tx() as c:
            c.executemany("DELETE FROM items WHERE id = ?", [(int(i),) for i in item_ids])
        return len(item_ids)

    def _upsert_item(self, c: sqlite3.Connection, folder_id: int, kind: str, path: str, size: int,
                     mtime_ns: int, content_hash: str | None, duration, title, artist, status: str,
                     error: str | None, extractor_id: str, segment_seconds: float) -> tuple[int, bool]:
        """Insert or update the item at ``path``; returns ``(id, file changed since last time)``."""
        old = c.execute("SELECT id, size, mtime_ns, content_hash FROM items WHERE path = ?", (path,)).fetchone()
        values = (folder_id, kind, size, mtime_ns, content_hash, duration, title, artist, status, error,
                  extractor_id, segment_seconds, time.time())
        if old is None:
            cur = c.execute("INSERT INTO items (folder_id, kind, size, mtime_ns, content_hash, duration, title, "
                            "artist, status, error, extractor_id, segment_seconds, processed_at, path) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*values, path))
            return int(cur.lastrowid), True
        changed = (old[1], old[2]) != (size, mtime_ns) or (content_hash is not None and old[3] != content_hash)
        c.execute("UPDATE items SET folder_id = ?, kind = ?, size = ?, mtime_ns = ?, content_hash = ?, duration = ?, "
                  "title = ?, artist = ?, status = ?, error = ?, extractor_id = ?, segment_seconds = ?, "
                  "processed_at = ?, process_count = process_count + 1 WHERE id = ?", (*values, old[0]))
        return int(old[0]), changed

    # --- checks -----------------------------------------------------------------------------
    def verify(self) -> list[str]:
        """Problems in the stored data (half-written items, damaged blobs); empty when sound."""
        problems: list[str] = []
        with self._read() as c:
            for item_id, path, status in c.execute("SELECT id, path, status FROM items").fetchall():
                n_seg = c.execute("SELECT COUNT(*) FROM segments WHERE item_id = ?", (item_id,)).fetchone()[0]
                feats = c.execute("SELECT extractor_id, rows, dim, dtype, data FROM features WHERE item_id = ?",
                                  (item_id,)).fetchall()
                if status == "failed":
                    if n_seg or feats:
                        problems.append(f"{path}: failed but has segments or features")
                    continue
                if n_seg == 0 or not feats:
                    problems.append(f"{path}: ok but without segments or features")
                for eid, rows, dim, dtype, blob in feats:
                    try:
                        decode_array(blob, dtype, (rows, dim))
                    except CorruptRow as e:
                        problems.append(f"{path}: {eid} features damaged ({e})")
                    if rows != n_seg:
                        problems.append(f"{path}: {eid} has {rows} rows for {n_seg} segments")
            from engine.rhythm.music import MusicRhythm

            for item_id, data in c.execute("SELECT item_id, data FROM rhythm").fetchall():
                try:
                    MusicRhythm.from_json(data)
                except ValueError as e:
                    problems.append(f"item {item_id}: stored rhythm damaged ({e})")
        return problems


def _norm(path: str | os.PathLike[str]) -> str:
    """Absolute, normalised path text (symlinks of the folder itself resolved)."""
    return str(Path(path).expanduser().resolve())


def _inside(child: str, parent: str) -> bool:
    return child != parent and child.startswith(parent.rstrip(os.sep) + os.sep)
