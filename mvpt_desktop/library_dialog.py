"""The library: music and footage folders, what was indexed, and the files that failed
with their reasons. Adding a folder scans it (worker processes) and indexes it for the
model; the dialog shows the progress and stays usable meanwhile."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from . import tasks


class LibraryDialog(QDialog):
    def __init__(self, controller, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Library")
        self.resize(720, 480)
        self.folders = QListWidget()
        self.counts = QLabel("…")
        self.counts.setWordWrap(True)
        self.failures = QListWidget()
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress_label = QLabel("")
        add_music = QPushButton("Add music folder…")
        add_footage = QPushButton("Add footage folder…")
        self.remove = QPushButton("Remove folder")
        add_music.clicked.connect(lambda: self._add("music"))
        add_footage.clicked.connect(lambda: self._add("footage"))
        self.remove.clicked.connect(self._remove)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        for b in (add_music, add_footage, self.remove):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Folders"))
        lay.addWidget(self.folders, 2)
        lay.addWidget(self.counts)
        lay.addWidget(self.progress_label)
        lay.addWidget(self.progress)
        lay.addWidget(QLabel("Files that could not be used"))
        lay.addWidget(self.failures, 1)
        lay.addLayout(buttons)
        self.overview: tasks.LibraryOverview | None = None
        controller.jobStarted.connect(self._job)
        self.refresh()

    def refresh(self):
        session = self.controller.session
        h = self.controller.workers.io.submit(lambda cancel: tasks.library_overview(session), "library overview")
        h.returned.connect(self._show)
        return h

    def _show(self, ov: tasks.LibraryOverview) -> None:
        self.overview = ov
        self.folders.clear()
        for kind, path in ov.folders:
            item = QListWidgetItem(f"{kind:<8}  {path}")
            item.setData(256, path)
            self.folders.addItem(item)
        parts = []
        for kind in ("music", "footage"):
            c = ov.counts.get(kind, {})
            emb = f", {ov.embedded.get(kind, 0)} indexed for the model" if ov.embedded else ", no model to index for"
            parts.append(f"{kind}: {c.get('ok', 0)} files ok, {c.get('failed', 0)} failed{emb}")
        self.counts.setText(" · ".join(parts))
        self.failures.clear()
        for path, reason in ov.failures:
            self.failures.addItem(f"{path}: {reason}")

    def _add(self, kind: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, f"Add a {kind} folder", self.controller.gui.last_folder)
        if folder:
            self.add_folder(folder, kind)

    def add_folder(self, folder: str, kind: str):
        return self.controller.add_library_folder(folder, kind)

    def _remove(self) -> None:
        item = self.folders.currentItem()
        if item is not None:
            self.remove_folder(item.data(256))

    def remove_folder(self, path: str):
        h = self.controller.remove_library_folder(path)
        h.finished.connect(self.refresh)
        return h

    def _job(self, label: str, handle) -> None:
        if not any(w in label for w in ("Scanning", "Indexing", "Removing")):
            return
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.progress_label.setText(label)

        def on_progress(p) -> None:
            if p.total:
                self.progress.setRange(0, p.total)
                self.progress.setValue(p.done)
            self.progress_label.setText(f"{label}: {p.message}")

        def on_finished() -> None:
            self.progress.setVisible(False)
            self.progress_label.setText(f"{label}: {handle.state}" + (f" ({handle.error})" if handle.error else ""))
            self.refresh()

        handle.progress.connect(on_progress)
        handle.finished.connect(on_finished)
