"""The main window on the trained pairs world: open footage, the timeline, the per-scene
list, the whole-video list, keyboard, footage for a song, errors, cancel, the stall bound."""

from __future__ import annotations

import time

import numpy as np
from gui_support import StallProbe, fresh_video, make_window, open_and_wait
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from engine.recommend import best_soundtracks, recommend_segments
from mvpt_desktop.models import ObjectRole


def _listed_items(window) -> list[tuple[int, int]]:
    m = window.suggestions.scene_model
    return [(m.index(r, 0).data(ObjectRole).suggestion.item_id, m.index(r, 0).data(ObjectRole).suggestion.segment)
            for r in range(m.rowCount())]


def _engine_items(row) -> list[tuple[int, int]]:
    return [(s.item_id, s.segment) for s in row]


def test_open_footage_timeline_and_the_list_follows_the_selected_scene(qtbot, world):
    w = make_window(qtbot, world)
    c = w.controller
    # the status bar says which model and which extractor families in words; the ids (elided in
    # the middle, they read as noise: "t = 6…icnn:pen-meanmax") go to the tooltip
    assert w.model_label.text() == "model best · picture: classic-visual · music: classic-music"
    assert "[classic-visual:v1" in w.model_label.toolTip() and "t = " in w.model_label.toolTip()
    open_and_wait(qtbot, w, world["footage"] / "video_2.mp4")
    a = c.current.analysis
    assert len(a) == 12 and len(w.timeline.starts) == 12
    assert np.allclose(w.timeline.starts, a.starts) and np.allclose(w.timeline.attention, a.attention)
    images = [it for _, it in w.timeline._items if type(it).__name__ == "ImageItem"]
    assert len(images) == 1  # all the scenes' pictures in one strip along the time axis
    strip, rect = images[0].image, images[0].mapRectToParent(images[0].boundingRect())
    assert abs(rect.left()) < 1e-6 and abs(rect.right() - a.duration) < 1e-6
    for i in (0, 5, 11):  # under each scene's time span: that scene's thumbnail
        x = int((a.starts[i] + a.ends[i]) / 2 / a.duration * strip.shape[1])
        assert np.abs(strip[:, x].astype(int).mean(0) - a.thumbnails[i].reshape(-1, 3).mean(0)).max() < 40
    qtbot.waitUntil(lambda: len(w.timeline.scene_axis.text_specs()) == 12, timeout=5000)  # room for all 12
    assert w.timeline.scene_axis.text_specs()[5][2] == "0:10–0:12"
    engine = recommend_segments(c.session, a, c.k)
    assert _listed_items(w) == _engine_items(engine[0])
    own = c.session.library.catalog.item_by_path(world["music"] / "song_2.wav").id
    assert _listed_items(w)[0][0] == own  # the video's own song comes first
    # a real click on the 6th thumbnail selects scene 5; the playhead goes to its start
    plot = w.timeline.thumbs
    x = (a.starts[5] + a.ends[5]) / 2
    scene_pos = plot.vb.mapViewToScene(QPointF(x, 0.4))
    view_pos = w.timeline.mapFromScene(scene_pos)
    qtbot.mouseClick(w.timeline.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(int(view_pos.x()), int(view_pos.y())))
    assert c.segment == 5 and w.timeline.selected == 5
    assert w.timeline.playhead == a.starts[5]
    assert _listed_items(w) == _engine_items(engine[5])
    assert "scene 6 of 12" in w.suggestions.heading.text()
    # keyboard: → and ← move the selection
    w.activateWindow()
    w.setFocus()
    qtbot.keyClick(w, Qt.Key.Key_Right)
    assert c.segment == 6 and _listed_items(w) == _engine_items(engine[6])
    qtbot.keyClick(w, Qt.Key.Key_Left)
    qtbot.keyClick(w, Qt.Key.Key_Left)
    assert c.segment == 4 and w.timeline.playhead == a.starts[4]
    # the whole-video tab: best tracks with their offsets, as the engine says
    whole = best_soundtracks(c.session, a, c.k)
    tm = w.suggestions.track_model
    listed = [tm.index(r, 0).data(ObjectRole).track for r in range(tm.rowCount())]
    assert [(t.item_id, t.offset) for t in listed] == [(t.item_id, t.offset) for t in whole]
    assert tm.index(0, 1).data().startswith("0:00.0") and tm.index(0, 2).data().endswith("%")
    assert (" ♪ downbeat" in tm.index(0, 1).data()) == whole[0].on_downbeat
    # how well the cuts sync with each track, and why its start is where it is (the engine's words)
    sync = next(i for i in range(tm.columnCount()) if tm.headerData(i, Qt.Orientation.Horizontal) == "Sync")
    assert [tm.index(r, sync).data() for r in range(tm.rowCount())] == [t.sync_label for t in whole]
    assert "cuts" in tm.headerData(sync, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert all(t.note in tm.index(r, 0).data(Qt.ItemDataRole.ToolTipRole) for r, t in enumerate(whole))
    assert len(c.sheet.cues) == 1 and c.sheet.cues[0].item_id == whole[0].item_id  # one cue over all


def test_a_song_shows_footage_per_music_segment(qtbot, world):
    w = make_window(qtbot, world)
    c = w.controller
    open_and_wait(qtbot, w, world["music"] / "song_4.wav")
    assert c.current.is_music
    assert w.suggestions.scene_model.headerData(0, Qt.Orientation.Horizontal) == "Footage"
    rows = [w.suggestions.scene_model.index(r, 0).data(ObjectRole) for r in range(w.suggestions.scene_model.rowCount())]
    assert rows and all(r.suggestion.path.endswith(".mp4") for r in rows)
    assert rows[0].suggestion.path.endswith("video_4.mp4")
    assert w.suggestions.scene_model.index(0, 0).data() == "video_4.mp4"


def test_a_corrupt_drop_shows_a_message_and_the_app_keeps_working(qtbot, world, tmp_path):
    w = make_window(qtbot, world)
    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(bad))])
    drop = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(w.controller.failed, timeout=30_000):
        w.dropEvent(drop)
    assert len(w.errors) == 1
    assert "holiday.mp4" in w.errors[0] and "Traceback" not in w.errors[0]
    open_and_wait(qtbot, w, world["footage"] / "video_1.mp4")  # still works
    assert w.suggestions.scene_model.rowCount() > 0


def test_cancel_stops_the_analysis_within_250_ms(qtbot, world, tmp_path):
    w = make_window(qtbot, world)
    c = w.controller
    video = fresh_video(tmp_path, hue=0.31)
    handle = w.open_file(str(video))
    qtbot.waitUntil(lambda: handle.state == "running", timeout=30_000)
    assert w.cancel_button.isVisible()
    with qtbot.waitSignal(handle.progress, timeout=30_000):
        pass
    t0 = time.perf_counter()
    with qtbot.waitSignal(handle.aborted, timeout=5000):
        qtbot.mouseClick(w.cancel_button, Qt.MouseButton.LeftButton)
    latency = time.perf_counter() - t0
    print(f"cancel honoured in {latency * 1000:.0f} ms")
    assert latency < 0.25, f"cancel took {latency * 1000:.0f} ms"
    assert c.current is None and not w.errors
    assert w.controller.workers.inference.pending() == []


def test_the_event_loop_never_stalls_over_50_ms_during_analysis(qtbot, world, tmp_path):
    w = make_window(qtbot, world)
    video = fresh_video(tmp_path, hue=0.57)
    probe = StallProbe(5)
    probe.start()
    t0 = time.perf_counter()
    open_and_wait(qtbot, w, video)
    probe.stop()
    busy = time.perf_counter() - t0
    assert len(probe.gaps) > 20  # it really ran for a while (a new video: no cached analysis)
    print(f"analysis {busy:.2f} s, {probe.report()}")
    assert probe.worst_own_ms < 50, probe.report()
