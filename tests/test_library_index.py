"""The vector index against a brute-force reference, its file format, and rebuilding from the
catalog whenever the file cannot be trusted."""

from __future__ import annotations

import os

import faiss
import numpy as np
import pytest
from library_support import clustered

from engine.library.catalog import Catalog
from engine.library.index import IndexCorrupt, VectorIndex, index_file_name, load_or_rebuild
from engine.library.records import ProcessedFile, pack_ids


def brute_force(x: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    sims = qn.astype(np.float64) @ xn.T.astype(np.float64)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, axis=1), order


def test_flat_search_equals_brute_force():
    rng = np.random.default_rng(1)
    x = clustered(3000, 48, seed=1) * rng.uniform(0.5, 2.0, (3000, 1)).astype(np.float32)  # not unit: normalised
    ids = rng.permutation(10_000)[:3000].astype(np.int64) * 7
    q = clustered(64, 48, seed=2)
    vi = VectorIndex().build(x, ids)
    assert vi.index_type == "flat"
    scores, got = vi.search(q, 10)
    ref_scores, ref_pos = brute_force(x, q, 10)
    np.testing.assert_allclose(scores, ref_scores, atol=1e-5)
    # ids equal the reference wherever the reference has no near-tie at that rank
    margin = np.abs(np.diff(ref_scores, axis=1)).min(axis=1) > 1e-5
    assert margin.sum() > 40
    np.testing.assert_array_equal(got[margin], ids[ref_pos[margin]])
    # one query alone gives the same answer as inside a batch
    s1, i1 = vi.search(q[5], 10)
    np.testing.assert_array_equal(i1[0], got[5])
    np.testing.assert_allclose(s1[0], scores[5], atol=1e-6)


def test_more_results_than_vectors_and_empty_index():
    vi = VectorIndex().build(clustered(3, 8), np.array([10, 11, 12]))
    scores, ids = vi.search(clustered(2, 8, seed=3), 5)
    assert (ids[:, 3:] == -1).all() and np.isneginf(scores[:, 3:]).all()
    assert set(ids[0, :3]) == {10, 11, 12}
    empty = VectorIndex().build(np.zeros((0, 8), np.float32), np.zeros(0, np.int64))
    s, i = empty.search(np.ones((1, 8)), 3)
    assert (i == -1).all()
    with pytest.raises(ValueError):
        vi.search(np.ones((1, 9)), 3)


@pytest.mark.parametrize("index_type", ["ivf-sq8", "hnsw"])
def test_approximate_indexes_recall_against_exact(index_type):
    x = clustered(20_000, 64, centres=200, seed=4)
    q = clustered(200, 64, centres=200, seed=4, point_seed=40)  # new points from the same mixture
    ids = np.arange(len(x), dtype=np.int64)
    exact = VectorIndex("flat").build(x, ids)
    approx = VectorIndex(index_type, nlist=128, nprobe=16).build(x, ids)
    assert approx.index_type == index_type
    _, e = exact.search(q, 10)
    _, a = approx.search(q, 10)
    recall = np.mean([len(set(e[i]) & set(a[i])) / 10 for i in range(len(q))])
    assert recall >= 0.9, recall


def test_auto_switches_to_ivf_above_the_threshold():
    x = clustered(5000, 32, seed=5)
    vi = VectorIndex("auto", exact_threshold=4000).build(x, np.arange(5000))
    assert vi.index_type == "ivf-sq8"
    assert VectorIndex("auto", exact_threshold=5000).build(x, np.arange(5000)).index_type == "flat"


def test_save_load_round_trip_is_atomic(tmp_path):
    x = clustered(4000, 32, seed=6)
    for kind in ("flat", "ivf-sq8", "hnsw"):
        vi = VectorIndex(kind, nlist=64).build(x, np.arange(4000) * 3)
        path = tmp_path / f"{kind}.mvptidx"
        checksum = vi.save(path)
        back = VectorIndex.load(path)
        assert (back.index_type, back.dim, len(back), back.checksum) == (kind, 32, 4000, checksum)
        q = x[:20]
        np.testing.assert_array_equal(back.search(q, 5)[1], vi.search(q, 5)[1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flat.mvptidx", "hnsw.mvptidx", "ivf-sq8.mvptidx"]


# --- rebuilding from the catalog ------------------------------------------------------------

@pytest.fixture
def library(tmp_path):
    """A catalog with 30 music items and their vectors under checkpoint "ck"."""
    cat = Catalog(tmp_path / "catalog.sqlite")
    folder = cat.add_folder(tmp_path / "music", "music")
    vecs = clustered(30 * 5, 16, seed=7).reshape(30, 5, 16)
    rows = []
    for i in range(30):
        f = ProcessedFile(str(tmp_path / "music" / f"{i}.flac"), 1, 1, f"h{i}", 33.5, None, None,
                          [(6.7 * j, 6.7 * (j + 1)) for j in range(5)], {"x:v1": np.zeros((5, 2), np.float32)})
        item_id = cat.record_ok(folder.id, "music", f, "x:v1", 6.7)
        rows.append((item_id, cat.item(item_id).processed_at, vecs[i], vecs[i].mean(0)))
    cat.put_embeddings("ck", "music", rows)
    yield cat, tmp_path / "index"
    cat.close()


def _search_ok(vi: VectorIndex, cat: Catalog) -> None:
    emb = cat.embeddings("ck", "music", "segment")
    _, ids = vi.search(emb.vectors, 1)
    np.testing.assert_array_equal(ids[:, 0], emb.ids)  # every vector finds itself


def test_load_or_rebuild_builds_once_then_loads(library):
    cat, d = library
    vi = load_or_rebuild(cat, "ck", "music", "segment", d)
    assert vi.rebuilt_reason == "no index recorded yet" and len(vi) == 150
    rec = cat.index_record("ck", "music", "segment")
    assert (rec.count, rec.dim, rec.checksum) == (150, 16, vi.checksum)
    again = load_or_rebuild(cat, "ck", "music", "segment", d)
    assert again.rebuilt_reason is None
    _search_ok(again, cat)
    track = load_or_rebuild(cat, "ck", "music", "track", d)
    assert len(track) == 30 and list(track.ids) == list(pack_ids(cat.embeddings("ck", "music", "track").item_ids, 0))


def _corrupt_and_reload(cat, d, damage) -> VectorIndex:
    load_or_rebuild(cat, "ck", "music", "segment", d)
    path = d / index_file_name("ck", "music", "segment")
    damage(path)
    with pytest.raises(IndexCorrupt):
        VectorIndex.load(path)
    vi = load_or_rebuild(cat, "ck", "music", "segment", d)
    assert vi.rebuilt_reason is not None
    _search_ok(vi, cat)
    assert load_or_rebuild(cat, "ck", "music", "segment", d).rebuilt_reason is None  # the new file is trusted
    return vi


def _flip(path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


def test_header_corruption_is_detected_and_rebuilt(library):
    cat, d = library
    vi = _corrupt_and_reload(cat, d, lambda p: _flip(p, 20))  # inside the JSON header
    assert "damaged" in vi.rebuilt_reason or "checksum" in vi.rebuilt_reason


def test_faiss_header_corruption_faiss_accepts_is_still_caught(library):
    """Flip a byte of the faiss index header that faiss itself loads without complaint."""
    cat, d = library
    load_or_rebuild(cat, "ck", "music", "segment", d)
    path = d / index_file_name("ck", "music", "segment")
    data = path.read_bytes()
    faiss_start = data.index(b"IxFI")  # IndexFlatIP's fourcc
    bad = bytearray(data[faiss_start:])
    bad[4 + 4 + 8 + 8] ^= 0x01  # a reserved field after fourcc, d, ntotal
    faiss.deserialize_index(np.frombuffer(bytes(bad), dtype=np.uint8).copy())  # faiss is fine with it
    vi = _corrupt_and_reload(cat, d, lambda p: _flip(p, faiss_start + 4 + 4 + 8 + 8))
    assert "checksum" in vi.rebuilt_reason


def test_truncated_file_is_rebuilt(library):
    cat, d = library

    def truncate(p):
        with open(p, "r+b") as f:
            f.truncate(os.path.getsize(p) // 2)

    vi = _corrupt_and_reload(cat, d, truncate)
    assert "checksum" in vi.rebuilt_reason or "truncated" in vi.rebuilt_reason


def test_a_valid_file_that_is_not_the_recorded_one_is_rebuilt(library):
    cat, d = library
    load_or_rebuild(cat, "ck", "music", "segment", d)
    path = d / index_file_name("ck", "music", "segment")
    VectorIndex().build(clustered(150, 16, seed=99), np.arange(150)).save(path)  # self-consistent, wrong
    vi = load_or_rebuild(cat, "ck", "music", "segment", d)
    assert "does not match the catalog" in vi.rebuilt_reason
    _search_ok(vi, cat)


def test_new_vectors_make_the_index_stale(library):
    cat, d = library
    load_or_rebuild(cat, "ck", "music", "segment", d)
    item = cat.items("music")[0]
    cat.remove_items([item.id])
    vi = load_or_rebuild(cat, "ck", "music", "segment", d)
    assert "changed" in vi.rebuilt_reason and len(vi) == 145
    (d / index_file_name("ck", "music", "segment")).unlink()
    assert load_or_rebuild(cat, "ck", "music", "segment", d).rebuilt_reason == "the index file is missing"
