"""The cue list: the music of the video, cue by cue (what plays where, from where in the
track), with the edits an editor makes scene by scene: start earlier, make longer or
shorter, move before/after its neighbour, remove. The same colours as the timeline's bands.
Under them, the music's start in its track: slipped a beat or a bar on the track's grid,
aligned to the cuts inside the cue ("Align to cuts"), or moved to the next start that fits
those cuts as well ("Next fit").

The panel only shows and asks: ``editRequested(op, index)``, ``slipRequested(index, beats,
bars)``, ``syncRequested(index)`` and ``nextFitRequested(index)`` go to the controller,
which edits the (frozen) cue sheet and sends the new one back.
"""

from __future__ import annotations

import zlib

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .models import fmt_time

PALETTE = ((230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (204, 121, 167), (213, 94, 0),
           (0, 114, 178), (160, 160, 255))
"""Okabe–Ito colours (told apart with colour-blindness) and a lilac."""


def cue_colour(music_path: str) -> QColor:
    """One colour per track: the same song is the same colour wherever it plays."""
    return QColor(*PALETTE[zlib.crc32(music_path.encode()) % len(PALETTE)])


def cue_text(cue) -> str:
    """Where on the video first (what an editor scans), then the track and where in it."""
    return f"{fmt_time(cue.start)}–{fmt_time(cue.end)}   {cue.title}   (from {fmt_time(cue.in_point)} of the track)"


EDITS = (
    ("earlier", "◀+", "Start one scene earlier"),
    ("extend", "+▶", "Longer: one more scene at the end"),
    ("shorten", "−", "Shorter: one scene less at the end"),
    ("up", "▲", "Move before the previous cue"),
    ("down", "▼", "Move after the next cue"),
    ("remove", "✕", "Remove this cue (silence there)"),
)
SLIPS = (
    ("◀◀ bar", 0, -1, "Start the music one bar earlier in its track (on the downbeat before)"),
    ("◀ beat", -1, 0, "Start the music one beat earlier in its track"),
    ("beat ▶", 1, 0, "Start the music one beat later in its track"),
    ("bar ▶▶", 0, 1, "Start the music one bar later in its track (on the next downbeat)"),
)
"""(label, beats, bars, tooltip): the music slips under the picture on its track's grid; the
cue keeps its place on the video."""
FITTED_TIP = "This cue is fitted to the video's length (a re-edit): use the track again, or fit it again, to move its music"


class CuePanel(QGroupBox):
    editRequested = Signal(str, int)
    """(op, cue index): "earlier", "extend", "shorten", "up", "down", "remove"."""
    slipRequested = Signal(int, int, int)
    """(cue index, beats, bars): slip its music on the track's grid (one of the two is 0)."""
    syncRequested = Signal(int)
    """(cue index): slip its music to where the cuts inside it land on the beats."""
    nextFitRequested = Signal(int)
    """(cue index): slip its music to the next start in the track that fits its cuts as well."""
    cueSelected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Cues (the music of the video, in order)", parent)
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        self.list.setWordWrap(True)  # long titles wrap instead of scrolling sideways
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMinimumHeight(2 * self.list.fontMetrics().lineSpacing() + 12)  # gives way to the suggestions
        self.empty = QLabel("No music yet: “Use this music” on a scene adds a cue for that scene; on the "
                            "Whole video tab it scores everything with one track.")
        self.empty.setWordWrap(True)
        self.buttons: dict[str, QToolButton] = {}
        row = QHBoxLayout()
        for op, text, tip in EDITS:
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False, op=op: self._edit(op))
            row.addWidget(b)
            self.buttons[op] = b
        row.addStretch(1)
        music = QHBoxLayout()
        music.setSpacing(3)  # seven controls in the column's width: the video keeps its room
        start = QLabel("Start:")
        start.setToolTip("Where in its track the selected cue's music starts (the cue keeps its place on the video)")
        music.addWidget(start)
        self.slips = [self._button(music, text, tip, lambda _=False, beats=beats, bars=bars: self._slip(beats, bars))
                      for text, beats, bars, tip in SLIPS]
        self.sync_button = self._button(music, "Align to cuts", "Slip the music, within a bar either side, to where "
                                        "the cuts inside this cue land on its beats", self._sync)
        self.next_fit_button = self._button(music, "Next fit ▸", "Jump to the next start in the track where the cuts "
                                            "inside this cue fit about as well (sync cannot tell them apart: hear "
                                            "each, keep the best)", self._next_fit)
        music.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.empty)
        lay.addWidget(self.list, 1)
        lay.addLayout(row)
        lay.addLayout(music)
        self.list.currentRowChanged.connect(self._selected)
        self.list.currentRowChanged.connect(lambda _r: self._enable())
        self._count = 0
        self._fitted: list[bool] = []
        self.setMinimumHeight(130)  # the note (or two cues) and the buttons, however the splitter goes
        self.set_cues(())

    @staticmethod
    def _button(row: QHBoxLayout, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        row.addWidget(b)
        return b

    def set_cues(self, cues) -> None:
        """Show ``cues`` (a cue sheet's), keeping the selected row where it can."""
        keep = self.list.currentRow()
        self.list.blockSignals(True)
        self.list.clear()
        for cue in cues:
            pix = QPixmap(14, 14)
            pix.fill(cue_colour(cue.music_path))
            item = QListWidgetItem(QIcon(pix), cue_text(cue))
            item.setToolTip(f"{cue.music_path}\n{cue.note}".strip())
            self.list.addItem(item)
        self._count = len(cues)
        self._fitted = [bool(cue.pieces) for cue in cues]
        if self._count:
            self.list.setCurrentRow(max(0, min(keep, self._count - 1)))
        self.list.blockSignals(False)
        self.empty.setVisible(not self._count)
        self.list.setVisible(bool(self._count))
        self._enable()

    def select(self, index: int) -> None:
        if 0 <= index < self._count:
            self.list.setCurrentRow(index)

    @property
    def current(self) -> int:
        return self.list.currentRow()

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _enable(self) -> None:
        i = self.list.currentRow()
        ok = 0 <= i < self._count
        for op, b in self.buttons.items():
            b.setEnabled(ok and not (op == "up" and i == 0) and not (op == "down" and i == self._count - 1))
        fitted = ok and self._fitted[i]
        for b in (*self.slips, self.sync_button, self.next_fit_button):
            b.setEnabled(ok and not fitted)
        self.sync_button.setToolTip(FITTED_TIP if fitted else "Slip the music, within a bar either side, to where "
                                    "the cuts inside this cue land on its beats")

    def _selected(self, row: int) -> None:
        if 0 <= row < self._count:
            self.cueSelected.emit(row)

    def _edit(self, op: str) -> None:
        i = self.list.currentRow()
        if 0 <= i < self._count:
            target = i - 1 if op == "up" else i + 1 if op == "down" else i
            self.editRequested.emit(op, i)
            if op in ("up", "down"):
                self.select(target)

    def _slip(self, beats: int, bars: int) -> None:
        i = self.list.currentRow()
        if 0 <= i < self._count:
            self.slipRequested.emit(i, beats, bars)

    def _sync(self) -> None:
        i = self.list.currentRow()
        if 0 <= i < self._count:
            self.syncRequested.emit(i)

    def _next_fit(self) -> None:
        i = self.list.currentRow()
        if 0 <= i < self._count:
            self.nextFitRequested.emit(i)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self._edit("remove")
        else:
            super().keyPressEvent(event)
