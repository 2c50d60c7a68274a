"""The on-disk feature cache: ``[T, dim]`` arrays keyed by file content and extractor.

Key
    ``content_key(path)`` (file size + a hash of sampled blocks, so a 2 GB video costs ~2 MB
    of reading, and a moved or renamed file still hits) + the extractor ``id`` + the grid
    (segment seconds, tail rule, duration) + frames per segment. A changed extractor id is a
    different key *and* is checked again against the id stored inside the entry, so stale
    features are never returned.
Storage
    ``<data dir>/features/<extractor slug>/<2 hex>/<key>.npz`` holding ``features`` (float16;
    float32 only if a value does not fit float16) and ``meta`` (JSON bytes). ``np.load`` runs
    with ``allow_pickle=False``: a cache file never executes code.
Concurrency
    Writers write a private temp file in the target folder and ``os.replace`` it into place
    (atomic on POSIX and Windows). Two processes writing the same key leave one complete
    entry; a reader sees the old entry, the new one, or none, never half a file.
Damage
    An unreadable or inconsistent entry is a miss; it is deleted, and the next ``put``
    replaces it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from engine.atomic import atomic_path
from engine.features.base import FeatureExtractor
from engine.jobs import CancelCheck, Job, Progress
from engine.media.grid import SegmentGrid

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
BLOCK_SIZE = 64 * 1024
BLOCKS = 32
"""Sampled blocks per file: first, last and 30 evenly spaced between (2 MiB at most)."""
_F16_MAX = float(np.finfo(np.float16).max)


def content_key(path: str | os.PathLike[str], *, block_size: int = BLOCK_SIZE, blocks: int = BLOCKS) -> str:
    """Identify a file by its content cheaply: ``"<size hex>-<blake2b of sampled blocks>"``.

    Files up to ``blocks * block_size`` bytes are hashed whole. Larger ones hash the first
    and last block and evenly spaced blocks between, plus the size. An edit that changes
    the size, or any byte of a sampled block, changes the key; re-encodes and edits of media
    files change every block, so in practice any change does.
    """
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        h.update(size.to_bytes(8, "little"))
        if size <= blocks * block_size:
            h.update(f.read())
        else:
            last = size - block_size
            for i in range(blocks):
                f.seek(last * i // (blocks - 1))
                h.update(f.read(block_size))
    return f"{size:x}-{h.hexdigest()}"


@dataclass(frozen=True)
class CacheKey:
    extractor_id: str
    content: str
    segment_seconds: float
    min_tail: float
    duration: float
    frames_per_segment: int | None
    segments: int

    @classmethod
    def make(cls, extractor: FeatureExtractor, content: str, grid: SegmentGrid) -> CacheKey:
        fps = getattr(extractor, "frames_per_segment", None)
        return cls(extractor.id, content, float(grid.segment_seconds), float(grid.min_tail),
                   round(float(grid.duration), 3), int(fps) if fps is not None else None, len(grid))

    @property
    def digest(self) -> str:
        blob = json.dumps({"v": FORMAT_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:40]


def _slug(extractor_id: str) -> str:
    """A folder name per extractor id: readable part + hash (ids may hold any character)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", extractor_id)[:60]
    return f"{readable}-{hashlib.sha1(extractor_id.encode()).hexdigest()[:8]}"


class FeatureCache:
    """Get and put per-file features (see module doc). Cheap to create; holds no open files."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        if root is None:
            from engine.paths import features_dir

            root = features_dir()
        self.root = Path(root)

    # --- keys ---------------------------------------------------------------------------
    def key(self, extractor: FeatureExtractor, path: str | os.PathLike[str], grid: SegmentGrid) -> CacheKey:
        return CacheKey.make(extractor, content_key(path), grid)

    def entry_path(self, key: CacheKey) -> Path:
        d = key.digest
        return self.root / _slug(key.extractor_id) / d[:2] / f"{d}.npz"

    # --- get / put ----------------------------------------------------------------------
    def get(self, extractor: FeatureExtractor, path: str | os.PathLike[str], grid: SegmentGrid) -> np.ndarray | None:
        """float32 ``[len(grid), dim]`` from the cache, or None on a miss."""
        return self.get_by_key(self.key(extractor, path, grid), extractor.dim)

    def put(self, extractor: FeatureExtractor, path: str | os.PathLike[str], grid: SegmentGrid,
            features: np.ndarray) -> Path | None:
        return self.put_by_key(self.key(extractor, path, grid), features)

    def get_by_key(self, key: CacheKey, dim: int | None = None) -> np.ndarray | None:
        p = self.entry_path(key)
        if not p.is_file():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                feats = z["features"]
                meta = json.loads(z["meta"].tobytes().decode("utf-8"))
            expected = (key.segments, dim if dim is not None else feats.shape[-1])
            if meta.get("extractor_id") != key.extractor_id or meta.get("content") != key.content:
                raise ValueError("entry belongs to another extractor or file")
            if feats.ndim != 2 or feats.shape != expected or not np.isfinite(feats).all():
                raise ValueError(f"shape {feats.shape} / values do not match {expected}")
        except Exception as e:  # noqa: BLE001 - any damage is a miss, never a crash
            log.warning("feature cache entry %s is unusable (%s); recomputing", p.name, e)
            _unlink(p)
            return None
        return feats.astype(np.float32)

    def put_by_key(self, key: CacheKey, features: np.ndarray) -> Path | None:
        """Store ``features`` atomically; returns the entry path (None if not storable)."""
        feats = np.asarray(features)
        if feats.ndim != 2 or feats.shape[0] != key.segments or not np.isfinite(feats).all():
            log.warning("not caching features of shape %s for %d segments (or non-finite)",
                        feats.shape, key.segments)
            return None
        stored = feats.astype(np.float16) if np.abs(feats).max(initial=0.0) <= _F16_MAX else feats.astype(np.float32)
        meta = {"extractor_id": key.extractor_id, "content": key.content, "version": FORMAT_VERSION,
                "key": asdict(key), "created": time.time()}
        target = self.entry_path(key)
        # a cache entry is worth no fsync: losing it in a power cut only costs time
        with atomic_path(target, suffix=".npz", fsync=False) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, features=stored, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        return target

    def clear(self, extractor_id: str | None = None) -> int:
        """Delete entries (of one extractor, or all); returns how many files were removed."""
        base = self.root / _slug(extractor_id) if extractor_id is not None else self.root
        n = 0
        for p in base.rglob("*.npz") if base.is_dir() else ():
            n += _unlink(p)
        return n


def cached_extract(extractor: FeatureExtractor, path: str | os.PathLike[str], grid: SegmentGrid,
                   cache: FeatureCache | None = None, cancel: CancelCheck | None = None) -> Job[np.ndarray]:
    """Job: features from the cache, or extracted and stored. Result: float32 ``[T, dim]``.

    The content key is taken before and after extraction; if the file changed meanwhile the
    result is returned but not stored (it may describe neither version).
    """
    cache = cache if cache is not None else FeatureCache()
    yield Progress("cache", 0, None, f"looking up {Path(path).name}")
    key = CacheKey.make(extractor, content_key(path), grid)
    hit = cache.get_by_key(key, extractor.dim)
    if hit is not None:
        yield Progress("cache", 1, 1, "cached")
        return hit
    feats = yield from extractor.extract(path, grid, cancel=cancel)
    feats = np.asarray(feats, dtype=np.float32)
    if content_key(path) == key.content:
        cache.put_by_key(key, feats)
    else:
        log.warning("%s changed while it was analysed; its features were not cached", path)
    return feats


def _unlink(p: Path) -> int:
    try:
        p.unlink()
        return 1
    except OSError:
        return 0
