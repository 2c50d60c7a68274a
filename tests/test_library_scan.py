"""Scanning real generated media in worker processes: incremental, failures isolated per file."""

from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pytest
from library_support import music_extractor, visual_extractor, write_songs

from engine.jobs import Cancelled, run
from engine.library.catalog import Catalog
from engine.library.scan import scan
from engine.media.grid import SegmentGrid


@pytest.fixture
def cat(tmp_path):
    with Catalog(tmp_path / "catalog.sqlite") as c:
        yield c


def test_music_scan_is_incremental(cat, tmp_path):
    name, ext_id, dim = music_extractor()
    folder = tmp_path / "music"
    songs = write_songs(folder, 3, seconds=9.0)
    from training.synthmedia import write_audio

    (folder / "sub").mkdir()
    songs.append(write_audio(folder / "sub" / "other.mp3", duration=5.0, freq=660.0))
    (folder / "broken.mp3").write_bytes(b"ID3" + os.urandom(3000))
    (folder / "empty.wav").write_bytes(b"")
    (folder / "notes.txt").write_text("not media")
    (folder / ".hidden.flac").write_bytes(b"x")

    events = []
    report = run(scan(cat, folder, "music", music_extractor_name=name, workers=2, time_limit=120), events.append)
    assert report.extractor_id == ext_id and report.found == 6
    assert sorted(report.processed) == sorted(str(p) for p in songs)
    assert sorted(os.path.basename(p) for p, _ in report.failed) == ["broken.mp3", "empty.wav"]
    assert all(reason and "Traceback" not in reason for _, reason in report.failed)
    assert events[-1].stage == "scan" and events[-1].done == events[-1].total == 6
    assert cat.status_counts("music") == {"ok": 4, "failed": 2}
    assert dict(cat.failures("music"))[str(folder / "empty.wav")].startswith("the file is empty")
    for it in cat.items("music", "ok"):
        n = len(SegmentGrid(it.duration, 6.7))
        assert len(cat.segments(it.id)) == n
        feats = cat.base_features(it.id, ext_id)
        assert feats.shape == (n, dim) and np.isfinite(feats).all()
        assert it.process_count == 1 and it.content_hash
    song0 = cat.item_by_path(songs[0])
    assert (song0.title, song0.artist, song0.duration) == ("Song 0", "Band", pytest.approx(9.0, abs=0.1))
    assert cat.verify() == []

    # Nothing changed: nothing is decoded again (no worker is even started).
    again = run(scan(cat, folder, "music", music_extractor_name=name))
    assert again.skipped == 6 and again.processed == [] and again.failed == []
    assert all(it.process_count == 1 for it in cat.items("music"))

    # One file rewritten, one deleted: only those are touched; ids are stable.
    write_songs(folder, 1, seconds=14.0)  # song00 is now longer
    os.remove(songs[1])
    third = run(scan(cat, folder, "music", music_extractor_name=name, workers=1))
    assert third.processed == [str(songs[0])] and third.removed == 1 and third.skipped == 4
    it = cat.item_by_path(songs[0])
    assert it.id == song0.id and it.process_count == 2 and it.duration == pytest.approx(14.0, abs=0.1)
    assert cat.item_by_path(songs[1]) is None
    assert cat.status_counts("music") == {"ok": 3, "failed": 2}

    # A renamed file is recognised by its content: same item, nothing decoded.
    song2 = cat.item_by_path(songs[2])
    renamed = folder / "sub" / "renamed.flac"
    os.rename(songs[2], renamed)
    fourth = run(scan(cat, folder, "music", music_extractor_name=name))
    assert (fourth.moved, fourth.processed, fourth.removed) == (1, [], 0)
    it = cat.item_by_path(renamed)
    assert (it.id, it.process_count) == (song2.id, 1) and cat.item_by_path(songs[2]) is None
    assert cat.base_features(it.id, ext_id) is not None


def test_crashing_and_hanging_files_cost_only_themselves(cat, tmp_path):
    """A worker killed by SIGSEGV, one stuck forever, one allocating without bound: each file
    is recorded failed with the reason, the others are analysed, no worker is left behind."""
    name, _, _ = music_extractor()
    folder = tmp_path / "music"
    good = write_songs(folder, 2, seconds=4.0)
    (folder / "crash.flac").write_bytes(good[0].read_bytes())
    (folder / "hang.flac").write_bytes(good[1].read_bytes())
    (folder / "hog.flac").write_bytes(good[1].read_bytes())
    report = run(scan(cat, folder, "music", music_extractor_name=name, workers=2, time_limit=6,
                      memory_limit=3 << 30, processor="library_support:misbehaving_process"))
    reasons = {os.path.basename(p): r for p, r in report.failed}
    assert set(reasons) == {"crash.flac", "hang.flac", "hog.flac"}
    assert "crashed" in reasons["crash.flac"] and "SIGSEGV" in reasons["crash.flac"]
    assert "longer than 6 s" in reasons["hang.flac"]
    assert "more memory" in reasons["hog.flac"]
    assert sorted(report.processed) == sorted(str(p) for p in good)
    assert cat.status_counts("music") == {"ok": 2, "failed": 3}
    assert multiprocessing.active_children() == []


def test_footage_scan_and_wrong_kind(cat, tmp_path):
    from training.synthmedia import write_audio, write_video

    name, ext_id, dim = visual_extractor()
    folder = tmp_path / "footage"
    folder.mkdir()
    write_video(folder / "a.mp4", 8.0, size=(96, 64), fps=10, gop=10)
    write_video(folder / "b.mkv", 3.0, size=(96, 64), fps=10, gop=10, hue=0.3, audio=False)
    write_audio(folder / "song.flac", duration=3.0)  # audio files are not footage: not even listed
    write_video(folder / "music.mp4", 3.0, size=(96, 64), fps=10).write_bytes(
        write_audio(tmp_path / "x.m4a", duration=3.0).read_bytes())  # an .mp4 holding only audio
    report = run(scan(cat, folder, "footage", visual_extractor_name=name, workers=2, time_limit=120))
    assert report.found == 3 and len(report.processed) == 2
    assert [(os.path.basename(p), "video" in r) for p, r in report.failed] == [("music.mp4", True)]
    a = cat.item_by_path(folder / "a.mp4")
    assert a.kind == "footage" and cat.base_features(a.id, ext_id).shape == (1, dim)
    assert cat.status_counts("music") == {"ok": 0, "failed": 0}


def test_cancel_keeps_finished_files_and_stops_workers(cat, tmp_path):
    name, _, _ = music_extractor()
    folder = tmp_path / "music"
    write_songs(folder, 5, seconds=4.0)
    seen = []

    def cancel() -> bool:
        return any(e.stage == "scan" and e.done >= 2 for e in seen)

    with pytest.raises(Cancelled):
        run(scan(cat, folder, "music", music_extractor_name=name, workers=1, cancel=cancel), seen.append)
    done = cat.items("music")
    assert 2 <= len(done) < 5 and all(it.status == "ok" for it in done)
    assert cat.verify() == []
    assert multiprocessing.active_children() == []
    report = run(scan(cat, folder, "music", music_extractor_name=name, workers=1))
    assert report.skipped == len(done) and len(report.processed) == 5 - len(done)


def test_missing_folder_is_a_clear_error_and_changes_nothing(cat, tmp_path):
    from engine.media.errors import MediaFileMissing

    with pytest.raises(MediaFileMissing, match="not found"):
        run(scan(cat, tmp_path / "unplugged", "music", music_extractor_name="classic-music"))
    assert cat.folders() == []


def test_a_process_first_rhythm_analysis_waits_for_other_compiling_processes(monkeypatch):
    """numba's cache is not safe when two processes compile librosa's gufuncs at once: a
    process's first rhythm analysis (a scan worker's warm-up, or the app's) waits while
    another holds the compile lock and runs once it is released; later ones do not wait."""
    import threading

    from engine.library.worker_task import _warm_rhythm
    from engine.rhythm import jit
    from engine.rhythm.music import analyse_rhythm

    monkeypatch.setattr(jit, "_compiled", False)  # as in a process that has not analysed yet
    done = threading.Event()
    with jit.compile_lock():
        t = threading.Thread(target=lambda: (_warm_rhythm(), done.set()), daemon=True)
        t.start()
        assert not done.wait(1.5)  # blocked on the lock, not compiling alongside
    assert done.wait(120)
    t.join()
    assert jit._compiled
    with jit.compile_lock():  # held elsewhere: a later analysis goes straight through
        r = analyse_rhythm(np.zeros(16000, np.float32), 16000)
    assert not r.steady


def test_ogg_that_ffmpeg_refuses_is_scanned_not_failed(cat, tmp_path):
    """Three real Vorbis tracks of a 71-track library failed as "damaged" (their headers
    written twice; FFmpeg refuses them, libvorbis players do not): they are read by libsndfile."""
    from media_support import write_vorbis_with_repeated_headers

    name, ext_id, _ = music_extractor()
    folder = tmp_path / "music"
    songs = write_songs(folder, 1, seconds=6.0)
    twice = write_vorbis_with_repeated_headers(folder / "twice.ogg", seconds=8.0, title="Caribbean")
    report = run(scan(cat, folder, "music", music_extractor_name=name, workers=1, time_limit=120))
    assert report.failed == [] and sorted(report.processed) == sorted(map(str, [*songs, twice]))
    it = cat.item_by_path(twice)
    assert (it.title, it.duration) == ("Caribbean", pytest.approx(8.0, abs=0.05))
    assert cat.base_features(it.id, ext_id).shape[0] == len(SegmentGrid(it.duration, 6.7))


def test_failed_files_are_retried_once_when_the_media_reader_reads_more(cat, tmp_path):
    """A library scanned by an older reader (its failures recorded) retries them once when
    :data:`engine.media.READER_VERSION` changes; otherwise a failure waits for the file to change."""
    from engine.media import READER_VERSION

    name, _, _ = music_extractor()
    folder = tmp_path / "music"
    songs = write_songs(folder, 1, seconds=6.0)
    (folder / "broken.mp3").write_bytes(b"ID3" + os.urandom(3000))
    first = run(scan(cat, folder, "music", music_extractor_name=name, workers=1, time_limit=120))
    assert [os.path.basename(p) for p, _ in first.failed] == ["broken.mp3"]
    key = f"media_reader:{cat.folder(folder).id}"
    assert cat.get_meta(key) == str(READER_VERSION)

    same = run(scan(cat, folder, "music", music_extractor_name=name, workers=1, time_limit=120))
    assert (same.failed, same.processed, same.skipped) == ([], [], 2)

    cat.set_meta(key, str(READER_VERSION - 1))  # as an older version left it
    newer = run(scan(cat, folder, "music", music_extractor_name=name, workers=1, time_limit=120))
    assert [os.path.basename(p) for p, _ in newer.failed] == ["broken.mp3"] and newer.processed == []
    assert cat.get_meta(key) == str(READER_VERSION)
    assert cat.item_by_path(songs[0]).process_count == 1  # what read before is not read again
    assert cat.status_counts("music") == {"ok": 1, "failed": 1}
