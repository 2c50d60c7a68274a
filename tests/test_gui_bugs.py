"""Issue 16's GUI bugs, each reproduced first: the window as an editor meets it."""

from __future__ import annotations

import numpy as np
from gui_support import make_window, open_and_wait
from PySide6.QtCore import Qt


def _mean_rgb(img) -> np.ndarray:
    from PySide6.QtGui import QImage

    img = img.convertToFormat(QImage.Format.Format_RGB888)
    a = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * img.height())
    a = a.reshape(img.height(), img.bytesPerLine())[:, : 3 * img.width()].reshape(img.height(), img.width(), 3)
    return a.reshape(-1, 3).mean(0)


def test_bug2_seeking_before_the_first_play_shows_that_scene(qtbot, world):
    w = make_window(qtbot, world)
    c = w.controller
    with qtbot.waitSignal(w.player.loaded, timeout=30_000):
        open_and_wait(qtbot, w, world["footage"] / "video_5.mp4")
    a = c.current.analysis
    means = [t.reshape(-1, 3).mean(0) for t in a.thumbnails]
    target = max(range(1, 6), key=lambda i: np.abs(means[i] - means[0]).max())  # unlike the first frame
    assert np.abs(means[target] - means[0]).max() > 30
    frames = []
    w.player.frameChanged.connect(lambda img: frames.append(_mean_rgb(img)))
    w.activateWindow()
    for _ in range(target):
        qtbot.keyClick(w, Qt.Key.Key_Right)  # → as an editor moves to a scene, never having pressed play
    assert c.segment == target and not w.player.is_playing
    qtbot.waitUntil(lambda: bool(frames) and np.abs(frames[-1] - means[target]).max() < 30, timeout=10_000)


def test_bug3_a_song_after_a_video_unloads_the_video_and_the_lists_say_footage(qtbot, world):
    w = make_window(qtbot, world)
    c = w.controller
    with qtbot.waitSignal(w.player.loaded, timeout=30_000):
        open_and_wait(qtbot, w, world["footage"] / "video_1.mp4")
    assert w.position.maximum() > 0
    open_and_wait(qtbot, w, world["music"] / "song_4.wav")
    qtbot.waitUntil(lambda: w.position.maximum() == 0, timeout=5000)  # no video length on the transport
    assert w.player.source is None and w.time_label.text() == "0:00.0 / 0:00.0"
    w.toggle_play()  # space: nothing to play (the old picture is gone)
    assert not w.player.is_playing
    for model in (w.suggestions.scene_model, w.suggestions.track_model):
        assert model.headerData(0, Qt.Orientation.Horizontal) == "Footage"
    assert w.suggestions.tabs.tabText(1) == "Whole song"
    assert w.suggestions.heading.text().startswith("Footage for part 1 of ")
    assert not w.cues.isVisible() and c.choice is None


def _no_model_window(qtbot, tmp_path, **gui):
    from engine.session import EngineSession
    from engine.settings import EngineSettings
    from mvpt_desktop.controller import Controller
    from mvpt_desktop.main_window import MainWindow
    from mvpt_desktop.settings import GuiSettings

    session = EngineSession(EngineSettings(checkpoint=None, data_dir=str(tmp_path / "nomodel"), device="cpu"))
    c = Controller(session=session, gui=GuiSettings(persist=False, hover_audition=False, **gui))
    w = MainWindow(c)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitUntil(lambda: c.status is not None, timeout=60_000)
    return w


def test_bug4_footage_opens_without_a_model_and_says_what_suggestions_need(qtbot, world, tmp_path):
    w = _no_model_window(qtbot, tmp_path)
    c = w.controller
    assert not c.status.has_model and "No trained model yet" in w.video._message
    with qtbot.waitSignal(w.player.loaded, timeout=30_000):
        open_and_wait(qtbot, w, world["footage"] / "video_3.mp4")
    a = c.current.analysis
    n = int(np.ceil(24.0 / c.session.segment_seconds))  # the settings' segment length: no model to say
    assert len(a) == n and len(a.thumbnails) == n and a.thumbnails[0].size > 0
    assert len(w.timeline.starts) == n and w.player.source.endswith("video_3.mp4")
    qtbot.waitUntil(lambda: "need a trained model" in w.statusBar().currentMessage(), timeout=3000)
    assert not w.errors
    assert "no suggestions without a model" in w.suggestions.heading.text()
    assert c.choice is None and w.suggestions.scene_model.rowCount() == 0


def test_bug5_settings_model_chosen_enter_is_ok_browse_starts_sensibly(qtbot, world, tmp_path, monkeypatch):
    from pathlib import Path

    from PySide6.QtWidgets import QDialog, QFileDialog

    from mvpt_desktop.main_window import DROP_HERE

    w = _no_model_window(qtbot, tmp_path)
    c = w.controller
    assert "No trained model yet" in w.video._message
    picked = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: picked.append(a[2]) or "")
    dlg = w.show_settings()
    assert dlg.browse_start() == str(Path.home())  # no checkpoint yet: home, not the working directory
    dlg.checkpoint.setText(world["checkpoint"])
    assert dlg.browse_start() == str(Path(world["checkpoint"]).parent.resolve())
    dlg.checkpoint.setFocus()
    with qtbot.waitSignal(c.statusChanged, timeout=60_000):
        qtbot.keyClick(dlg.checkpoint, Qt.Key.Key_Return)  # Enter: OK, the folder picker stays shut
    assert dlg.result() == QDialog.DialogCode.Accepted and picked == []
    assert c.status.has_model and w.video._message == DROP_HERE  # the first-run overlay is gone


def _timeline(qtbot, n: int = 32, seconds: float = 6.7, attention=None):
    from mvpt_desktop.timeline import Timeline

    t = Timeline()
    qtbot.addWidget(t)
    starts = np.arange(n) * seconds
    ends = np.minimum(starts + seconds, n * seconds - 1.3)
    att = np.full(n, 1.0 / n) if attention is None else np.asarray(attention)
    t.set_media(starts, ends, att, duration=float(ends[-1]))
    t.show()
    return t


def _specs(axis):
    from PySide6.QtGui import QImage, QPainter

    img = QImage(8, 8, QImage.Format.Format_RGB32)
    p = QPainter(img)
    specs = axis.generateDrawSpecs(p)[2]
    p.end()
    return specs


def test_bug6_timeline_labels_never_collide_the_first_is_there_and_times_read_mss(qtbot):
    import re

    from PySide6.QtWidgets import QApplication

    t = _timeline(qtbot)
    for width in (260, 420, 700, 1000, 1400, 2200, 3200):
        t.resize(width, 190)
        QApplication.processEvents()
        for axis, first in ((t.scene_axis, "0:00–0:07"), (t.time_axis, "0:00")):
            specs = _specs(axis)
            assert specs, (width, axis)
            assert specs[0][2] == first, (width, specs[0][2])
            bounds = axis.boundingRect()
            for (r1, _, a), (r2, _, b) in zip(specs, specs[1:]):
                assert r1.right() < r2.left(), (width, a, b)  # never overlapping
            assert all(bounds.left() - 0.5 <= r.left() and r.right() <= bounds.right() + 0.5 for r, _, _ in specs)
            assert all(re.fullmatch(r"\d+:\d\d(–\d+:\d\d)?", s) for _, _, s in specs), [s for _, _, s in specs]
        if width >= 1400:
            assert len(_specs(t.scene_axis)) >= 8 and len(_specs(t.time_axis)) >= 8  # and they use the room


def test_bug7_heatmap_shows_distance_from_uniform(qtbot):
    n = 32
    flat = _timeline(qtbot, n)
    assert np.allclose(flat.heat_levels, 0.5)  # uniform: all grey, not a dark-to-bright ramp
    rng = np.random.default_rng(0)
    near = rng.uniform(0.025, 0.038, n)
    near /= near.sum()
    t = _timeline(qtbot, n, attention=near)
    lv = t.heat_levels
    assert 0.25 < lv.min() and lv.max() < 0.75  # 2.5–3.8 % is close to 3.1 %: close to grey
    peak = np.full(n, 1.0)
    peak[5] = 4.0
    t2 = _timeline(qtbot, n, attention=peak / peak.sum())
    assert t2.heat_levels[5] == 1.0 and t2.heat_levels[0] < 0.5  # 4x uniform: full red; the rest below


def test_bug8_insights_closes_with_esc_and_a_close_button(qtbot, world):
    w = make_window(qtbot, world)
    ins = w.show_insights()
    qtbot.waitExposed(ins)
    ins.activateWindow()
    ins.setFocus()
    qtbot.keyClick(ins, Qt.Key.Key_Escape)
    assert not ins.isVisible()
    w.show_insights()
    qtbot.mouseClick(ins.close_button, Qt.MouseButton.LeftButton)
    assert not ins.isVisible()


def test_bug9_confidence_against_the_library_spread(qtbot, world):
    from mvpt_desktop import tasks

    def verdict(scores) -> str:
        z = tasks.confidence(np.sort(scores)[::-1])
        return tasks.SuggestionRow(None, (), float(z[0]), tasks.stands_out_z(len(scores))).verdict

    rng = np.random.default_rng(1)
    bunched = rng.uniform(0.33, 0.46, 60)  # the trial's scores: no track stands out
    assert verdict(bunched) == "weak"
    assert verdict(rng.normal(0.40, 0.03, 100)) != "strong"  # the best of 100 alike tracks does not stand out
    assert verdict(np.concatenate([[0.53], bunched])) == "good"
    assert verdict(np.concatenate([[0.60], bunched])) == "strong"
    assert tasks.confidence(bunched[:5]) is None  # too few tracks to say
    w = make_window(qtbot, world)
    c = w.controller
    open_and_wait(qtbot, w, world["footage"] / "video_2.mp4")
    rows = c.results.per_segment[0]
    assert all(r.confidence is None for r in rows)  # 6 tracks: no verdict, the raw score is shown
    assert w.suggestions.scene_model.index(0, 2).data() == f"{rows[0].suggestion.score:.2f}"
    # a bigger library's confidence: the verdict in the list, the numbers in the tooltip
    bar = tasks.stands_out_z(60)
    strong = tuple(tasks.SuggestionRow(r.suggestion, r.tags, z, bar) for r, z in zip(rows, (6.0, 2.0, 1.5, 1.0)))
    c.results = tasks.Results((strong, *c.results.per_segment[1:]), c.results.whole)
    w._segment(0)
    assert [w.suggestions.scene_model.index(i, 2).data() for i in range(2)] == ["strong", "weak"]
    assert "chance alone" in w.suggestions.scene_model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "no track fits" not in w.suggestions.heading.text()
    weak = tuple(tasks.SuggestionRow(r.suggestion, r.tags, 2.0, bar) for r in rows)
    c.results = tasks.Results((weak, *c.results.per_segment[1:]), c.results.whole)
    w._segment(0)
    assert "no track fits this scene well" in w.suggestions.heading.text()


def test_bug10_the_whole_video_tab_has_its_own_heading(qtbot, world):
    w = make_window(qtbot, world)
    open_and_wait(qtbot, w, world["footage"] / "video_2.mp4")
    w.controller.select_segment(3)
    assert w.suggestions.heading.text().startswith("Music for scene 4 of 12")
    w.suggestions.tabs.setCurrentIndex(1)
    assert w.suggestions.heading.text().startswith("Music for the whole video (0:00.0–0:24.0)")
    w.controller.select_segment(5)
    assert "scene" not in w.suggestions.heading.text()
    w.suggestions.tabs.setCurrentIndex(0)
    assert w.suggestions.heading.text().startswith("Music for scene 6 of 12")


def test_bug11_job_progress_text_has_room_in_the_status_bar(qtbot, world):
    w = make_window(qtbot, world)
    w.progress.setVisible(True)
    w.cancel_button.setVisible(True)
    text = "Creating attribute 'drums': embedding the examples (12 of 40 songs, features already stored)"
    w.statusBar().showMessage(text)
    qtbot.waitUntil(lambda: w.model_label.width() > 0, timeout=2000)
    sb = w.statusBar()
    used = sum(x.width() + 12 for x in (w.progress, w.cancel_button, w.model_label))
    assert sb.fontMetrics().horizontalAdvance(text) < sb.width() - used


def test_bug12_export_says_where_with_show_in_folder(qtbot, world, tmp_path):
    w = make_window(qtbot, world)
    c = w.controller
    open_and_wait(qtbot, w, world["footage"] / "video_1.mp4")
    opened = []
    w.open_url = opened.append
    mp4 = tmp_path / "exports" / "video_1 + music.mp4"
    with qtbot.waitSignal(c.exported, timeout=60_000):
        w.export(str(mp4))
    box = w.export_box
    assert box is not None and str(mp4) in box.text() and str(mp4.with_suffix(".otio")) in box.text()
    show = next(b for b in box.buttons() if b.text() == "Show in folder")
    qtbot.mouseClick(show, Qt.MouseButton.LeftButton)
    assert [u.toLocalFile() for u in opened] == [str(mp4.parent)]
    qtbot.waitUntil(lambda: str(mp4) in w.statusBar().currentMessage(), timeout=3000)


def test_bug13_no_audio_device_says_the_preview_is_silent(qtbot, world, monkeypatch):
    from mvpt_desktop import player as player_module

    w = make_window(qtbot, world)
    monkeypatch.setattr(player_module, "audio_outputs", lambda: [])
    assert not w.audio_notice.isVisible()
    w.player.playingChanged.emit(True)  # playback starts (the Player's own signal)
    assert w.audio_notice.isVisible() and "plays silently" in w.statusBar().currentMessage()
    monkeypatch.setattr(player_module, "audio_outputs", lambda: ["speakers"])
    w.player.playingChanged.emit(True)
    assert not w.audio_notice.isVisible()
