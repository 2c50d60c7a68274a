"""Attributes: one signed slider (−1…+1) per attribute of the active model, and the
"New attribute…" dialog (a folder of images, a folder of audio, or a text prompt — text
only when CLIP is the active visual extractor)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

SCALE = 100
TEXT_NEEDS_CLIP = ("Text prompts need the CLIP visual extractor, which is not active: add CLIP weights "
                   "(see Settings), or define the attribute with example images.")


class AttributesPanel(QGroupBox):
    weightChanged = Signal(str, float)
    createRequested = Signal()
    deleteRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Attributes (+ more of it, − less of it)", parent)
        self._grid = QGridLayout()
        self._sliders: dict[str, QSlider] = {}
        self._values: dict[str, QLabel] = {}
        self._rows: list[QWidget] = []
        self.empty = QLabel("No attributes yet: make one from example images, songs or a text prompt.")
        self.empty.setWordWrap(True)
        self.new_button = QPushButton("New attribute…")
        self.new_button.clicked.connect(self.createRequested)
        self.reset_button = QPushButton("Reset")
        self.reset_button.clicked.connect(self.reset)
        bottom = QHBoxLayout()
        bottom.addWidget(self.new_button)
        bottom.addWidget(self.reset_button)
        bottom.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.empty)
        lay.addLayout(self._grid)
        lay.addLayout(bottom)

    def set_attributes(self, infos, weights: dict[str, float]) -> None:
        for w in self._rows:
            self._grid.removeWidget(w)
            w.deleteLater()
        self._rows, self._sliders, self._values = [], {}, {}
        for r, info in enumerate(infos):
            name = QLabel(info.name)
            name.setToolTip(f"{info.modality} · {info.source}")
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(-SCALE, SCALE)
            slider.setValue(int(round(weights.get(info.name, 0.0) * SCALE)))
            slider.setTickPosition(QSlider.TickPosition.TicksBelow)
            slider.setTickInterval(SCALE)
            value = QLabel(self._fmt(slider.value()))
            value.setMinimumWidth(40)
            remove = QToolButton()
            remove.setText("✕")
            remove.setToolTip(f"Delete '{info.name}'")
            slider.valueChanged.connect(lambda v, n=info.name: self._moved(n, v))
            remove.clicked.connect(lambda _=False, n=info.name: self.deleteRequested.emit(n))
            for c, w in enumerate((name, slider, value, remove)):
                self._grid.addWidget(w, r, c)
                self._rows.append(w)
            self._sliders[info.name] = slider
            self._values[info.name] = value
        self.empty.setVisible(not infos)
        self.reset_button.setEnabled(bool(infos))

    def slider(self, name: str) -> QSlider:
        return self._sliders[name]

    def names(self) -> list[str]:
        return list(self._sliders)

    def reset(self) -> None:
        for s in self._sliders.values():
            s.setValue(0)

    @staticmethod
    def _fmt(v: int) -> str:
        return f"{v / SCALE:+.2f}"

    def _moved(self, name: str, v: int) -> None:
        self._values[name].setText(self._fmt(v))
        self.weightChanged.emit(name, v / SCALE)


class NewAttributeDialog(QDialog):
    """Name + one source. ``values()`` -> (name, {"images"|"audio"|"text": value}, domain)."""

    def __init__(self, clip_active: bool, start_folder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New attribute")
        self.start_folder = start_folder
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. drums, bright, calm")
        self.kind = QButtonGroup(self)
        self.images = QRadioButton("A folder of example images")
        self.audio = QRadioButton("A folder of example songs")
        self.text = QRadioButton("A text prompt")
        for i, b in enumerate((self.images, self.audio, self.text)):
            self.kind.addButton(b, i)
        self.images.setChecked(True)
        self.folder = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(self.folder))
        self.prompt = QLineEdit()
        self.prompt.setPlaceholderText("e.g. a sunny beach")
        self.domain = QLineEdit()
        self.domain.setPlaceholderText("optional: a folder of ordinary examples of the same kind")
        dbrowse = QPushButton("Browse…")
        dbrowse.clicked.connect(lambda: self._browse(self.domain))
        self.clip_note = QLabel("" if clip_active else TEXT_NEEDS_CLIP)
        self.clip_note.setWordWrap(True)
        self.text.setEnabled(clip_active)
        self.prompt.setEnabled(clip_active)
        form = QFormLayout(self)
        form.addRow("Name", self.name)
        form.addRow(self.images)
        form.addRow(self.audio)
        row = QHBoxLayout()
        row.addWidget(self.folder)
        row.addWidget(browse)
        form.addRow("Folder", row)
        form.addRow(self.text)
        form.addRow("Prompt", self.prompt)
        form.addRow(self.clip_note)
        drow = QHBoxLayout()
        drow.addWidget(self.domain)
        drow.addWidget(dbrowse)
        form.addRow("Domain", drow)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

    def _browse(self, line: QLineEdit) -> None:
        d = QFileDialog.getExistingDirectory(self, "Choose a folder", self.start_folder)
        if d:
            line.setText(d)

    def values(self) -> tuple[str, dict[str, str], str | None]:
        name = self.name.text().strip()
        if self.text.isChecked():
            source = {"text": self.prompt.text().strip()}
        else:
            source = {"images" if self.images.isChecked() else "audio": self.folder.text().strip()}
        return name, source, (self.domain.text().strip() or None)
