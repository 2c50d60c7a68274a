"""The main window. For now: open/drop a file and see what the media layer reads in it.

The timeline, suggestions, attributes and preview come with the GUI issue; this window
already follows its rules: engine work never runs on the GUI thread... except ``probe``,
which reads only the file header (milliseconds).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox

from engine.media import MediaError
from engine.media.probe import probe


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("MVPT Desktop")
        self.setAcceptDrops(True)
        self._info = QLabel("Drop footage or a song here, or use File → Open…")
        self._info.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._info.setWordWrap(True)
        self.setCentralWidget(self._info)
        menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open…", self)
        open_action.setShortcut(QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self._choose_file)
        menu.addAction(open_action)
        self.statusBar().showMessage("Ready")

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open footage or music")
        if path:
            self.open_file(path)

    def open_file(self, path: str) -> bool:
        try:
            info = probe(path)
        except MediaError as e:
            self.statusBar().showMessage(str(e))
            QMessageBox.warning(self, "Cannot open this file", str(e))
            return False
        kind = "footage" if info.video else "music"
        lines = [f"<b>{Path(path).name}</b> ({kind})", f"{info.duration:.1f} s, {info.container}"]
        if info.video:
            w, h = info.video.display_size
            lines.append(f"video: {info.video.codec} {w}×{h}")
        if info.audio:
            lines.append(f"audio: {info.audio.codec} {info.audio.sample_rate} Hz")
        self._info.setText("<br>".join(lines))
        self.statusBar().showMessage(f"Opened {Path(path).name}")
        return True

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt naming
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt naming
        urls = event.mimeData().urls()
        if urls:
            self.open_file(urls[0].toLocalFile())
