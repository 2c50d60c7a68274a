"""Feature datasets: the interchange format, and fast reading for training.

Interchange format (what ``mvpt dataset build`` and ``mvpt dataset synth`` write)::

    DIR/manifest.json   {"format": "mvpt-features", "version": 1, "segment_seconds": 6.7,
                         "splits": {"train": [ids], "val": [ids], "test": [ids]},
                         "extractors": {"visual": {"id": ..., "dim": ...},   # optional
                                        "music":  {"id": ..., "dim": ...}}}
    DIR/items/<id>.npz  visual: float[T, Dv]   music: float[T, Dm]   (T >= 1, the same T)
                        optional extra arrays (tags, genre, ...) are ignored by training

For training, the items of a dataset are copied once into two contiguous float32 ``.npy``
shards (all segments of all items back to back) plus an index, under
``DIR/.mvpt-cache/<key>/``, and memory-mapped from then on: one open file per modality
instead of thousands of zip archives, and nothing held in RAM that the OS cannot page out.
The key hashes the manifest and every item's size and mtime, so editing the dataset
rebuilds the cache. If DIR is read-only the shards go to ``$MVPT_CACHE`` or the system's
temporary folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "mvpt-features"
VERSION = 1
SPLITS = ("train", "val", "test")


class DatasetError(Exception):
    """A feature dataset is missing, malformed or inconsistent; the message names the file."""


def read_manifest(root: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(root) / "manifest.json"
    try:
        m = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise DatasetError(f"{path}: not found; is {root} a feature dataset (mvpt dataset build/synth)?") from e
    except (OSError, ValueError) as e:
        raise DatasetError(f"{path}: unreadable manifest ({e})") from e
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise DatasetError(f"{path}: format must be {FORMAT!r}")
    if m.get("version") != VERSION:
        raise DatasetError(f"{path}: version {m.get('version')!r} not supported (expected {VERSION})")
    if not isinstance(m.get("segment_seconds"), (int, float)) or m["segment_seconds"] <= 0:
        raise DatasetError(f"{path}: segment_seconds must be a positive number")
    splits = m.get("splits")
    if not isinstance(splits, dict) or not all(isinstance(splits.get(s, []), list) for s in SPLITS):
        raise DatasetError(f"{path}: splits must map train/val/test to lists of ids")
    return m


def manifest_sha256(root: str | os.PathLike[str]) -> str:
    return hashlib.sha256((Path(root) / "manifest.json").read_bytes()).hexdigest()


def extractor_info(manifest: dict[str, Any], visual_dim: int, music_dim: int) -> dict[str, dict[str, Any]]:
    """The base-feature ids and dims a model trained on this dataset depends on."""
    ex = manifest.get("extractors") or {}
    out = {}
    for mod, dim in (("visual", visual_dim), ("music", music_dim)):
        info = ex.get(mod) or {}
        out[mod] = {"id": str(info.get("id", f"unknown:{mod}")), "dim": int(dim)}
    return out


def load_item(root: str | os.PathLike[str], item_id: str) -> tuple[np.ndarray, np.ndarray]:
    """One item's ``(visual [T, Dv], music [T, Dm])`` as float32, validated."""
    path = Path(root) / "items" / f"{item_id}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            v, m = np.asarray(z["visual"], dtype=np.float32), np.asarray(z["music"], dtype=np.float32)
    except FileNotFoundError as e:
        raise DatasetError(f"{path}: listed in the manifest but missing") from e
    except (OSError, ValueError, KeyError) as e:
        raise DatasetError(f"{path}: unreadable item ({e})") from e
    if v.ndim != 2 or m.ndim != 2 or v.shape[0] < 1 or v.shape[0] != m.shape[0]:
        raise DatasetError(f"{path}: visual {v.shape} and music {m.shape} must be [T, D] with the same T >= 1")
    if not (np.isfinite(v).all() and np.isfinite(m).all()):
        raise DatasetError(f"{path}: contains NaN or infinite values")
    return v, m


@dataclass
class FeatureStore:
    """All items of a dataset, memory-mapped: rows ``offsets[i] : offsets[i] + lengths[i]``."""

    root: Path
    manifest: dict[str, Any]
    ids: list[str]
    offsets: np.ndarray    # (n_items,) int64
    lengths: np.ndarray    # (n_items,) int64
    visual: np.ndarray     # (total_segments, Dv) float32 memmap
    music: np.ndarray      # (total_segments, Dm) float32 memmap

    @property
    def visual_dim(self) -> int:
        return int(self.visual.shape[1])

    @property
    def music_dim(self) -> int:
        return int(self.music.shape[1])

    @property
    def segment_seconds(self) -> float:
        return float(self.manifest["segment_seconds"])

    def split(self, name: str) -> Split:
        if name not in SPLITS:
            raise DatasetError(f"unknown split {name!r} (expected one of {SPLITS})")
        index = {i: k for k, i in enumerate(self.ids)}
        rows = np.array([index[i] for i in self.manifest["splits"].get(name, [])], dtype=np.int64)
        return Split(self, name, rows)


@dataclass
class Split:
    store: FeatureStore
    name: str
    rows: np.ndarray       # indices into store.ids

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def ids(self) -> list[str]:
        return [self.store.ids[r] for r in self.rows]

    def lengths(self) -> np.ndarray:
        return self.store.lengths[self.rows]

    def item(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        r = self.rows[k]
        a, n = self.store.offsets[r], self.store.lengths[r]
        return self.store.visual[a:a + n], self.store.music[a:a + n]

    def crop_batch(self, ks: np.ndarray, L: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A training batch: one random crop of at most L segments per item, zero-padded.
        Returns visual (B, L, Dv), music (B, L, Dm), mask (B, L) bool."""
        B = len(ks)
        v = np.zeros((B, L, self.store.visual_dim), dtype=np.float32)
        m = np.zeros((B, L, self.store.music_dim), dtype=np.float32)
        mask = np.zeros((B, L), dtype=bool)
        for j, k in enumerate(ks):
            r = self.rows[k]
            a, n = int(self.store.offsets[r]), int(self.store.lengths[r])
            s = int(rng.integers(0, n - L + 1)) if n > L else 0
            c = min(n, L)
            v[j, :c] = self.store.visual[a + s:a + s + c]
            m[j, :c] = self.store.music[a + s:a + s + c]
            mask[j, :c] = True
        return v, m, mask


def _cache_key(root: Path, manifest_bytes: bytes, ids: list[str]) -> str:
    h = hashlib.sha256(manifest_bytes)
    for i in ids:
        st = (root / "items" / f"{i}.npz").stat()
        h.update(f"{i}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:20]


def _cache_dirs(root: Path, key: str) -> list[Path]:
    dirs = [root / ".mvpt-cache" / key]
    if os.environ.get("MVPT_CACHE"):
        dirs.append(Path(os.environ["MVPT_CACHE"]) / key)
    dirs.append(Path(tempfile.gettempdir()) / "mvpt-cache" / key)
    return dirs


def _build_shards(root: Path, ids: list[str], target: Path) -> None:
    lengths, dims = [], None
    for i in ids:  # first pass: shapes only (np.load of an npz reads headers lazily)
        with np.load(root / "items" / f"{i}.npz", allow_pickle=False) as z:
            if "visual" not in z or "music" not in z:
                raise DatasetError(f"{root / 'items' / (i + '.npz')}: needs 'visual' and 'music' arrays")
            vs, ms = z["visual"].shape, z["music"].shape
        if len(vs) != 2 or len(ms) != 2 or vs[0] != ms[0] or vs[0] < 1:
            raise DatasetError(f"{root / 'items' / (i + '.npz')}: visual {vs} / music {ms} must be [T, D], same T >= 1")
        if dims is None:
            dims = (vs[1], ms[1])
        elif dims != (vs[1], ms[1]):
            raise DatasetError(f"{root / 'items' / (i + '.npz')}: feature dims {(vs[1], ms[1])} differ from "
                               f"the other items' {dims}")
        lengths.append(vs[0])
    if dims is None:
        raise DatasetError(f"{root}: the manifest lists no items")
    total = int(sum(lengths))
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    vis = np.lib.format.open_memmap(tmp / "visual.npy", "w+", np.float32, (total, dims[0]))
    mus = np.lib.format.open_memmap(tmp / "music.npy", "w+", np.float32, (total, dims[1]))
    a = 0
    for i, n in zip(ids, lengths, strict=True):
        v, m = load_item(root, i)
        vis[a:a + n], mus[a:a + n] = v, m
        a += n
    vis.flush(), mus.flush()
    del vis, mus
    (tmp / "index.json").write_text(json.dumps({"ids": ids, "lengths": [int(n) for n in lengths]}))
    try:
        os.rename(tmp, target)
    except OSError:
        if not (target / "index.json").exists():
            raise
        shutil.rmtree(tmp, ignore_errors=True)  # another process (a DDP rank) won the race: fine


def open_store(root: str | os.PathLike[str]) -> FeatureStore:
    """Open a feature dataset for training/evaluation (builds the memory-mapped shards once)."""
    root = Path(root)
    manifest = read_manifest(root)
    seen: set[str] = set()
    ids: list[str] = []
    for s in SPLITS:
        for i in manifest["splits"].get(s, []):
            if not isinstance(i, str) or "/" in i or i in seen:
                raise DatasetError(f"{root / 'manifest.json'}: bad or duplicate id {i!r}")
            seen.add(i)
            ids.append(i)
    for i in ids:
        if not (root / "items" / f"{i}.npz").exists():
            raise DatasetError(f"{root / 'items' / (i + '.npz')}: listed in the manifest but missing")
    key = _cache_key(root, (root / "manifest.json").read_bytes(), ids)
    last_error: Exception | None = None
    for d in _cache_dirs(root, key):
        try:
            if not (d / "index.json").exists():
                d.parent.mkdir(parents=True, exist_ok=True)
                _build_shards(root, ids, d)
            index = json.loads((d / "index.json").read_text())
            lengths = np.asarray(index["lengths"], dtype=np.int64)
            offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
            return FeatureStore(root, manifest, list(index["ids"]), offsets, lengths,
                                np.load(d / "visual.npy", mmap_mode="r"), np.load(d / "music.npy", mmap_mode="r"))
        except DatasetError:
            raise
        except OSError as e:  # read-only dataset folder: try the next cache location
            last_error = e
    raise DatasetError(f"{root}: cannot write a feature cache anywhere ({last_error})")
