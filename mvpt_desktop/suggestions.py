"""The suggestion lists: "This scene" (top-k for the selected segment) and "Whole video"
(best tracks with their start offset and coverage), each a table view over a model from
:mod:`mvpt_desktop.models`, with a delegate that draws the score as a bar.

Resting the pointer on a row (or the Audition button, or Enter) asks for an audition;
a double-click (or "Use this music") chooses the music for preview and export.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .models import ConfidenceRole, ObjectRole, ScoreRole, SuggestionModel, TrackModel

HOVER_MS = 700


CONFIDENCE_FULL = 6.0
"""Standard deviations above the library's spread at which the bar is full."""
VERDICT_COLOURS = {"strong": QColor(40, 160, 90), "good": QColor(70, 150, 230), "weak": QColor(120, 120, 128)}


class ScoreDelegate(QStyledItemDelegate):
    """The confidence of a suggestion as a bar (how far it stands above the rest of the
    library for this scene, :func:`tasks.confidence`) with its verdict on it; a raw cosine
    score (−1…1 over 0…1) only where no confidence is known (the whole-video list)."""

    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        score = index.data(ScoreRole)
        if score is None:
            return super().paint(painter, option, index)
        z = index.data(ConfidenceRole)
        painter.save()
        r: QRect = option.rect.adjusted(3, 4, -3, -4)
        if z is None:
            frac, colour, text = max(0.0, min(1.0, (float(score) + 1.0) / 2.0)), QColor(70, 150, 230), f"{score:.2f}"
        else:
            text = str(index.data())
            frac = max(0.0, min(1.0, float(z) / CONFIDENCE_FULL))  # half a bar: about the chance level
            colour = VERDICT_COLOURS.get(text, QColor(70, 150, 230))
        painter.fillRect(r, QColor(60, 60, 66))
        painter.fillRect(QRect(r.left(), r.top(), int(r.width() * frac), r.height()), colour)
        painter.setPen(QColor(250, 250, 250))
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


MIN_ROWS = 3
"""Suggestions a list always has room for."""


def _table(model) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.setAlternatingRowColors(True)
    view.setMouseTracking(True)
    view.setItemDelegateForColumn(model.score_column, ScoreDelegate(view))
    h = view.horizontalHeader()
    h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for c in range(1, model.columnCount()):
        header = model.headerData(c, Qt.Orientation.Horizontal)
        if header == "Tags":  # shares the room left with the names (at 1400×860 a fixed 130 px left
            h.setSectionResizeMode(c, QHeaderView.ResizeMode.Stretch)  # "Awakeni… – …" of a title)
        elif header == "Sync":  # long text (elided; the tooltip has it whole): never squeeze the names
            h.setSectionResizeMode(c, QHeaderView.ResizeMode.Interactive)
            h.resizeSection(c, 90)
        else:
            h.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
    h.setMinimumSectionSize(60)
    # room for MIN_ROWS suggestions (tags wrap to two lines) in a 1400×860 window: the panels below in the
    # window's column give way first (under Xvfb at 1400×860 the list was left two rows)
    line = view.fontMetrics().lineSpacing()
    view.setMinimumHeight(h.sizeHint().height() + MIN_ROWS * (2 * line + 6) + 4)
    return view


class SuggestionsPanel(QWidget):
    auditionRequested = Signal(object)
    """A row object (:class:`tasks.SuggestionRow` or :class:`tasks.TrackRow`)."""
    chosen = Signal(object)
    """A row object: use this music."""
    fitRequested = Signal(object)
    """A whole-video row (:class:`tasks.TrackRow`): use it fitted to the video's length."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scene_model = SuggestionModel(self)
        self.track_model = TrackModel(self)
        self.scene_view = _table(self.scene_model)
        self.track_view = _table(self.track_model)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.scene_view, "This scene")
        self.tabs.addTab(self.track_view, "Whole video")
        self.heading = QLabel("Open footage to see music for each scene")
        self.heading.setWordWrap(True)
        self.audition_button = QPushButton("▶ Audition")
        self.use_button = QPushButton("Use this music")
        self.audition_button.clicked.connect(lambda: self._emit_current(self.auditionRequested))
        self.use_button.clicked.connect(lambda: self._emit_current(self.chosen))
        self.fit_button = QPushButton("Fit to video length")
        self.fit_button.setToolTip("Use this track for the whole video, re-edited on its downbeats "
                                   "so that it ends when the video ends")
        self.fit_button.clicked.connect(lambda: self._emit_current(self.fitRequested))
        self.fit_button.setVisible(False)  # the whole-video tab's action
        buttons = QHBoxLayout()
        buttons.addWidget(self.audition_button)
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.fit_button)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.heading)
        lay.addWidget(self.tabs, 1)
        lay.addLayout(buttons)
        self._headings = ["Open footage to see music for each scene", "Open footage to see music for the whole video"]
        self.tabs.currentChanged.connect(self._show_heading)
        self.hover_enabled = True
        self._hovered: QModelIndex | None = None
        self._hover_timer = QTimer(self, singleShot=True, interval=HOVER_MS)
        self._hover_timer.timeout.connect(self._hover_fired)
        for view in (self.scene_view, self.track_view):
            view.doubleClicked.connect(lambda idx, v=view: self.chosen.emit(idx.data(ObjectRole)))
            view.activated.connect(lambda idx: self.auditionRequested.emit(idx.data(ObjectRole)))
            view.entered.connect(self._entered)
            view.viewport().installEventFilter(self)

    def set_music_mode(self, footage_for_song: bool) -> None:
        """A song was opened: the lists show footage, and there is no soundtrack to choose."""
        self.scene_model.set_footage(footage_for_song)
        self.track_model.set_footage(footage_for_song)
        self.tabs.setTabText(1, "Whole song" if footage_for_song else "Whole video")
        self.use_button.setEnabled(not footage_for_song)
        self._show_heading(self.tabs.currentIndex())  # no fitting music to a song

    def set_headings(self, scene: str, whole: str) -> None:
        """What each tab lists, said above the lists (the shown tab's heading)."""
        self._headings = [scene, whole]
        self._show_heading(self.tabs.currentIndex())

    def _show_heading(self, tab: int) -> None:
        self.heading.setText(self._headings[1 if tab == 1 else 0])
        self.fit_button.setVisible(tab == 1 and self.use_button.isEnabled())

    def show_scene(self, rows, heading: str, whole_heading: str | None = None) -> None:
        self.scene_model.set_rows(rows)
        self.scene_view.setColumnHidden(3, not any(r.tags for r in rows))  # no tagger: no column
        self.set_headings(heading, whole_heading or self._headings[1])
        if rows:
            self.scene_view.selectRow(0)

    def show_tracks(self, rows) -> None:
        self.track_model.set_rows(rows)
        self.track_view.setColumnHidden(4, not any(r.tags for r in rows))
        if rows:
            self.track_view.selectRow(0)

    def current_object(self):
        view = self.tabs.currentWidget()
        rows = view.selectionModel().selectedRows()
        if not rows:
            return None
        return rows[0].data(ObjectRole)

    def _emit_current(self, signal) -> None:
        obj = self.current_object()
        if obj is not None:
            signal.emit(obj)

    def _entered(self, index: QModelIndex) -> None:
        self._hovered = index
        if self.hover_enabled:
            self._hover_timer.start()

    def _hover_fired(self) -> None:
        if self._hovered is not None and self._hovered.isValid():
            self.auditionRequested.emit(self._hovered.data(ObjectRole))

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() == event.Type.Leave:
            self._hover_timer.stop()
            self._hovered = None
        return False
