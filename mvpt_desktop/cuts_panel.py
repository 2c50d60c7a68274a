"""The rhythm panel: the "Sync to cuts" control and the video's cuts against the chosen cue's beats.

The slider sets how much the whole-video list follows the cuts landing on the beats (the
engine's ``sync_weight``, 0–100 %); the list gives each cut with the nearest beat of the
chosen cue's track and the shift that would put it on the beat ("0:12.4 → beat at 0:12.5,
+0.1 s"). No engine work happens here: the controller reads the rhythm off the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QSlider, QVBoxLayout, QWidget

SYNC_TIP = ("How much the whole-video list prefers tracks whose beats land on the video's cuts (0 %: the "
            "model's match only). Re-ranks at once; the video is not read again.")


class CutsPanel(QWidget):
    syncChanged = Signal(float)
    """The sync weight, 0…1, as the slider moves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sync = QSlider(Qt.Orientation.Horizontal)
        self.sync.setRange(0, 100)
        self.sync.setToolTip(SYNC_TIP)
        self.sync_label = QLabel()
        self.sync_label.setMinimumWidth(40)
        row = QHBoxLayout()
        name = QLabel("Sync to cuts")
        name.setToolTip(SYNC_TIP)
        row.addWidget(name)
        row.addWidget(self.sync, 1)
        row.addWidget(self.sync_label)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        self.list.setMinimumHeight(2 * self.list.fontMetrics().lineSpacing() + 12)  # gives way to the suggestions
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.addLayout(row)
        v.addWidget(self.heading)
        v.addWidget(self.list, 1)
        self.sync.valueChanged.connect(self._moved)
        self.set_rhythm(None)

    def set_sync(self, weight: float) -> None:
        """Show ``weight`` (0…1) without emitting ``syncChanged``."""
        self.sync.blockSignals(True)
        self.sync.setValue(int(round(100 * max(0.0, min(1.0, weight)))))
        self.sync.blockSignals(False)
        self.sync_label.setText(f"{self.sync.value()} %")

    def _moved(self, value: int) -> None:
        self.sync_label.setText(f"{value} %")
        self.syncChanged.emit(value / 100.0)

    def set_rhythm(self, rhythm, cuts_known: bool = True) -> None:
        """The cuts of the video against ``rhythm`` (a :class:`tasks.CueRhythm`; None: no music chosen)."""
        self.list.clear()
        if rhythm is None:
            self.heading.setText("Cuts: choose music to see how they fall on its beats")
            return
        if not rhythm.has_cuts:
            self.heading.setText("No cuts found in this video: nothing to put on the beat")
            return
        if rhythm.steady:
            tempo = f", {rhythm.tempo:.0f} BPM" if rhythm.tempo else ""
            on = [r for r in rhythm.rows if r.beat is not None]
            self.heading.setText(f"{len(rhythm.cuts)} cuts against the beats of <b>{rhythm.title}</b>{tempo}; "
                                 f"{len(on)} under this cue, shift to snap each:")
        else:
            self.heading.setText(f"{len(rhythm.cuts)} cuts; <b>{rhythm.title}</b>: {rhythm.reason or 'no steady beat'}"
                                 " (no beats to snap to)")
        first = None
        for r in rhythm.rows:
            item = QListWidgetItem(r.text())
            item.setData(Qt.ItemDataRole.UserRole, r)
            if r.beat is None:
                item.setForeground(Qt.GlobalColor.gray)
            elif first is None:
                first = item
            self.list.addItem(item)
        if first is not None:  # the cue's own cuts in view, not those of the cues before it
            self.list.scrollToItem(first, QListWidget.ScrollHint.PositionAtTop)

    def texts(self) -> list[str]:
        """The rows as shown (for tests and the report)."""
        return [self.list.item(i).text() for i in range(self.list.count())]
