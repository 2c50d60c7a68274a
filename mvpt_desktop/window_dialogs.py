"""What the main window's menus and buttons open: export and the cue sheet file, the
library, "Teach it your style", Insights, settings and a new attribute.

A mixin of :class:`mvpt_desktop.main_window.MainWindow` (it uses its controller, status bar
and ``show_error``), kept apart so the window file holds the layout and the editor's flow.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtWidgets import QFileDialog, QMessageBox

from .attributes_panel import NewAttributeDialog


class WindowDialogsMixin:
    """Export, cue sheet, library, learning, Insights, settings, attributes (see the module doc)."""
    # -- export, library, settings, attributes -------------------------------------------------
    def _save_path(self, what: str, suffix: str, title: str, file_filter: str) -> str | None:
        """Where to save a file made from the open video's cue sheet ("<video stem><suffix>"
        next to the last folder used), or None (nothing chosen, or nothing to save: said)."""
        c = self.controller
        if c.current is None or c.choice is None:
            self.show_error(what, "open footage and choose music for it first")
            return None
        video = Path(c.current.analysis.path)
        default = str(Path(c.gui.last_folder or video.parent) / f"{video.stem}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self, title, default, file_filter)
        return path or None

    def _choose_export(self) -> None:
        path = self._save_path("Nothing to export", " + music.mp4", "Export MP4 and timeline", "MP4 video (*.mp4)")
        if path:
            self.export(path)

    def _choose_sheet_file(self) -> None:
        path = self._save_path("No cue sheet", ".cues.json", "Save the cue sheet", "Cue sheet (*.json)")
        if path:
            self.save_sheet(path)

    def save_sheet(self, path: str) -> Path | None:
        """The cue sheet as JSON, for ``mvpt export VIDEO --cues FILE`` (said in the status bar)."""
        c = self.controller
        try:
            out = c.save_sheet(path)
        except OSError as e:
            self.show_error("Cannot save the cue sheet", str(e))
            return None
        self.statusBar().showMessage(f"Cue sheet saved to {out}; export it from the command line with: mvpt export "
                                     f"\"{c.current.analysis.path}\" --cues \"{out}\" --out OUT.mp4", 15000)
        return out

    def export(self, mp4: str, otio_path: str | None = None):
        otio_path = otio_path or str(Path(mp4).with_suffix(".otio"))
        return self.controller.export(mp4, otio_path)

    def _exported(self, result) -> None:
        """Say where the files went, with "Show in folder" (the platform's file manager)."""
        files = [str(f) for f in (result.mp4, result.otio) if f]
        if not files:
            return
        folder = str(Path(files[0]).parent)
        text = "Exported:\n" + "\n".join(files)
        QTimer.singleShot(0, lambda: self.statusBar().showMessage(f"Exported {' and '.join(files)}", 15000))
        box = QMessageBox(QMessageBox.Icon.Information, "Export finished", text, QMessageBox.StandardButton.Close, self)
        show = box.addButton("Show in folder", QMessageBox.ButtonRole.ActionRole)
        show.clicked.connect(lambda: self.open_url(QUrl.fromLocalFile(folder)))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_box = box
        box.open()

    def show_library(self):
        from .library_dialog import LibraryDialog

        dlg = LibraryDialog(self.controller, self)
        dlg.open()
        return dlg

    def show_learn(self):
        """"Teach it your style": learn from a folder of finished edits (a child process)."""
        from .learn_dialog import LearnDialog

        dlg = LearnDialog(self.controller, self)
        dlg.open()
        return dlg

    def show_insights(self):
        """What the model sees: attention, the suggestions' tags, the attribute matrix."""
        from .insights import InsightsView

        if self.insights is None:
            self.insights = InsightsView(self.controller, self)
            self.insights.setWindowFlag(Qt.WindowType.Window)
            self.insights.resize(900, 700)
        self.insights.show()
        self.insights.raise_()
        return self.insights

    def show_settings(self):
        from .settings_dialog import SettingsDialog

        c = self.controller
        st = c.status
        dlg = SettingsDialog(c.session.settings, c.gui, f"Active: {st.model} · {st.extractors}" if st else "", self)

        def accepted() -> None:
            c.gui = dlg.gui_settings()
            if c.gui.persist:
                c.gui.save()
            self.suggestions.hover_enabled = c.gui.hover_audition
            if dlg.engine_settings() != c.session.settings:
                c.apply_settings(dlg.engine_settings(), save=c.gui.persist)

        dlg.accepted.connect(accepted)
        dlg.open()
        return dlg

    def new_attribute(self):
        st = self.controller.status
        dlg = NewAttributeDialog(bool(st and st.clip_active), self.controller.gui.last_folder, self)

        def accepted() -> None:
            name, source, domain = dlg.values()
            self.controller.create_attribute(name, domain=domain, **source)

        dlg.accepted.connect(accepted)
        dlg.open()
        return dlg
