"""The first launch: the welcome page's three steps (a music folder indexed with counts and a
failure with its reason, footage opened, a scene picked), the CLIP note shown once, and the
last video reopened from the analysis cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from library_support import save_random_checkpoint, write_songs

from engine.settings import EngineSettings


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A small random MVPt on the weightless extractors (classic pictures: the CLIP note shows)."""
    d = tmp_path_factory.mktemp("welcome-model") / "model"
    save_random_checkpoint(d)
    return d


@pytest.fixture(scope="module")
def short_video(tmp_path_factory) -> Path:
    from training.synthmedia import write_video

    return write_video(tmp_path_factory.mktemp("welcome-video") / "holiday.mp4", 14.0, size=(160, 90), fps=10,
                       gop=10, audio=False, hue=0.4)


def _window(qtbot, tiny_model, data: Path, **gui):
    from mvpt_desktop.controller import Controller
    from mvpt_desktop.main_window import MainWindow
    from mvpt_desktop.settings import GuiSettings

    gui = {"persist": False, "hover_audition": False, **gui}
    c = Controller(EngineSettings(checkpoint=str(tiny_model), data_dir=str(data), device="cpu"),
                   GuiSettings(**gui) if gui.pop("load", False) is False else GuiSettings.load().with_(**gui))
    w = MainWindow(c, reopen_last=bool(gui.get("reopen_last")))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitUntil(lambda: c.status is not None and w.flow.steps.known, timeout=60_000)
    return w


def _drop(window, path: Path) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.dropEvent(QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier))


def test_three_steps_from_an_empty_library_to_a_picked_scene(qtbot, tmp_path, tiny_model, short_video):
    w = _window(qtbot, tiny_model, tmp_path / "data")
    c, page, flow = w.controller, w.welcome, w.flow
    # step 1 first: nothing in the library, the page says what to do
    assert w.central.currentWidget() is page
    assert page.step1.state == "next" and page.step2.state == "todo" and page.step3.state == "todo"
    assert "no music yet" in page.step1.text.text() and "Drop a folder" in page.step1.text.text()
    # a folder of videos dropped by mistake: said, nothing scanned
    videos = tmp_path / "clips"
    videos.mkdir()
    (videos / "a.mp4").write_bytes(short_video.read_bytes())
    _drop(w, videos)
    assert w.errors and "videos, not music" in w.errors[-1]
    # a music folder dropped: indexed with progress, then counts and the failure with its reason
    music = tmp_path / "My Music"
    write_songs(music, 3, seconds=8.0)
    (music / "broken.mp3").write_bytes(b"ID3\x03\x00\x00\x00" + b"\x13" * 3000)
    seen = []
    c.jobStarted.connect(lambda label, h: seen.append(label))
    _drop(w, music)
    qtbot.waitUntil(lambda: page.progress.isVisible() or flow.steps.tracks, timeout=10_000)
    errors = len(w.errors)
    qtbot.waitUntil(lambda: (flow.steps.tracks == 3 and flow.steps.indexed == 3) or len(w.errors) > errors,
                    timeout=180_000)
    assert len(w.errors) == errors, w.errors[-1]
    assert any(s.startswith("Scanning") for s in seen) and any(s.startswith("Indexing") for s in seen)
    s = flow.steps
    assert s.failed == 1 and page.step1.state == "done" and page.step2.state == "next"
    assert "3 tracks indexed" in page.step1.text.text() and "1 file could not be used" in page.step1.text.text()
    items = page.failure_lines
    assert len(items) == 1 and items[0].startswith("• broken.mp3: ") and len(items[0]) > len("• broken.mp3: ") + 5
    assert page.failures.isVisible() and items[0] in page.failures.text()
    assert "Traceback" not in items[0]
    assert str(music) in c.session.settings.music_folders
    # step 2: footage dropped; the editor replaces the page, step 3 is the hint above it
    with qtbot.waitSignal(c.opened, timeout=60_000):
        _drop(w, short_video)
    assert w.central.currentWidget() is w.editor
    assert flow.steps.video == "holiday.mp4" and flow.steps.scenes == len(c.current.analysis)
    assert page.step2.state == "done" and page.step3.state == "next"
    assert w.guide.isVisible() and "pick a scene" in w.guide.text.text()
    assert c.results is not None and c.segment_rows(0)  # suggestions from the indexed tracks
    # step 3: a scene picked on the strip; the hint goes and is remembered as done
    w._timeline_clicked(1)
    assert c.segment == 1 and flow.steps.picked and page.step3.state == "done"
    assert not w.guide.isVisible() and c.gui.guide_done


def test_an_open_video_without_music_says_step_one_is_left_then_gets_suggestions(qtbot, tmp_path, tiny_model, short_video):
    w = _window(qtbot, tiny_model, tmp_path / "data")
    with qtbot.waitSignal(w.controller.opened, timeout=60_000):
        w.open_file(str(short_video))
    assert w.central.currentWidget() is w.editor
    assert w.guide.isVisible() and "no music yet" in w.guide.text.text() and w.guide.button.isVisible()
    assert not w.controller.segment_rows(0)  # nothing to suggest from
    music = tmp_path / "music"
    write_songs(music, 2, seconds=8.0)
    w.flow.add_folder(str(music))
    assert "under way" in w.guide.text.text() and not w.guide.button.isVisible()
    # once indexed, the open video gets its suggestions without being opened again
    qtbot.waitUntil(lambda: bool(w.controller.segment_rows(0)) or bool(w.errors), timeout=180_000)
    assert not w.errors and w.suggestions.scene_model.rowCount() > 0
    qtbot.waitUntil(lambda: "pick a scene" in w.guide.text.text(), timeout=10_000)
    w.guide.close_button.click()
    assert not w.guide.isVisible()


def test_the_clip_note_shows_once_then_stays_dismissed(qtbot, tmp_path, tiny_model):
    w = _window(qtbot, tiny_model, tmp_path / "data", persist=True, load=True)
    assert not w.controller.status.clip_active  # the weightless picture extractor is active
    note = w.welcome.clip_note
    assert not note.isHidden() and "mvpt models" in w.welcome.clip_note_text.text()
    w.welcome.dismiss_button.click()
    assert note.isHidden()
    from mvpt_desktop.learn_dialog import LearnDialog

    assert w.welcome.learn_button.isEnabled()  # "Teach it your style" is one click away
    w.welcome.learn_button.click()
    dialogs = w.findChildren(LearnDialog)
    assert len(dialogs) == 1 and dialogs[0].isVisible() and dialogs[0].start_button.isEnabled()
    dialogs[0].close()
    w.close()
    again = _window(qtbot, tiny_model, tmp_path / "data", persist=True, load=True)
    assert again.controller.gui.clip_note_dismissed and again.welcome.clip_note.isHidden()


def test_the_last_video_reopens_from_the_analysis_cache(qtbot, tmp_path, tiny_model, short_video):
    data = tmp_path / "data"
    first = _window(qtbot, tiny_model, data, persist=True, load=True)
    with qtbot.waitSignal(first.controller.opened, timeout=60_000):
        first.open_file(str(short_video))
    first.close()  # no music chosen, no suggestions: the video is remembered all the same
    stored = {p: p.stat().st_mtime_ns for p in (data / "analyses").iterdir()}
    assert stored
    provisional = []
    again = _window(qtbot, tiny_model, data, persist=True, load=True, reopen_last=True)
    again.controller.provisionalChanged.connect(provisional.append)
    qtbot.waitUntil(lambda: again.controller.current is not None and not again.controller.current.provisional,
                    timeout=60_000)
    assert again.controller.current.analysis.path == str(short_video.resolve())
    assert not provisional  # not read again, scene by scene: it came straight from the cache
    assert {p: p.stat().st_mtime_ns for p in (data / "analyses").iterdir()} == stored
    assert again.central.currentWidget() is again.editor and again.flow.steps.video == "holiday.mp4"


def test_a_file_that_cannot_be_read_leaves_the_welcome_page(qtbot, tmp_path, tiny_model):
    w = _window(qtbot, tiny_model, tmp_path / "data")
    bad = tmp_path / "not really.mp4"
    bad.write_bytes(b"\x00" * 4000)
    handle = w.open_file(str(bad))
    assert w.central.currentWidget() is w.editor  # the editor shows at the click…
    qtbot.waitUntil(lambda: handle.done, timeout=30_000)
    assert w.errors and "not really.mp4" in w.errors[-1]
    assert w.central.currentWidget() is w.welcome and w.welcome.step2.state == "todo"  # …and gives way again
