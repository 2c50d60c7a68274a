"""Embedding the library with a (small, random) checkpoint from stored base features, and
re-embedding with another checkpoint after the media files are gone."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from library_support import music_extractor, save_random_checkpoint, visual_extractor, write_songs

from engine.jobs import run
from engine.library import Library, checkpoint_id, unpack_ids
from engine.model.windows import encode_sequence


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    from training.synthmedia import write_video

    root = tmp_path_factory.mktemp("embed")
    music, footage = root / "music", root / "footage"
    write_songs(music, 5, seconds=22.0)  # 3 segments each
    footage.mkdir()
    for i in range(2):
        write_video(footage / f"clip{i}.mp4", 8.0, size=(96, 64), fps=10, gop=10, hue=0.4 * i)
    lib = Library(root / "data")
    run(lib.scan(music, "music", music_extractor_name=music_extractor()[0], workers=2))
    run(lib.scan(footage, "footage", visual_extractor_name=visual_extractor()[0], workers=2))
    yield lib, root
    lib.close()


def test_embed_stores_windowed_vectors_and_builds_indexes(scanned):
    lib, root = scanned
    loaded = save_random_checkpoint(root / "ck1", seed=0, seq_len=2)  # L=2 < 3 segments: windows overlap
    ck = checkpoint_id(loaded)
    events = []
    report = run(lib.embed(loaded, "music"), events.append)
    assert (report.embedded, report.already, report.missing_features) == (5, 0, 0)
    assert report.vectors == {"segment": 15, "track": 5}
    assert any(e.stage == "index" for e in events)

    cat = lib.catalog
    item = cat.items("music", "ok")[0]
    segs, track = cat.item_embeddings(item.id, ck)
    feats = torch.from_numpy(cat.base_features(item.id, music_extractor()[1]))
    ref = encode_sequence(loaded.model.music, feats, L=2)
    np.testing.assert_allclose(segs, ref.segments.numpy(), atol=3e-3)  # float16 storage
    np.testing.assert_allclose(track, ref.cls.numpy(), atol=3e-3)

    index = lib.index(ck, "music", "segment")
    assert lib.index(ck, "music", "segment") is index  # kept while the vectors are unchanged
    emb = cat.embeddings(ck, "music", "segment")
    scores, ids = index.search(emb.vectors, 3)
    self_score = np.einsum("nd,nd->n", emb.vectors, emb.vectors)
    assert np.all(scores[:, 0] >= self_score - 1e-4)  # nothing beats a vector's own match
    items, _ = unpack_ids(ids)
    assert set(items.ravel()) <= {it.id for it in cat.items("music")}

    footage = run(lib.embed(loaded, "footage"))
    assert footage.embedded == 2 and footage.vectors["track"] == 2
    # footage queries (visual tower) search the music index in the shared space
    fv = cat.embeddings(ck, "footage", "segment").vectors
    s, i = index.search(fv, 5)
    assert s.shape == (len(fv), 5) and (i >= 0).all()

    again = run(lib.embed(loaded, "music"))
    assert (again.embedded, again.already) == (0, 5)


def test_new_checkpoint_reembeds_without_the_media(scanned):
    lib, root = scanned
    first = save_random_checkpoint(root / "ck-a", seed=1)
    run(lib.embed(first, "music"))
    shutil.rmtree(root / "music")  # the drive is gone: only the catalog is left
    second = save_random_checkpoint(root / "ck-b", seed=2)
    ck_a, ck_b = checkpoint_id(first), checkpoint_id(second)
    assert ck_a != ck_b
    report = run(lib.embed(second, "music"))
    assert report.embedded == 5 and report.vectors["segment"] == 15
    a = lib.catalog.embeddings(ck_a, "music", "track")
    b = lib.catalog.embeddings(ck_b, "music", "track")
    np.testing.assert_array_equal(a.item_ids, b.item_ids)
    assert not np.allclose(a.vectors, b.vectors, atol=1e-2)  # really the other model's vectors
    assert lib.index(ck_b, "music", "track").search(b.vectors[:1], 1)[1][0, 0] == b.ids[0]


def test_checkpoint_on_other_features_reports_what_is_missing(scanned):
    lib, root = scanned
    other = save_random_checkpoint(root / "ck-other", seed=3, music=("other-music:v9", 16))
    report = run(lib.embed(other, "music"))
    assert (report.embedded, report.missing_features) == (0, 5)
    assert report.vectors == {"segment": 0, "track": 0}
    scores, ids = lib.index(checkpoint_id(other), "music").search(np.ones((1, 32)), 2)
    assert (ids == -1).all()


def test_removing_a_folder_removes_its_vectors_from_the_index(scanned, tmp_path):
    lib, root = scanned
    loaded = save_random_checkpoint(root / "ck-rm", seed=4)
    ck = checkpoint_id(loaded)
    run(lib.embed(loaded, "footage"))
    assert len(lib.index(ck, "footage", "track")) == 2
    assert lib.remove_folder(root / "footage") == 2
    index = lib.index(ck, "footage", "track")
    assert len(index) == 0 and index.rebuilt_reason is not None
