"""The feature cache: keys by content and extractor, atomic writes, damage is a miss."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

import numpy as np
import pytest
from features_support import FakeExtractor

from engine.features.cache import CacheKey, FeatureCache, cached_extract, content_key
from engine.jobs import run
from engine.media.grid import SegmentGrid


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("MVPT_DATA_DIR", str(d))
    return d


@pytest.fixture
def big_file(tmp_path) -> Path:
    """5 MB of noise: larger than the whole-file threshold, so blocks are sampled."""
    p = tmp_path / "footage.bin"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 5_000_000, dtype=np.uint8).tobytes())
    return p


GRID = SegmentGrid(40.0, 6.7)


def test_default_cache_lives_in_the_isolated_data_dir(data_dir, big_file):
    cache = FeatureCache()
    assert cache.root == data_dir / "features"
    path = cache.put(FakeExtractor(), big_file, GRID, np.ones((len(GRID), 6), np.float32))
    assert path is not None and data_dir in path.parents


def test_content_key_samples_blocks_and_ignores_name(big_file, tmp_path):
    key = content_key(big_file)
    assert key.startswith(f"{5_000_000:x}-")
    copy = tmp_path / "renamed.mov"
    copy.write_bytes(big_file.read_bytes())
    assert content_key(copy) == key
    data = bytearray(big_file.read_bytes())
    data[10] ^= 0xFF  # first block: always sampled; same size
    copy.write_bytes(bytes(data))
    assert content_key(copy) != key
    small = tmp_path / "small.bin"
    small.write_bytes(b"abc")
    small2 = tmp_path / "small2.bin"
    small2.write_bytes(b"abd")
    assert content_key(small) != content_key(small2)  # small files are hashed whole


def test_miss_then_hit_and_float16_round_trip(data_dir, big_file):
    cache, ex = FeatureCache(), FakeExtractor(scale=3.0)
    assert cache.get(ex, big_file, GRID) is None
    feats = run(ex.extract(big_file, GRID))
    path = cache.put(ex, big_file, GRID, feats)
    with np.load(path) as z:
        assert z["features"].dtype == np.float16
    got = cache.get(ex, big_file, GRID)
    assert got.dtype == np.float32 and got.shape == (len(GRID), ex.dim)
    np.testing.assert_allclose(got, feats, rtol=1e-3, atol=1e-3)
    assert not np.array_equal(got, np.zeros_like(got))


def test_values_beyond_float16_are_kept_in_float32(data_dir, big_file):
    cache, ex = FeatureCache(), FakeExtractor()
    feats = np.full((len(GRID), ex.dim), 1e6, np.float32)
    cache.put(ex, big_file, GRID, feats)
    np.testing.assert_array_equal(cache.get(ex, big_file, GRID), feats)


def test_changed_extractor_id_never_returns_stale_features(data_dir, big_file):
    cache = FeatureCache()
    old, new = FakeExtractor("fake:v1"), FakeExtractor("fake:v2", scale=2.0)
    cache.put(old, big_file, GRID, run(old.extract(big_file, GRID)))
    assert cache.get(new, big_file, GRID) is None
    # Even an entry planted at the new key's path is refused: the id inside must match.
    key_new = cache.key(new, big_file, GRID)
    old_entry = cache.entry_path(cache.key(old, big_file, GRID))
    target = cache.entry_path(key_new)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(old_entry.read_bytes())
    assert cache.get(new, big_file, GRID) is None
    assert not target.exists()


def test_grid_and_frames_per_segment_are_part_of_the_key(data_dir, big_file):
    cache, ex = FeatureCache(), FakeExtractor()
    cache.put(ex, big_file, GRID, run(ex.extract(big_file, GRID)))
    assert cache.get(ex, big_file, SegmentGrid(40.0, 5.0)) is None
    ex.frames_per_segment = 4
    assert cache.get(ex, big_file, GRID) is None


def test_changed_file_same_size_misses(data_dir, big_file):
    cache, ex = FeatureCache(), FakeExtractor()
    cache.put(ex, big_file, GRID, run(ex.extract(big_file, GRID)))
    data = bytearray(big_file.read_bytes())
    data[-5] ^= 0x55  # last block: always sampled
    big_file.write_bytes(bytes(data))
    assert cache.get(ex, big_file, GRID) is None


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_entry_is_a_miss_and_is_replaced(data_dir, big_file, damage):
    cache, ex = FeatureCache(), FakeExtractor()
    path = cache.put(ex, big_file, GRID, run(ex.extract(big_file, GRID)))
    raw = path.read_bytes()
    path.write_bytes({"truncate": raw[: len(raw) // 2], "garbage": os.urandom(len(raw)), "empty": b""}[damage])
    assert cache.get(ex, big_file, GRID) is None
    feats = run(cached_extract(ex, big_file, GRID, cache))  # recomputed and stored again
    assert ex.calls == 2
    np.testing.assert_allclose(cache.get(ex, big_file, GRID), feats, atol=1e-3)


def test_cached_extract_computes_once(data_dir, big_file):
    cache, ex = FeatureCache(), FakeExtractor()
    first = run(cached_extract(ex, big_file, GRID, cache))
    second = run(cached_extract(ex, big_file, GRID, cache))
    assert ex.calls == 1
    np.testing.assert_allclose(first, second, atol=1e-3)


def test_wrong_shape_or_nan_is_not_stored(data_dir, big_file):
    cache, ex = FeatureCache(), FakeExtractor()
    assert cache.put(ex, big_file, GRID, np.zeros((len(GRID) + 1, ex.dim))) is None
    bad = np.zeros((len(GRID), ex.dim))
    bad[0, 0] = np.nan
    assert cache.put(ex, big_file, GRID, bad) is None
    assert cache.get(ex, big_file, GRID) is None


def _writer(root: str, path: str, value: float, n: int) -> None:
    cache, ex = FeatureCache(root), FakeExtractor()
    key = cache.key(ex, path, GRID)
    for _ in range(n):
        cache.put_by_key(key, np.full((len(GRID), ex.dim), value, np.float32))


def test_concurrent_writers_leave_one_valid_entry(tmp_path, big_file):
    root = tmp_path / "cache"
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    procs = [ctx.Process(target=_writer, args=(str(root), str(big_file), float(v), 40)) for v in (1, 2, 3)]
    for p in procs:
        p.start()
    cache, ex = FeatureCache(root), FakeExtractor()
    seen = set()
    while any(p.is_alive() for p in procs):  # readers never see half a file
        got = cache.get(ex, big_file, GRID)
        if got is not None:
            assert np.unique(got).size == 1
            seen.add(float(got[0, 0]))
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    final = cache.get(ex, big_file, GRID)
    assert final is not None and float(final[0, 0]) in (1.0, 2.0, 3.0) and np.unique(final).size == 1
    leftovers = [p.name for p in root.rglob("*") if p.is_file() and p.suffix == ".npz" and p.name.startswith(".tmp")]
    assert leftovers == []
    assert seen <= {1.0, 2.0, 3.0}


def test_clear_by_extractor(data_dir, big_file):
    cache = FeatureCache()
    a, b = FakeExtractor("a"), FakeExtractor("b")
    cache.put(a, big_file, GRID, run(a.extract(big_file, GRID)))
    cache.put(b, big_file, GRID, run(b.extract(big_file, GRID)))
    assert cache.clear("a") == 1
    assert cache.get(a, big_file, GRID) is None and cache.get(b, big_file, GRID) is not None


def test_key_digest_is_stable_and_distinct():
    k1 = CacheKey("x", "c", 6.7, 0.5, 40.0, 8, 6)
    assert k1.digest == CacheKey("x", "c", 6.7, 0.5, 40.0, 8, 6).digest
    assert k1.digest != CacheKey("x", "c", 6.7, 0.5, 40.0, None, 6).digest
