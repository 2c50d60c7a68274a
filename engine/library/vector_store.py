"""The catalog's vector side: checkpoints, embeddings, index records and attributes.

A mixin of :class:`~engine.library.catalog.Catalog` (kept apart to keep modules small);
it uses the catalog's ``_tx``/``_read`` transactions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .records import (
    KINDS,
    LEVELS,
    Attribute,
    EmbeddingSet,
    IndexRecord,
    decode_array,
    encode_array,
    modality_of,
)


def _unit(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(n, 1e-12)).astype(np.float32)


class VectorStoreMixin:
    # --- checkpoints ------------------------------------------------------------------------
    def register_checkpoint(self, checkpoint_id: str, *, dim: int, path: str | None = None,
                            visual_id: str | None = None, music_id: str | None = None,
                            segment_seconds: float | None = None) -> None:
        with self._tx() as c:  # type: ignore[attr-defined]
            c.execute("INSERT INTO checkpoints (id, path, dim, visual_id, music_id, segment_seconds, added_at) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET path = excluded.path",
                      (checkpoint_id, path, int(dim), visual_id, music_id, segment_seconds, time.time()))

    def checkpoints(self) -> list[dict[str, Any]]:
        with self._read() as c:  # type: ignore[attr-defined]
            cur = c.execute("SELECT id, path, dim, visual_id, music_id, segment_seconds, added_at FROM checkpoints "
                            "ORDER BY added_at")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def checkpoint_dim(self, checkpoint_id: str) -> int | None:
        with self._read() as c:  # type: ignore[attr-defined]
            row = c.execute("SELECT dim FROM checkpoints WHERE id = ?", (checkpoint_id,)).fetchone()
        return int(row[0]) if row else None

    def drop_checkpoint(self, checkpoint_id: str) -> None:
        """Forget a model: its vectors, index records and attribute vectors."""
        with self._tx() as c:  # type: ignore[attr-defined]
            for table, col in (("embeddings", "checkpoint_id"), ("indexes", "checkpoint_id"),
                               ("attributes", "checkpoint_id"), ("generations", "checkpoint_id"),
                               ("checkpoints", "id")):
                c.execute(f"DELETE FROM {table} WHERE {col} = ?", (checkpoint_id,))

    # --- embeddings -------------------------------------------------------------------------
    def items_to_embed(self, checkpoint_id: str, kind: str, extractor_id: str,
                       segment_seconds: float) -> tuple[list[tuple[int, float]], int]:
        """``([(item_id, processed_at)] with features but no vectors yet, n ok items lacking
        the checkpoint's features)``."""
        with self._read() as c:  # type: ignore[attr-defined]
            todo = c.execute(
                "SELECT i.id, i.processed_at FROM items i JOIN features f ON f.item_id = i.id "
                "AND f.extractor_id = ? AND abs(f.segment_seconds - ?) < 1e-6 "
                "WHERE i.kind = ? AND i.status = 'ok' AND NOT EXISTS (SELECT 1 FROM embeddings e "
                "WHERE e.item_id = i.id AND e.checkpoint_id = ?) ORDER BY i.id",
                (extractor_id, segment_seconds, kind, checkpoint_id)).fetchall()
            missing = c.execute(
                "SELECT COUNT(*) FROM items i WHERE i.kind = ? AND i.status = 'ok' AND NOT EXISTS "
                "(SELECT 1 FROM features f WHERE f.item_id = i.id AND f.extractor_id = ? "
                "AND abs(f.segment_seconds - ?) < 1e-6)", (kind, extractor_id, segment_seconds)).fetchone()[0]
        return [(int(i), float(t)) for i, t in todo], int(missing)

    def put_embeddings(self, checkpoint_id: str, kind: str,
                       rows: Iterable[tuple[int, float, np.ndarray, np.ndarray]]) -> int:
        """Store ``(item_id, processed_at, segments [T, d], track [d])`` rows in one transaction.

        A row whose item was re-processed (``processed_at`` changed) or removed since its
        features were read is skipped: its vectors would describe another version.
        Returns the number stored.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be 'music' or 'footage', got {kind!r}")
        stored = 0
        with self._tx() as c:  # type: ignore[attr-defined]
            for item_id, processed_at, segs, track in rows:
                now = c.execute("SELECT processed_at FROM items WHERE id = ? AND status = 'ok'",
                                (int(item_id),)).fetchone()
                if now is None or abs(float(now[0]) - float(processed_at)) > 1e-6:
                    continue
                segs = np.asarray(segs, np.float32)
                track = np.asarray(track, np.float32).reshape(-1)
                if segs.ndim != 2 or segs.shape[1] != track.shape[0]:
                    raise ValueError(f"segment vectors {segs.shape} and track vector {track.shape} disagree")
                dtype, seg_blob = encode_array(segs)
                _, track_blob = encode_array(track)
                c.execute("INSERT OR REPLACE INTO embeddings (item_id, checkpoint_id, kind, rows, dim, dtype, "
                          "segments, track) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          (int(item_id), checkpoint_id, kind, segs.shape[0], segs.shape[1], dtype,
                           seg_blob, track_blob))
                stored += 1
        return stored

    def embedding_counts(self, checkpoint_id: str) -> dict[str, dict[str, int]]:
        """``{kind: {"items": n, "segments": m}}`` stored under a checkpoint (a cheap count)."""
        with self._read() as c:  # type: ignore[attr-defined]
            rows = c.execute("SELECT kind, COUNT(*), COALESCE(SUM(rows), 0) FROM embeddings WHERE checkpoint_id = ? "
                             "GROUP BY kind", (checkpoint_id,)).fetchall()
        counts = {k: {"items": 0, "segments": 0} for k in KINDS}
        counts.update({k: {"items": int(n), "segments": int(s)} for k, n, s in rows})
        return counts

    def generation(self, checkpoint_id: str, kind: str) -> int:
        """Bumped on every change to the vectors of (checkpoint, kind); 0 when there never were any."""
        with self._read() as c:  # type: ignore[attr-defined]
            row = c.execute("SELECT generation FROM generations WHERE checkpoint_id = ? AND kind = ?",
                            (checkpoint_id, kind)).fetchone()
        return int(row[0]) if row else 0

    def embeddings(self, checkpoint_id: str, kind: str, level: str = "segment") -> EmbeddingSet:
        """All stored vectors of one (checkpoint, kind, level), ordered by (item id, segment),
        unit norm, read in one snapshot together with the generation they belong to."""
        if level not in LEVELS:
            raise ValueError(f"level must be 'segment' or 'track', got {level!r}")
        if kind not in KINDS:
            raise ValueError(f"kind must be 'music' or 'footage', got {kind!r}")
        col = "segments" if level == "segment" else "track"
        with self._read() as c:  # type: ignore[attr-defined]
            row = c.execute("SELECT generation FROM generations WHERE checkpoint_id = ? AND kind = ?",
                            (checkpoint_id, kind)).fetchone()
            generation = int(row[0]) if row else 0
            rows = c.execute(f"SELECT item_id, rows, dim, dtype, {col} FROM embeddings WHERE checkpoint_id = ? "
                             "AND kind = ? ORDER BY item_id", (checkpoint_id, kind)).fetchall()
            dim_row = c.execute("SELECT dim FROM checkpoints WHERE id = ?", (checkpoint_id,)).fetchone()
        dim = int(rows[0][2]) if rows else (int(dim_row[0]) if dim_row else 0)
        vecs, items, segs = [], [], []
        for item_id, n, d, dtype, blob in rows:
            shape = (n, d) if level == "segment" else (1, d)
            vecs.append(decode_array(blob, dtype, shape))
            items.append(np.full(shape[0], item_id, np.int64))
            segs.append(np.arange(shape[0], dtype=np.int64) if level == "segment" else np.zeros(1, np.int64))
        if not rows:
            return EmbeddingSet(level, np.zeros((0, dim), np.float32), np.zeros(0, np.int64),
                                np.zeros(0, np.int64), dim, generation)
        return EmbeddingSet(level, _unit(np.concatenate(vecs)), np.concatenate(items), np.concatenate(segs),
                            dim, generation)

    def item_embeddings(self, item_id: int, checkpoint_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        """``(segments [T, d], track [d])`` of one item under a checkpoint, or None."""
        with self._read() as c:  # type: ignore[attr-defined]
            row = c.execute("SELECT rows, dim, dtype, segments, track FROM embeddings WHERE item_id = ? "
                            "AND checkpoint_id = ?", (int(item_id), checkpoint_id)).fetchone()
        if row is None:
            return None
        n, d, dtype, segs, track = row
        return _unit(decode_array(segs, dtype, (n, d))), _unit(decode_array(track, dtype, (d,)))

    # --- index records ----------------------------------------------------------------------
    def index_record(self, checkpoint_id: str, kind: str, level: str) -> IndexRecord | None:
        with self._read() as c:  # type: ignore[attr-defined]
            row = c.execute("SELECT checkpoint_id, kind, level, file, index_type, dim, count, checksum, generation, "
                            "built_at FROM indexes WHERE checkpoint_id = ? AND kind = ? AND level = ?",
                            (checkpoint_id, kind, level)).fetchone()
        return IndexRecord(*row) if row else None

    def save_index_record(self, rec: IndexRecord) -> None:
        with self._tx() as c:  # type: ignore[attr-defined]
            c.execute("INSERT OR REPLACE INTO indexes (checkpoint_id, kind, level, file, index_type, dim, count, "
                      "checksum, generation, built_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (rec.checkpoint_id, rec.kind, rec.level, rec.file, rec.index_type, rec.dim, rec.count,
                       rec.checksum, rec.generation, rec.built_at))

    # --- attributes -------------------------------------------------------------------------
    def save_attribute(self, name: str, checkpoint_id: str, modality: str, vector: np.ndarray,
                       meta: Mapping[str, Any] | None = None) -> None:
        """Store (or replace) an attribute vector of ``modality`` (``"visual"``/``"music"``)."""
        if modality not in ("visual", "music"):
            raise ValueError(f"modality must be 'visual' or 'music', got {modality!r}")
        v = np.asarray(vector, np.float32).reshape(-1)
        dtype, blob = encode_array(v, allow_f16=False)
        with self._tx() as c:  # type: ignore[attr-defined]
            c.execute("INSERT OR REPLACE INTO attributes (name, checkpoint_id, modality, dim, vector, meta, created_at)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?)", (name, checkpoint_id, modality, v.size, blob,
                                                        json.dumps(dict(meta or {})), time.time()))

    def attributes(self, checkpoint_id: str) -> list[Attribute]:
        with self._read() as c:  # type: ignore[attr-defined]
            rows = c.execute("SELECT name, checkpoint_id, modality, dim, vector, meta, created_at FROM attributes "
                             "WHERE checkpoint_id = ? ORDER BY name", (checkpoint_id,)).fetchall()
        return [Attribute(n, ck, m, decode_array(blob, "f4", (d,)), json.loads(meta), t)
                for n, ck, m, d, blob, meta, t in rows]

    def delete_attribute(self, name: str, checkpoint_id: str) -> bool:
        with self._tx() as c:  # type: ignore[attr-defined]
            cur = c.execute("DELETE FROM attributes WHERE name = ? AND checkpoint_id = ?", (name, checkpoint_id))
        return cur.rowcount > 0


__all__ = ["VectorStoreMixin", "modality_of"]
