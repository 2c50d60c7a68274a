"""End to end on generated media with known answers: scan → train → embed → recommend.

The world (tests/pairs_world.py): six songs, each with its music video; colour goes with
pitch, brightness/motion with loudness/pulse, segment by segment. A small MVPt trained on
these pairs (weightless extractors, seconds of CPU) must find each video's own song.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from pairs_world import PAIRS, SEG, SEGMENTS, build_trained_world, write_pair

from engine.jobs import run


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = build_trained_world(tmp_path_factory.mktemp("pairs"))
    yield w
    w["session"].close()


def _item_of(session, path) -> int:
    return session.library.catalog.item_by_path(path).id


def test_paired_track_ranks_first_per_segment(world):
    from engine.recommend import analyse_video, recommend_segments

    s = world["session"]
    hits = total = 0
    for p in range(PAIRS):
        a = run(analyse_video(s, world["footage"] / f"video_{p}.mp4"))
        assert len(a) == SEGMENTS and a.embeddings.shape == (SEGMENTS, 64)
        assert np.allclose(a.attention.sum(), 1.0, atol=1e-4) and len(a.thumbnails) == SEGMENTS
        own = _item_of(s, world["music"] / f"song_{p}.wav")
        rows = recommend_segments(s, a, k=3)
        for row in rows:
            assert len({r.item_id for r in row}) == len(row)  # at most one entry per track
            assert all(r.score >= row[-1].score for r in row)
            hits += row[0].item_id == own
            total += 1
    assert hits / total >= 0.7, f"own track first for {hits}/{total} segments"


def test_whole_video_ranking_and_fitted_offset(world):
    from engine.recommend import analyse_video, best_soundtracks, fit_soundtrack

    s = world["session"]
    a = run(analyse_video(s, world["queries"] / "excerpt_2.mp4"))
    own = _item_of(s, world["music"] / "song_2.wav")
    best = best_soundtracks(s, a, k=3)
    assert best[0].item_id == own
    fit = fit_soundtrack(s, a, own)
    assert fit.offset_segments == 3 and fit.offset == pytest.approx(3 * SEG)
    assert fit.coverage == pytest.approx(1.0)
    # the model's offset, started on the track's nearest downbeat (within a beat) when it has a grid
    r = s.library.catalog.rhythm(own)
    sync = best[0].sync
    if sync is not None and sync.informative:  # cuts on beats: the sync's offset, within a beat of the truth
        assert abs(best[0].offset - 3 * SEG) <= 60.0 / r.tempo + 1e-6
    elif best[0].on_downbeat:
        assert r is not None and np.min(np.abs(np.asarray(r.downbeats) - best[0].offset)) < 1e-6
        assert abs(best[0].offset - 3 * SEG) <= 60.0 / r.tempo + 1e-6
    else:
        assert best[0].offset == pytest.approx(3 * SEG)
    # the model alone (sync 0) ranks the same track first
    assert best_soundtracks(s, a, k=3, sync=0.0)[0].item_id == own


def test_find_footage_for_a_song(world):
    from engine.recommend import find_footage

    s = world["session"]
    rows = find_footage(s, world["music"] / "song_4.wav", k=2)
    own = _item_of(s, world["footage"] / "video_4.mp4")
    assert sum(r[0].item_id == own for r in rows) / len(rows) >= 0.7


def test_analysis_is_cached_and_reranking_needs_no_recompute(world, monkeypatch):
    from engine.recommend import Conditioning, analyse_video, recommend_segments

    s = world["session"]
    path = world["footage"] / "video_1.mp4"
    first = run(analyse_video(s, path))
    ext = s.extractor("visual")
    monkeypatch.setattr(ext, "extract", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    again = run(analyse_video(s, path))
    assert np.array_equal(first.embeddings, again.embeddings)
    # an attribute from example audio (song 5's style) pulls rankings towards song 5
    from engine.attributes import create_attribute

    ex = world["root"] / "examples5"
    write_pair(ex, 5, 6, seed=7, with_video=False, name="example")
    run(create_attribute(s, "style5", audio=str(ex)))
    target = _item_of(s, world["music"] / "song_5.wav")

    def rank_of_target(weight):
        rows = recommend_segments(s, again, k=PAIRS, conditioning=Conditioning({"style5": weight}))
        return np.mean([[r.item_id for r in row].index(target) for row in rows])

    assert rank_of_target(1.0) < rank_of_target(0.0) < rank_of_target(-1.0) + 1e-9


def test_cli_recommend_prints_whole_video_and_segments(world, capsys):
    from engine.cli import main

    s = world["session"]
    args = ["--checkpoint", s.settings.checkpoint, "--data-dir", s.settings.data_dir, "--device", "cpu"]
    assert main(["recommend", str(world["footage"] / "video_0.mp4"), "--per-segment", "--top", "2", *args]) == 0
    out = capsys.readouterr().out
    assert "Whole video" in out and "Per segment" in out and "Song 0" in out
    assert main(["recommend", str(world["footage"] / "video_0.mp4"), "--json", *args]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["per_segment"]) == SEGMENTS and data["whole_video"][0]["title"] == "Song 0"
    assert main(["fit", str(world["queries"] / "excerpt_2.mp4"), str(world["music"] / "song_2.wav"), *args]) == 0
    assert "start the track at 0:06.0" in capsys.readouterr().out


def test_no_model_is_a_clear_message(tmp_path, capsys):
    from engine.cli import main

    assert main(["recommend", "nothing.mp4", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_attribute_from_images_with_domain_and_text_needs_clip(world, tmp_path):
    from pairs_world import picture
    from PIL import Image

    from engine.attributes import AttributeError_, create_attribute
    from engine.recommend import Conditioning, analyse_video, recommend_segments

    s = world["session"]
    bright, every = tmp_path / "bright", tmp_path / "all"
    bright.mkdir()
    every.mkdir()
    for i in range(4):  # pair 3's picture at its brightest state, and every pair at every state
        Image.fromarray(picture(3, 2, i * 5)).save(bright / f"b{i}.png")
    for p in range(PAIRS):
        for st in range(3):
            Image.fromarray(picture(p, st, p + st)).save(every / f"a{p}{st}.jpg")
    (bright / "notes.txt").write_text("not an image")  # ignored: not an image extension
    vec = run(create_attribute(s, "pair3-bright", images=str(bright), domain=str(every)))
    attrs = {a.name: a for a in s.library.catalog.attributes(s.checkpoint_id)}
    assert attrs["pair3-bright"].modality == "visual" and attrs["pair3-bright"].meta["examples"] == 4
    assert attrs["pair3-bright"].meta["domain_examples"] == 3 * PAIRS
    assert vec.shape == (64,) and np.linalg.norm(vec) > 0
    a = run(analyse_video(s, world["footage"] / "video_0.mp4"))
    target = _item_of(s, world["music"] / "song_3.wav")
    base = recommend_segments(s, a, k=PAIRS)
    pushed = recommend_segments(s, a, k=PAIRS, conditioning=Conditioning({"pair3-bright": 1.0}))
    rank = lambda rows: np.mean([[r.item_id for r in row].index(target) for row in rows])  # noqa: E731
    assert rank(pushed) < rank(base)
    with pytest.raises(AttributeError_, match="CLIP"):
        run(create_attribute(s, "guitar", text="an electric guitar solo"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(AttributeError_, match="no images"):
        run(create_attribute(s, "empty", images=str(tmp_path / "empty")))


def test_a_track_the_cuts_follow_is_found_outside_the_models_candidates(world, monkeypatch):
    """With sync on, a small library is read whole: the track the video was cut to joins the
    whole-video list even where the model ranks it last (a real 30-track library: the 120 bpm
    track a video was cut to sat outside the model's best 15). A library over
    SYNC_WHOLE_LIBRARY, or sync off, re-ranks only the model's own candidates."""
    import dataclasses

    from test_rhythm_sync import make_music

    import engine.recommend as rec
    from engine.rhythm.video import VideoRhythm

    s = world["session"]
    a = run(rec.analyse_video(s, world["queries"] / "excerpt_2.mp4"))
    by_model = [t.item_id for t in rec.recommend_tracks(s, a, PAIRS)]
    target = by_model[-1]  # the model's last choice
    catalog = s.library.catalog
    old = catalog.rhythm(target)
    assert old is not None  # every scanned song has its rhythm
    music = make_music(97.0, catalog.item(target).duration, seed=5)  # the songs pulse at 1-5 Hz: off their grids
    catalog.store_rhythm(target, music)
    try:
        truth = float(music.downbeats[2])
        # a montage cut on its beats, 1-3 beats apart (the 18 s excerpt is short: cut it fast)
        beats = music.beats[(music.beats > truth + 0.3) & (music.beats < truth + a.duration - 0.3)] - truth
        cuts = np.round(beats[np.cumsum(np.random.default_rng(3).integers(1, 4, len(beats)))
                              .clip(max=len(beats) - 1)] * 25) / 25
        energy = np.interp(np.arange(int(a.duration * 10)) / 10 + truth, np.arange(len(music.energy)) / 10,
                           music.energy).astype(np.float32)
        video = VideoRhythm(a.duration, np.unique(cuts), np.ones(len(np.unique(cuts)), np.float32), (), energy)
        cut = dataclasses.replace(a, video_rhythm=video)
        monkeypatch.setattr(rec, "MODEL_POOL", 2)  # k=1: the model's best 3 of the 6 tracks

        best = rec.best_soundtracks(s, cut, k=1, sync=1.0)  # the "Sync to cuts" control at full
        assert best[0].item_id == target and best[0].sync.confidence >= rec.SYNC_GATE
        assert abs(best[0].offset - truth) <= 60.0 / 97.0 + 1e-6
        computed = s.sync_cache.computed
        again = rec.best_soundtracks(s, cut, k=1, sync=1.0, conditioning=rec.Conditioning({}))
        assert [t.item_id for t in again] == [target] and s.sync_cache.computed == computed  # nothing redone

        assert target not in [t.item_id for t in rec.best_soundtracks(s, cut, k=1, sync=0.0)]
        monkeypatch.setattr(rec, "SYNC_WHOLE_LIBRARY", PAIRS - 1)  # a "large" library: the model's pool only
        assert target not in [t.item_id for t in rec.best_soundtracks(s, cut, k=1, sync=1.0)]
    finally:
        catalog.store_rhythm(target, old)


def test_a_cue_slips_on_its_stored_grid_and_syncs_to_the_cuts_inside_it(world):
    """The cue panel's engine side: a library track's stored beats move a cue's music a bar or
    a beat, and "Align to cuts" puts a cue that starts 0.6 beats late back where the montage was
    cut; what cannot be done says what to do."""
    from test_rhythm_sync import make_music

    import engine.recommend as rec
    from engine.export import Cue, Piece
    from engine.rhythm.video import VideoRhythm

    s = world["session"]
    catalog = s.library.catalog
    item = next(iter(catalog.items("music")))
    old = catalog.rhythm(item.id)
    music = make_music(97.0, float(item.duration), seed=6)
    catalog.store_rhythm(item.id, music)
    try:
        beat = 60.0 / 97.0
        truth = float(music.downbeats[1])
        length = min(16.0, float(item.duration) - truth - 5 * beat)
        beats = music.beats[(music.beats > truth + 0.3) & (music.beats < truth + length - 0.3)] - truth
        pick = np.cumsum(np.random.default_rng(4).integers(1, 4, len(beats))).clip(max=len(beats) - 1)
        cuts = np.unique(np.round(beats[pick] * 25) / 25)  # 1-3 beats apart, frame-rounded
        energy = np.interp(np.arange(int(length * 10)) / 10 + truth, np.arange(len(music.energy)) / 10,
                           music.energy).astype(np.float32)
        video = VideoRhythm(length, cuts, np.ones(len(cuts), np.float32), (), energy)
        cue = Cue(item.path, "Song", 0.0, length, truth + 0.6 * beat, item.id)

        at, words = rec.sync_cue(s, cue, video)
        assert abs(at - truth) <= 0.5 * beat and words.startswith("cuts land on its beats from here")
        on_grid = Cue(item.path, "Song", 0.0, length, float(music.downbeats[1]), item.id)
        later, words = rec.slip_cue(s, on_grid, bars=1)
        assert later == pytest.approx(float(music.downbeats[2]), abs=1e-3) and "one bar later" in words
        assert rec.slip_cue(s, on_grid, beats=-1)[0] == pytest.approx(float(music.downbeats[1]) - beat, abs=1e-2)

        # the starts sync cannot tell apart, one after another, from the first again past the last
        from engine.rhythm.slip import fitting_starts

        starts, _ = fitting_starts(video, music, 0.0, length)
        assert len(starts) >= 2
        seen = []
        here = Cue(item.path, "Song", 0.0, length, starts[0], item.id)
        for _ in range(len(starts)):
            at, words = rec.next_fitting_start(s, here, video)
            seen.append(at)
            assert f"of {len(starts)} that fit the cuts in this cue about as well" in words
            here = Cue(item.path, "Song", 0.0, length, at, item.id)
        assert seen == pytest.approx(starts[1:] + starts[:1], abs=1e-3)  # the catalog keeps 0.1 ms

        loose = Cue(item.path, "Loose", 0.0, length, 3.0)  # not from the library: seconds, said so
        assert rec.slip_cue(s, loose, bars=1) == (5.0, "2.0 s later in the track (no beat analysis for this "
                                                       "track: not on a grid)")
        with pytest.raises(ValueError, match="not read yet"):
            rec.sync_cue(s, cue, None)
        with pytest.raises(ValueError, match="fitted to the video's length"):
            rec.slip_cue(s, Cue(item.path, "Fit", 0.0, 5.0, 0.0, item.id, pieces=(Piece(0.0, 5.0, 0.0),)), beats=1)
    finally:
        catalog.store_rhythm(item.id, old)
