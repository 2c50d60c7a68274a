from mvpt_desktop.main_window import MainWindow


def test_window_opens_a_video_and_reports_a_bad_file(qtbot, video_mp4, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: shown.append(a[2]))
    w = MainWindow()
    qtbot.addWidget(w)
    assert w.open_file(str(video_mp4))
    assert "footage" in w._info.text() and "320×180" in w._info.text()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\0" * 100)
    assert not w.open_file(str(bad))
    assert shown and "bad.mp4" in shown[0]
    assert "footage" in w._info.text()  # the previous file stays shown


def test_headless_screenshot(tmp_path, video_mp4):
    import subprocess
    import sys

    png = tmp_path / "shot.png"
    proc = subprocess.run([sys.executable, "main.py", str(video_mp4), "--screenshot", str(png)],
                          capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
