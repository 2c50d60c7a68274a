"""Settings: the model checkpoint, extractors, device, segment length and k (engine
settings, persisted as JSON), and the preview/export sound (desktop settings): the Mix group
holds issue 15's mix (ducking under the footage's speech, its own sound, loudness target)."""

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
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
)

from engine.settings import EngineSettings

from .settings import GuiSettings

ORIGINAL_MODES = (("full", "Full"), ("speech", "Under speech only (level elsewhere below)"), ("off", "Off"))
"""The footage's own sound: GuiSettings.original value, what the dialog shows."""
LOUDNESS_PRESETS = (("Web (−14 LUFS)", -14.0), ("Broadcast (−23 LUFS)", -23.0), ("Off — keep levels", None))
"""Loudness target presets: what the dialog shows, GuiSettings.loudness_target."""


def _spin(lo: float, hi: float, step: float, value: float, suffix: str, decimals: int = 2) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setSuffix(suffix)
    box.setValue(value)
    return box


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
        self.original_mode = QComboBox()
        for value, text in ORIGINAL_MODES:
            self.original_mode.addItem(text, value)
        self.original_mode.setCurrentIndex(max(0, self.original_mode.findData(gui.original)))
        self.original_mode.setToolTip("Off: no dialogue to keep audible, so the music is not ducked either")
        self.original = QDoubleSpinBox()
        self.original.setRange(0.0, 1.0)
        self.original.setSingleStep(0.05)
        self.original.setValue(gui.original_level)
        self.original.setToolTip("level of the footage's own sound outside speech (0 = silent there)")
        self.duck = QCheckBox("Duck music under speech")
        self.duck.setChecked(gui.duck)
        self.duck_depth = _spin(-48.0, 0.0, 1.0, gui.duck_depth_db, " dB", 1)
        self.duck_depth.setToolTip("how far the music goes down while someone speaks")
        self.duck_attack = _spin(0.0, 2.0, 0.05, gui.duck_attack, " s")
        self.duck_release = _spin(0.0, 5.0, 0.1, gui.duck_release, " s")
        self.duck_lookahead = _spin(0.0, 1.0, 0.05, gui.duck_lookahead, " s")
        self.duck_lookahead.setToolTip("the music starts going down this long before the speech")
        self.duck_hold = _spin(0.0, 3.0, 0.1, gui.duck_hold, " s")
        self.duck_hold.setToolTip("pauses in speech shorter than this keep the music down (no pumping)")
        self.loudness = QComboBox()
        for text, target in LOUDNESS_PRESETS:
            self.loudness.addItem(text, target)
        presets = [t for _, t in LOUDNESS_PRESETS]
        if gui.loudness_target not in presets:  # a target set by hand in desktop.json: kept, shown
            self.loudness.addItem(f"{gui.loudness_target:g} LUFS", gui.loudness_target)
            presets.append(gui.loudness_target)
        self.loudness.setCurrentIndex(presets.index(gui.loudness_target))
        self.true_peak = _spin(-9.0, 0.0, 0.5, gui.true_peak, " dBTP", 1)
        self.true_peak.setToolTip("ceiling of the master's true peak")
        self.duck.toggled.connect(self._enable_mix)
        self.original_mode.currentIndexChanged.connect(self._enable_mix)
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
        form.addRow("Fade in (s)", self.fade_in)
        form.addRow("Fade out (s)", self.fade_out)
        mix = QGroupBox("Mix")
        mform = QFormLayout(mix)
        mform.addRow("Footage's own sound", self.original_mode)
        mform.addRow("Its level outside speech", self.original)
        mform.addRow(self.duck)
        mform.addRow("Ducking depth", self.duck_depth)
        mform.addRow("Attack", self.duck_attack)
        mform.addRow("Release", self.duck_release)
        mform.addRow("Look-ahead", self.duck_lookahead)
        mform.addRow("Hold", self.duck_hold)
        mform.addRow("Loudness target", self.loudness)
        mform.addRow("True-peak ceiling", self.true_peak)
        form.addRow(mix)
        self._enable_mix()
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

    def _enable_mix(self) -> None:
        """Greys out what has no effect: ducking with the footage's sound off, its level unless
        "under speech only", the envelope with ducking off (the true-peak limiter always runs,
        with or without a loudness target)."""
        mode = self.original_mode.currentData()
        self.original.setEnabled(mode == "speech")
        self.duck.setEnabled(mode != "off")
        ducking = self.duck.isChecked() and mode != "off"
        for box in (self.duck_depth, self.duck_attack, self.duck_release, self.duck_lookahead, self.duck_hold):
            box.setEnabled(ducking)

    def gui_settings(self) -> GuiSettings:
        return self._gui.with_(original=self.original_mode.currentData(), original_level=self.original.value(),
                               duck=self.duck.isChecked(), duck_depth_db=self.duck_depth.value(),
                               duck_attack=self.duck_attack.value(), duck_release=self.duck_release.value(),
                               duck_lookahead=self.duck_lookahead.value(), duck_hold=self.duck_hold.value(),
                               loudness_target=self.loudness.currentData(), true_peak=self.true_peak.value(),
                               fade_in=self.fade_in.value(), fade_out=self.fade_out.value(),
                               hover_audition=self.hover.isChecked())
