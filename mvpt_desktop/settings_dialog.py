"""Settings: the model checkpoint, extractors, device, segment length and k (engine
settings, persisted as JSON), and the preview/export sound (desktop settings)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
)

from engine.settings import EngineSettings

from .settings import GuiSettings


class SettingsDialog(QDialog):
    def __init__(self, engine: EngineSettings, gui: GuiSettings, status_line: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._engine, self._gui = engine, gui
        self.checkpoint = QLineEdit(engine.checkpoint or "")
        self.checkpoint.setPlaceholderText("folder of a trained model (mvpt train)")
        self.checkpoint.setMinimumWidth(380)  # a path, readable
        self.browse = browse = QPushButton("Browse…")
        browse.setAutoDefault(False)  # Enter presses OK, not the folder picker
        browse.clicked.connect(self._browse)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(engine.device)
        self.device.setToolTip("auto uses CUDA when a GPU is present")
        self.visual = QComboBox()
        self.visual.addItems(["auto", "clip", "classic"])
        self.visual.setCurrentText(engine.visual_extractor)
        self.music = QComboBox()
        self.music.addItems(["auto", "musicnn", "classic-music"])
        self.music.setCurrentText(engine.music_extractor)
        self.segment = QDoubleSpinBox()
        self.segment.setRange(0.5, 30.0)
        self.segment.setSingleStep(0.5)
        self.segment.setValue(engine.segment_seconds)
        self.segment.setToolTip("used when the model does not decide it (a checkpoint's own value wins)")
        self.k = QSpinBox()
        self.k.setRange(1, 50)
        self.k.setValue(engine.top_k)
        self.original = QDoubleSpinBox()
        self.original.setRange(0.0, 1.0)
        self.original.setSingleStep(0.05)
        self.original.setValue(gui.original_level)
        self.original.setToolTip("0 mutes the footage's own sound under the music")
        self.fade_in = QDoubleSpinBox()
        self.fade_in.setRange(0.0, 10.0)
        self.fade_in.setValue(gui.fade_in)
        self.fade_out = QDoubleSpinBox()
        self.fade_out.setRange(0.0, 20.0)
        self.fade_out.setValue(gui.fade_out)
        self.hover = QCheckBox("Audition a suggestion when the pointer rests on it")
        self.hover.setChecked(gui.hover_audition)
        form = QFormLayout(self)
        if status_line:
            note = QLabel(status_line)
            note.setWordWrap(True)
            form.addRow(note)
        row = QHBoxLayout()
        row.addWidget(self.checkpoint)
        row.addWidget(browse)
        form.addRow("Model checkpoint", row)
        form.addRow("Device", self.device)
        form.addRow("Visual extractor", self.visual)
        form.addRow("Music extractor", self.music)
        form.addRow("Segment length (s)", self.segment)
        form.addRow("Suggestions per list (k)", self.k)
        form.addRow("Original sound level", self.original)
        form.addRow("Fade in (s)", self.fade_in)
        form.addRow("Fade out (s)", self.fade_out)
        form.addRow(self.hover)
        self.buttons = buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                                  | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setDefault(True)
        ok.setAutoDefault(True)
        form.addRow(buttons)

    def browse_start(self) -> str:
        """Where the folder picker opens: the current checkpoint's folder (its parent, where
        sibling runs are), else the user's home — never the app's working directory."""
        text = self.checkpoint.text().strip()
        if text:
            p = Path(text).expanduser()
            for candidate in (p.parent, p):
                if candidate.is_dir() and str(candidate) not in (".", ""):
                    return str(candidate.resolve())
        return str(Path.home())

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Model checkpoint folder", self.browse_start())
        if d:
            self.checkpoint.setText(d)

    def engine_settings(self) -> EngineSettings:
        return self._engine.with_(checkpoint=self.checkpoint.text().strip() or None,
                                  device=self.device.currentText(), visual_extractor=self.visual.currentText(),
                                  music_extractor=self.music.currentText(), segment_seconds=self.segment.value(),
                                  top_k=self.k.value())

    def gui_settings(self) -> GuiSettings:
        return self._gui.with_(original_level=self.original.value(), fade_in=self.fade_in.value(),
                               fade_out=self.fade_out.value(), hover_audition=self.hover.isChecked())
