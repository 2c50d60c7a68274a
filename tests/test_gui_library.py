"""The library dialog (add a folder: scan + index in workers, counts, failures with
reasons, remove), the first run without a model, and persisted settings."""

from __future__ import annotations

import time

from gui_support import StallProbe, make_window

from engine.settings import EngineSettings


def test_add_and_remove_a_music_folder_with_a_broken_file(qtbot, world, tmp_path):
    from pairs_world import write_pair

    from mvpt_desktop.library_dialog import LibraryDialog

    w = make_window(qtbot, world)
    c = w.controller
    folder = tmp_path / "more music"
    write_pair(folder, 5, 6, seed=9, with_video=False, name="new_song")
    (folder / "broken.mp3").write_bytes(b"ID3\x03\x00\x00\x00" + b"\x13" * 3000)
    dlg = LibraryDialog(c, w)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.overview is not None, timeout=10_000)
    before = dlg.overview.counts["music"]["ok"]
    embedded = dlg.overview.embedded["music"]
    try:
        probe = StallProbe(5)
        probe.start()
        t0 = time.perf_counter()
        with qtbot.waitSignal(c.info, timeout=120_000):  # "library ready": scanned, then indexed
            dlg.add_folder(str(folder), "music")
            assert dlg.progress.isVisible()
        probe.stop()
        print(f"indexing {time.perf_counter() - t0:.2f} s, {probe.report()}")
        assert probe.worst_own_ms < 50, probe.report()
        qtbot.waitUntil(lambda: dlg.overview.embedded["music"] == embedded + 1, timeout=10_000)
        ov = dlg.overview
        assert ov.counts["music"]["failed"] >= 1 and ov.counts["music"]["ok"] == before + 1
        reasons = [r for p, r in ov.failures if p.endswith("broken.mp3")]
        assert reasons and "Traceback" not in reasons[0]
        assert any(reasons[0] in dlg.failures.item(i).text() for i in range(dlg.failures.count()))
        assert str(folder.resolve()) in [dlg.folders.item(i).data(256) for i in range(dlg.folders.count())]
        assert str(folder) in c.session.settings.music_folders
        with qtbot.waitSignal(dlg.remove_folder(str(folder.resolve())).finished, timeout=30_000):
            pass
        qtbot.waitUntil(lambda: dlg.overview.counts["music"]["ok"] == before, timeout=10_000)
    finally:
        c.session.library.remove_folder(folder)  # the world is shared: leave it as it was
    assert not any(p.endswith("broken.mp3") for p, _ in dlg.overview.failures)


def test_first_run_without_a_model_explains_and_does_not_fail(qtbot, tmp_path, video_mp4):
    from mvpt_desktop.controller import Controller
    from mvpt_desktop.main_window import MainWindow
    from mvpt_desktop.settings import GuiSettings

    c = Controller(EngineSettings(checkpoint=None, data_dir=str(tmp_path / "data"), device="cpu"),
                   GuiSettings(persist=False))
    w = MainWindow(c)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: c.status is not None, timeout=60_000)
    assert not c.status.has_model
    assert "no model" in w.model_label.text() and "visual:" in w.model_label.toolTip()
    assert "Settings" in w.video._message and "mvpt train" in w.video._message
    with qtbot.waitSignal(c.opened, timeout=30_000):  # footage opens; suggestions need a model
        w.open_file(str(video_mp4))
    qtbot.waitUntil(lambda: "need a trained model" in w.statusBar().currentMessage(), timeout=3000)
    assert not w.errors and c.current is not None and c.choice is None


def test_settings_are_persisted(qtbot, tmp_path):
    from mvpt_desktop.controller import Controller
    from mvpt_desktop.main_window import MainWindow
    from mvpt_desktop.settings import GuiSettings

    c = Controller(EngineSettings(data_dir=str(tmp_path / "data"), device="cpu"), GuiSettings())
    w = MainWindow(c)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: c.status is not None, timeout=60_000)
    dlg = w.show_settings()
    dlg.k.setValue(3)
    dlg.original.setValue(0.2)
    dlg.device.setCurrentText("cpu")
    with qtbot.waitSignal(c.statusChanged, timeout=60_000):
        dlg.accept()  # a new session from the new settings
    assert c.session.settings.top_k == 3 and c.k == 3
    assert EngineSettings.load().top_k == 3
    assert GuiSettings.load().original_level == 0.2
