"""The vector index: faiss over unit vectors (inner product = cosine), with its ids, as one file.

Which faiss index (measured in ``bench/library.py`` and ``../shared/STACK-NOTES.md``):

``flat``     exact ``IndexFlatIP``, up to :data:`EXACT_THRESHOLD` vectors (10 ms a query at
             100 k on 2 cores; a library of 2,000 tracks is ~70 k segments).
``ivf-sq8``  above it: ``IndexIVFScalarQuantizer`` (8-bit), ``nlist ≈ sqrt(n)``, ``nprobe`` 32.
             Chosen over HNSW for the default: at 1 M vectors it builds in seconds instead
             of minutes (a library rebuild must not stall the app), takes a quarter of the
             memory (~d+8 bytes a vector), and its recall@10 on clustered embeddings is as
             good. ``hnsw`` (``IndexHNSWFlat``, M=32) can be asked for explicitly.

File (``*.mvptidx``), written to a temporary file, fsynced and renamed into place, so a write
killed mid-way leaves the previous file or none, never a torn one::

    b"MVPTIDX1" | u32 header length | header JSON | ids (int64 LE, count) | faiss bytes

The header holds dim, count, index type and the SHA-256 of everything after it; the same
checksum is recorded in the catalog. faiss loads many header-corrupted files without
complaint, so :meth:`VectorIndex.load` checks the checksum *before* faiss parses anything,
and :func:`load_or_rebuild` also checks dimension, count, checksum and generation against
the database, rebuilding from the stored embeddings whenever they disagree.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import struct
import time
from pathlib import Path

import numpy as np

from .records import LEVELS, IndexRecord

log = logging.getLogger(__name__)

MAGIC = b"MVPTIDX1"
EXACT_THRESHOLD = 200_000
INDEX_TYPES = ("auto", "flat", "ivf-sq8", "hnsw")
_MAX_HEADER = 1 << 20
_FEW_QUERIES = 20
"""Below this many queries a flat search runs on one thread (see ``_one_thread``)."""


class IndexCorrupt(Exception):
    """An index file is damaged, truncated, or does not match what the catalog recorded."""


def _faiss():
    import faiss  # imported on use: it is large and only the index needs it

    return faiss


def normalize(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class VectorIndex:
    """faiss index + int64 ids, searched by cosine. ``VectorIndex(...).build(vectors, ids)``.

    ``index_type``: ``"auto"`` (flat up to ``exact_threshold`` vectors, IVF-SQ8 above),
    ``"flat"``, ``"ivf-sq8"`` or ``"hnsw"``.
    """

    def __init__(self, index_type: str = "auto", *, exact_threshold: int = EXACT_THRESHOLD,
                 nprobe: int = 32, nlist: int | None = None, hnsw_m: int = 32, ef_search: int = 128) -> None:
        if index_type not in INDEX_TYPES:
            raise ValueError(f"index_type must be one of {INDEX_TYPES}, got {index_type!r}")
        self.requested = index_type
        self.exact_threshold = int(exact_threshold)
        self.nprobe = int(nprobe)
        self.nlist = nlist
        self.hnsw_m = int(hnsw_m)
        self.ef_search = int(ef_search)
        self.index = None
        self.ids = np.zeros(0, np.int64)
        self.dim = 0
        self.index_type = "flat"
        self.checksum = ""
        self.rebuilt_reason: str | None = None
        """Set by :func:`load_or_rebuild` when it had to rebuild (why), None when loaded."""

    # --- build / search ---------------------------------------------------------------------
    def build(self, vectors: np.ndarray, ids: np.ndarray) -> VectorIndex:
        """Index ``vectors [n, d]`` (normalised here) under ``ids [n]``; returns self."""
        faiss = _faiss()
        x = normalize(vectors) if len(vectors) else np.zeros((0, np.asarray(vectors).shape[-1]), np.float32)
        ids = np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))
        if x.ndim != 2 or x.shape[0] != ids.shape[0]:
            raise ValueError(f"vectors {x.shape} and ids {ids.shape} do not match")
        n, d = x.shape
        if d < 1:
            raise ValueError("vectors need a dimension")
        kind = self.requested
        if kind == "auto":
            kind = "flat" if n <= self.exact_threshold else "ivf-sq8"
        if kind == "ivf-sq8" and n < 1000:
            kind = "flat"  # too few vectors to train clusters; exact is fast at this size anyway
        if kind == "flat":
            index = faiss.IndexFlatIP(d)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(d, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = self.ef_search
        else:
            nlist = self.nlist or _default_nlist(n)
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, faiss.ScalarQuantizer.QT_8bit,
                                                  faiss.METRIC_INNER_PRODUCT)
            rng = np.random.default_rng(0)
            sample = x if n <= 64 * nlist else x[np.sort(rng.choice(n, 64 * nlist, replace=False))]
            index.train(sample)
            index.nprobe = min(self.nprobe, nlist)
        if n:
            index.add(x)
        self.index, self.ids, self.dim, self.index_type = index, ids, d, kind
        self.checksum = ""
        return self

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` by cosine for each query: ``(scores [n, k] float32, ids [n, k] int64)``.
        Missing results (fewer than ``k`` vectors) have id ``-1`` and score ``-inf``."""
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or (self.dim and q.shape[1] != self.dim):
            raise ValueError(f"queries must be [n, {self.dim}], got {q.shape}")
        k = int(k)
        if k < 1:
            raise ValueError("k must be at least 1")
        if self.index is None or len(self) == 0:
            return np.full((len(q), k), -np.inf, np.float32), np.full((len(q), k), -1, np.int64)
        if self.index_type == "flat" and len(q) < _FEW_QUERIES:
            scores, pos = _one_thread(self.index.search, normalize(q), k)
        else:
            scores, pos = self.index.search(normalize(q), k)
        ids = np.where(pos >= 0, self.ids[np.clip(pos, 0, None)], -1)
        scores = np.where(pos >= 0, scores, -np.inf).astype(np.float32)
        return scores, ids.astype(np.int64)

    def memory_bytes(self) -> int:
        """Size of the serialised faiss index plus the ids (what it holds in memory)."""
        if self.index is None:
            return 0
        return int(_faiss().serialize_index(self.index).nbytes + self.ids.nbytes)

    # --- files ------------------------------------------------------------------------------
    def _parts(self) -> list:
        """Header, ids and faiss bytes, checksummed without joining them (a 1 M flat index is
        1 GB: one copy of it is enough)."""
        ids = self.ids.astype("<i8").tobytes()
        ser = _faiss().serialize_index(self.index) if self.index is not None else np.zeros(0, np.uint8)
        h = hashlib.sha256(ids)
        h.update(memoryview(ser))
        self.checksum = h.hexdigest()
        header = json.dumps({"dim": self.dim, "count": len(self), "index_type": self.index_type,
                             "nprobe": self.nprobe, "ef_search": self.ef_search,
                             "sha256": self.checksum}).encode()
        return [MAGIC, struct.pack("<I", len(header)), header, ids, memoryview(ser)]

    def to_bytes(self) -> bytes:
        return b"".join(bytes(part) for part in self._parts())

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write atomically (temporary file, fsync, rename, fsync folder); returns the checksum."""
        from engine.atomic import atomic_path

        target = Path(path)
        parts = self._parts()
        with atomic_path(target) as tmp, open(tmp, "wb") as f:
            for part in parts:
                f.write(part)
        _fsync_dir(target.parent)
        return self.checksum

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> VectorIndex:
        """Read a file written by :meth:`save`. Raises :class:`IndexCorrupt` on any damage,
        checked before faiss parses a byte."""
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as e:
            raise IndexCorrupt(f"{p}: cannot be read ({e})") from e
        if len(data) < len(MAGIC) + 4 or data[:len(MAGIC)] != MAGIC:
            raise IndexCorrupt(f"{p}: not an MVPT index file")
        (hlen,) = struct.unpack("<I", data[len(MAGIC):len(MAGIC) + 4])
        start = len(MAGIC) + 4
        if hlen > _MAX_HEADER or start + hlen > len(data):
            raise IndexCorrupt(f"{p}: header is damaged or the file is truncated")
        try:
            header = json.loads(data[start:start + hlen])
            dim, count = int(header["dim"]), int(header["count"])
            index_type, checksum = str(header["index_type"]), str(header["sha256"])
        except (ValueError, KeyError, TypeError) as e:
            raise IndexCorrupt(f"{p}: header is damaged ({e})") from e
        body = memoryview(data)[start + hlen:]
        if hashlib.sha256(body).hexdigest() != checksum:
            raise IndexCorrupt(f"{p}: checksum mismatch (damaged or truncated file)")
        if count < 0 or len(body) < 8 * count or index_type not in INDEX_TYPES:
            raise IndexCorrupt(f"{p}: header does not describe the data")
        self = cls(index_type)
        self.ids = np.frombuffer(body[:8 * count], dtype="<i8").astype(np.int64)
        rest = np.frombuffer(body[8 * count:], dtype=np.uint8)
        self.dim, self.index_type, self.checksum = dim, index_type, checksum
        self.nprobe = int(header.get("nprobe", self.nprobe))
        self.ef_search = int(header.get("ef_search", self.ef_search))
        if rest.size:
            try:
                self.index = _faiss().deserialize_index(rest.copy())
            except RuntimeError as e:
                raise IndexCorrupt(f"{p}: faiss cannot read the index ({e})") from e
            if self.index.d != dim or self.index.ntotal != count:
                raise IndexCorrupt(f"{p}: faiss index holds {self.index.ntotal}×{self.index.d}, "
                                   f"header says {count}×{dim}")
            _apply_search_params(self)
        elif count:
            raise IndexCorrupt(f"{p}: ids without an index")
        return self


def _one_thread(fn, *args):
    """Run a faiss call with one OpenMP thread. faiss splits flat search over *queries*, so a
    single query gains nothing from more threads, and the idle ones spin: measured here,
    one 100 k flat query took 17 ms on one thread and 60 ms on two (on a busy 2-core box)."""
    faiss = _faiss()
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return fn(*args)
    finally:
        faiss.omp_set_num_threads(before)


def _apply_search_params(vi: VectorIndex) -> None:
    faiss = _faiss()
    if vi.index_type == "ivf-sq8":
        faiss.extract_index_ivf(vi.index).nprobe = vi.nprobe
    elif vi.index_type == "hnsw":
        vi.index.hnsw.efSearch = vi.ef_search


def _default_nlist(n: int) -> int:
    """About sqrt(n) clusters, a power of two between 64 and 16384."""
    return int(min(16384, max(64, 2 ** round(math.log2(max(1.0, math.sqrt(n)))))))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open folders; os.replace is atomic there anyway
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def index_file_name(checkpoint_id: str, kind: str, level: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in checkpoint_id)[:48]
    return f"{kind}-{level}-{safe}.mvptidx"


def load_or_rebuild(catalog, checkpoint_id: str, kind: str, level: str,
                    directory: str | os.PathLike[str], **index_options) -> VectorIndex:
    """The index of (checkpoint, kind, level) from ``directory``, trusted only when its file
    matches the catalog's record (checksum, dimension, count) and the record is as new as
    the stored vectors; otherwise rebuilt from the catalog, saved and recorded.

    The returned index has ``rebuilt_reason`` set when it was rebuilt (None when loaded).
    ``index_options`` go to :class:`VectorIndex` for a rebuild.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be 'segment' or 'track', got {level!r}")
    path = Path(directory) / index_file_name(checkpoint_id, kind, level)
    rec = catalog.index_record(checkpoint_id, kind, level)
    reason = _why_not_trusted(rec, path, catalog.generation(checkpoint_id, kind))
    if reason is None:
        try:
            vi = VectorIndex.load(path)
            if (vi.checksum, vi.dim, len(vi)) == (rec.checksum, rec.dim, rec.count):
                return vi
            reason = (f"file does not match the catalog (checksum/dim/count {vi.checksum[:8]}/{vi.dim}/{len(vi)} "
                      f"vs {rec.checksum[:8]}/{rec.dim}/{rec.count})")
        except IndexCorrupt as e:
            reason = str(e)
    # A first build, or new vectors since the last one, is the ordinary path (every embed
    # ends here); a missing, damaged or mismatching file is news.
    stale = rec is None or rec.generation != catalog.generation(checkpoint_id, kind)
    (log.info if stale else log.warning)("rebuilding the %s %s index for %s: %s", kind, level, checkpoint_id, reason)
    emb = catalog.embeddings(checkpoint_id, kind, level)
    vi = VectorIndex(**index_options)
    if emb.dim:
        vi.build(emb.vectors, emb.ids)
    checksum = vi.save(path)
    catalog.save_index_record(IndexRecord(checkpoint_id, kind, level, path.name, vi.index_type, vi.dim, len(vi),
                                          checksum, emb.generation, time.time()))
    vi.rebuilt_reason = reason
    return vi


def _why_not_trusted(rec: IndexRecord | None, path: Path, generation: int) -> str | None:
    if rec is None:
        return "no index recorded yet"
    if rec.generation != generation:
        return f"the stored vectors changed (generation {rec.generation} -> {generation})"
    if rec.file != path.name:
        return "the recorded file name differs"
    if not path.is_file():
        return "the index file is missing"
    return None
