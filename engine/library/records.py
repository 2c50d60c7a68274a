"""Plain records the catalog hands out, and the array <-> blob encoding it stores.

Arrays are stored as raw little-endian bytes with their dtype and shape in the same row
(never pickled): float16 when every value fits, float32 otherwise. A blob whose length
does not match its recorded shape is a damaged row and raises :class:`CorruptRow`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Kind = Literal["music", "footage"]
KINDS: tuple[str, ...] = ("music", "footage")
Level = Literal["segment", "track"]
LEVELS: tuple[str, ...] = ("segment", "track")

SEGMENT_BITS = 20
"""Vector ids pack ``(item_id, segment)`` as ``item_id << 20 | segment`` (a million segments,
78 days at 6.7 s, per item). Track-level ids use segment 0."""
_F16_MAX = float(np.finfo(np.float16).max)
_DTYPES = {"f2": np.dtype("<f2"), "f4": np.dtype("<f4")}


class CorruptRow(Exception):
    """A stored array does not match its recorded shape (a damaged catalog row)."""


def modality_of(kind: str) -> str:
    """The model tower a library kind is embedded with: music items by f_m, footage by f_v."""
    if kind not in KINDS:
        raise ValueError(f"kind must be 'music' or 'footage', got {kind!r}")
    return "music" if kind == "music" else "visual"


def pack_ids(item_ids: np.ndarray | int, segments: np.ndarray | int) -> np.ndarray:
    items = np.asarray(item_ids, dtype=np.int64)
    segs = np.asarray(segments, dtype=np.int64)
    if np.any(segs < 0) or np.any(segs >= (1 << SEGMENT_BITS)):
        raise ValueError("segment index out of range for a vector id")
    return (items << SEGMENT_BITS) | segs


def unpack_ids(ids: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """``(item_ids, segment_indices)`` of packed ids (``-1`` ids, "no result", give ``-1, -1``)."""
    a = np.asarray(ids, dtype=np.int64)
    missing = a < 0
    items = np.where(missing, -1, a >> SEGMENT_BITS)
    segs = np.where(missing, -1, a & ((1 << SEGMENT_BITS) - 1))
    return items, segs


def encode_array(a: np.ndarray, allow_f16: bool = True) -> tuple[str, bytes]:
    """``(dtype code, bytes)`` for a float array: float16 when every value fits."""
    x = np.asarray(a, dtype=np.float32)
    if not np.isfinite(x).all():
        raise ValueError("refusing to store non-finite values")
    if allow_f16 and (x.size == 0 or float(np.abs(x).max()) <= _F16_MAX):
        return "f2", np.ascontiguousarray(x, dtype=_DTYPES["f2"]).tobytes()
    return "f4", np.ascontiguousarray(x, dtype=_DTYPES["f4"]).tobytes()


def decode_array(blob: bytes, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """float32 array of ``shape`` from a stored blob; :class:`CorruptRow` on any mismatch."""
    dt = _DTYPES.get(dtype)
    if dt is None:
        raise CorruptRow(f"unknown stored dtype {dtype!r}")
    n = math.prod(shape)
    if len(blob) != n * dt.itemsize:
        raise CorruptRow(f"stored array has {len(blob)} bytes, shape {shape} needs {n * dt.itemsize}")
    return np.frombuffer(blob, dtype=dt).reshape(shape).astype(np.float32)


@dataclass(frozen=True)
class Folder:
    id: int
    path: str
    kind: str
    added_at: float


@dataclass(frozen=True)
class Item:
    id: int
    folder_id: int
    kind: str
    path: str
    size: int
    mtime_ns: int
    content_hash: str | None
    duration: float | None
    title: str | None
    artist: str | None
    status: str
    """``"ok"`` or ``"failed"``."""
    error: str | None
    """Why it failed, in words a user understands (None when ok)."""
    extractor_id: str
    """The base-feature extractor of the last processing."""
    segment_seconds: float
    processed_at: float
    """When the file was last decoded (epoch seconds)."""
    process_count: int
    """How many times the file was decoded over the catalog's life."""


@dataclass(frozen=True)
class Tags:
    extractor_id: str
    names: list[str]
    values: np.ndarray
    """float32 ``[T, len(names)]`` per-segment tag probabilities."""

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most probable tags over the whole item (mean over segments)."""
        if len(self.values) == 0:
            return []
        mean = self.values.mean(axis=0)
        return [(self.names[i], float(mean[i])) for i in np.argsort(-mean)[:k]]


@dataclass(frozen=True)
class EmbeddingSet:
    """Stored vectors of one (checkpoint, kind, level), in a fixed order (item id, segment)."""
    level: str
    vectors: np.ndarray
    """float32 ``[n, d]``, unit norm."""
    item_ids: np.ndarray
    """int64 ``[n]``."""
    segments: np.ndarray
    """int64 ``[n]``: segment index (0 for track level)."""
    dim: int
    generation: int = 0
    """The catalog's embedding generation these were read at (see ``schema``)."""

    @property
    def ids(self) -> np.ndarray:
        return pack_ids(self.item_ids, self.segments)

    def __len__(self) -> int:
        return int(self.vectors.shape[0])


@dataclass(frozen=True)
class Attribute:
    name: str
    checkpoint_id: str
    modality: str
    vector: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0


@dataclass(frozen=True)
class IndexRecord:
    """What the database knows about an index file: the truth it is checked against."""
    checkpoint_id: str
    kind: str
    level: str
    file: str
    index_type: str
    dim: int
    count: int
    checksum: str
    generation: int
    built_at: float


@dataclass
class ProcessedFile:
    """One decoded file, as a worker hands it to the catalog (written in one transaction)."""
    path: str
    size: int
    mtime_ns: int
    content_hash: str
    duration: float
    title: str | None
    artist: str | None
    segments: list[tuple[float, float]]
    features: dict[str, np.ndarray]
    """extractor id -> float32 ``[T, dim]``."""
    tags: Tags | None = None
    rhythm: Any = None
    """:class:`engine.rhythm.music.MusicRhythm` of a music file (from the same decoded
    samples as the features), else None."""
