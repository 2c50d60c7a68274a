"""The catalog on real SQLite files: schema versions, folders, items, features, vectors, attributes."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from engine.library.catalog import Catalog
from engine.library.records import ProcessedFile, Tags, pack_ids, unpack_ids
from engine.library.schema import SCHEMA_VERSION, CatalogError

EXT = "test-extractor:v1"


def _file(path: str, rows: int = 3, dim: int = 8, seed: int = 0, mtime: int = 1, tags: bool = False) -> ProcessedFile:
    rng = np.random.default_rng(seed)
    feats = rng.standard_normal((rows, dim)).astype(np.float32)
    t = Tags(EXT, ["rock", "calm"], rng.random((rows, 2)).astype(np.float32)) if tags else None
    return ProcessedFile(path=path, size=100 + seed, mtime_ns=mtime, content_hash=f"h{seed}-{mtime}",
                         duration=6.7 * rows, title=f"T{seed}", artist="A",
                         segments=[(6.7 * i, 6.7 * (i + 1)) for i in range(rows)], features={EXT: feats}, tags=t)


@pytest.fixture
def cat(tmp_path):
    with Catalog(tmp_path / "lib" / "catalog.sqlite") as c:
        yield c


def test_new_catalog_is_wal_at_current_schema_and_reopens(tmp_path):
    path = tmp_path / "c.sqlite"
    with Catalog(path) as c:
        c.add_folder(tmp_path, "music")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    with Catalog(path) as c:  # reopening migrates nothing and keeps the data
        assert [f.path for f in c.folders()] == [str(tmp_path.resolve())]


def test_catalog_from_a_newer_build_is_refused(tmp_path):
    path = tmp_path / "c.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(CatalogError, match="newer"):
        Catalog(path)


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError, match="cannot be opened"):
        Catalog(path)


def test_folders_are_idempotent_and_do_not_overlap(cat, tmp_path):
    a = cat.add_folder(tmp_path / "music", "music")
    assert cat.add_folder(tmp_path / "music", "music") == a
    with pytest.raises(ValueError, match="already"):
        cat.add_folder(tmp_path / "music", "footage")
    with pytest.raises(ValueError, match="overlaps"):
        cat.add_folder(tmp_path / "music" / "sub", "music")
    with pytest.raises(ValueError, match="overlaps"):
        cat.add_folder(tmp_path, "footage")
    with pytest.raises(ValueError):
        cat.add_folder(tmp_path / "x", "podcasts")
    cat.add_folder(tmp_path / "videos", "footage")
    assert [f.kind for f in cat.folders()] == ["music", "footage"]
    assert [f.path for f in cat.folders("footage")] == [str((tmp_path / "videos").resolve())]


def test_items_segments_features_tags_round_trip(cat, tmp_path):
    folder = cat.add_folder(tmp_path, "music")
    f = _file(str(tmp_path / "a.flac"), rows=4, tags=True)
    item_id = cat.record_ok(folder.id, "music", f, EXT, 6.7)
    cat.record_failure(folder.id, "music", str(tmp_path / "bad.mp3"), 10, 1, "the file is empty", EXT, 6.7)
    it = cat.item(item_id)
    assert (it.status, it.title, it.artist, it.duration, it.process_count) == ("ok", "T0", "A", pytest.approx(26.8), 1)
    assert cat.item_by_path(tmp_path / "a.flac").id == item_id
    assert [(s.index, s.start) for s in cat.segments(item_id)] == [(i, pytest.approx(6.7 * i)) for i in range(4)]
    got = cat.base_features(item_id, EXT)
    assert got.dtype == np.float32 and got.shape == (4, 8)
    np.testing.assert_allclose(got, f.features[EXT], rtol=2e-3, atol=2e-3)  # stored as float16
    assert cat.base_features(item_id, "other:v1") is None
    tags = cat.tags(item_id)
    assert tags.names == ["rock", "calm"] and tags.values.shape == (4, 2)
    assert tags.top(1)[0][0] == ["rock", "calm"][int(np.argmax(f.tags.values.mean(0)))]
    assert cat.status_counts("music") == {"ok": 1, "failed": 1}
    assert cat.status_counts("footage") == {"ok": 0, "failed": 0}
    assert cat.failures("music") == [(str(tmp_path / "bad.mp3"), "the file is empty")]
    assert [i.path for i in cat.items("music", status="ok")] == [f.path]
    assert cat.verify() == []


def test_features_that_do_not_fit_float16_are_stored_exactly(cat, tmp_path):
    folder = cat.add_folder(tmp_path, "music")
    f = _file(str(tmp_path / "a.flac"))
    f.features[EXT][0, 0] = 1e6
    item_id = cat.record_ok(folder.id, "music", f, EXT, 6.7)
    assert cat.base_features(item_id, EXT)[0, 0] == 1e6


def test_reprocessing_keeps_the_id_and_drops_stale_vectors(cat, tmp_path):
    folder = cat.add_folder(tmp_path, "music")
    item_id = cat.record_ok(folder.id, "music", _file(str(tmp_path / "a.flac")), EXT, 6.7)
    t0 = cat.item(item_id).processed_at
    cat.put_embeddings("ck", "music", [(item_id, t0, np.ones((3, 4)), np.ones(4))])
    assert cat.item_embeddings(item_id, "ck") is not None
    stale = [(item_id, t0, np.ones((3, 4)), np.ones(4))]
    again = cat.record_ok(folder.id, "music", _file(str(tmp_path / "a.flac"), rows=2, seed=1, mtime=2), EXT, 6.7)
    assert again == item_id
    it = cat.item(item_id)
    assert it.process_count == 2 and it.mtime_ns == 2 and len(cat.segments(item_id)) == 2
    assert cat.item_embeddings(item_id, "ck") is None  # vectors of the old version are gone
    assert cat.put_embeddings("ck", "music", stale) == 0  # and late vectors for it are refused
    cat.record_failure(folder.id, "music", str(tmp_path / "a.flac"), 5, 3, "now broken", EXT, 6.7)
    assert cat.segments(item_id) == [] and cat.base_features(item_id, EXT) is None
    assert cat.verify() == []


def test_embeddings_generation_and_folder_removal_cascade(cat, tmp_path):
    music = cat.add_folder(tmp_path / "m", "music")
    ids = [cat.record_ok(music.id, "music", _file(str(tmp_path / "m" / f"{i}.flac"), rows=2 + i, seed=i), EXT, 6.7)
           for i in range(3)]
    assert cat.generation("ck", "music") == 0
    rows = [(i, cat.item(i).processed_at, np.eye(4)[: 2 + k] + 0.01, np.arange(4.0) + 1) for k, i in enumerate(ids)]
    assert cat.put_embeddings("ck", "music", rows) == 3
    g1 = cat.generation("ck", "music")
    assert g1 > 0
    seg = cat.embeddings("ck", "music", "segment")
    assert len(seg) == 2 + 3 + 4 and seg.dim == 4 and seg.generation == g1
    np.testing.assert_allclose(np.linalg.norm(seg.vectors, axis=1), 1.0, atol=1e-5)
    items, segs = unpack_ids(seg.ids)
    assert list(items) == [ids[0]] * 2 + [ids[1]] * 3 + [ids[2]] * 4
    assert list(segs) == [0, 1, 0, 1, 2, 0, 1, 2, 3]
    track = cat.embeddings("ck", "music", "track")
    assert len(track) == 3 and list(unpack_ids(track.ids)[0]) == ids
    assert cat.embedding_counts("ck")["music"] == {"items": 3, "segments": 9}
    assert cat.remove_folder(tmp_path / "m") == 3
    assert cat.generation("ck", "music") > g1  # a cascade delete is a change an index must see
    assert len(cat.embeddings("ck", "music")) == 0 and cat.items() == [] and cat.folders() == []
    assert cat.remove_folder(tmp_path / "m") == 0


def test_attributes(cat):
    cat.save_attribute("energetic", "ck", "music", np.arange(4.0), {"examples": 3})
    cat.save_attribute("dark", "ck", "visual", -np.arange(4.0), {})
    cat.save_attribute("dark", "other", "visual", np.ones(2), {})
    got = {a.name: a for a in cat.attributes("ck")}
    assert set(got) == {"energetic", "dark"}
    np.testing.assert_array_equal(got["energetic"].vector, np.arange(4.0))
    assert got["energetic"].meta == {"examples": 3} and got["dark"].modality == "visual"
    assert cat.delete_attribute("dark", "ck") and not cat.delete_attribute("dark", "ck")
    assert [a.name for a in cat.attributes("ck")] == ["energetic"]
    with pytest.raises(ValueError):
        cat.save_attribute("x", "ck", "audio", np.ones(2))


def test_ids_pack_item_and_segment():
    ids = pack_ids(np.array([1, 7, 123456]), np.array([0, 5, 999]))
    items, segs = unpack_ids(np.append(ids, -1))
    assert list(items) == [1, 7, 123456, -1] and list(segs) == [0, 5, 999, -1]
