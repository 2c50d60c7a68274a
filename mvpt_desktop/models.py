"""Qt item models over plain frozen data (napari's pattern): the rows are Python objects
made by the engine side (:mod:`mvpt_desktop.tasks`); ``ObjectRole`` hands the object back,
and each column is a small function of it. Nothing here computes anything."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from engine.recommend import clock

from .tasks import SuggestionRow, TrackRow

ObjectRole = Qt.ItemDataRole.UserRole + 1
"""The row's Python object (a frozen dataclass)."""
ScoreRole = Qt.ItemDataRole.UserRole + 2
"""float −1…1 for the score delegate."""
ConfidenceRole = Qt.ItemDataRole.UserRole + 3
"""float: standard deviations above the library's spread (None: not known)."""


def fmt_time(seconds: float | None) -> str:
    return "–" if seconds is None else clock(seconds)


Column = tuple[str, Callable[[Any], Any]]


class ObjectTableModel(QAbstractTableModel):
    """Rows of plain objects; ``columns`` are ``(header, value-of-row)`` pairs."""

    columns: tuple[Column, ...] = ()
    score_column: int | None = None

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[Any]:
        return list(self._rows)

    def row_object(self, row: int) -> Any:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.columns)

    header_tips: dict[str, str] = {}
    """What a column means, shown when the pointer rests on its header."""

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section][0]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return self.header_tips.get(self.columns[section][0])
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        obj = self._rows[index.row()]
        if role == ObjectRole:
            return obj
        if role == ScoreRole:
            return self.score(obj)
        if role == ConfidenceRole:
            return self.confidence(obj)
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[index.column()][1](obj)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(obj)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def score(self, obj: Any) -> float | None:
        return None

    def confidence(self, obj: Any) -> float | None:
        return None

    def tooltip(self, obj: Any) -> str | None:
        return None


class SuggestionModel(ObjectTableModel):
    """Top-k suggestions for the selected segment: music for a video (footage for a song)."""

    columns = (
        ("Music", lambda r: r.name),
        ("Start at", lambda r: fmt_time(r.track_start) + (" ♪ on beat" if r.beat_start is not None else "")),
        ("Fit", lambda r: r.verdict or f"{r.suggestion.score:.2f}"),
        ("Tags", lambda r: ", ".join(r.tags)),
    )
    score_column = 2

    def __init__(self, parent=None, footage: bool = False) -> None:
        super().__init__(parent)
        self.set_footage(footage)

    def set_footage(self, footage: bool) -> None:
        """Footage for a song: the first column names the clip file."""
        first = ("Footage", lambda r: Path(r.suggestion.path).name) if footage else SuggestionModel.columns[0]
        self.columns = (first, *SuggestionModel.columns[1:])
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 0)

    def score(self, obj: SuggestionRow) -> float:
        return obj.suggestion.score

    def confidence(self, obj: SuggestionRow) -> float | None:
        return obj.confidence

    def tooltip(self, obj: SuggestionRow) -> str:
        s = obj.suggestion
        z = "" if obj.confidence is None else (
            f"\n{obj.confidence:+.1f} standard deviations from the library's median for this scene; chance alone "
            f"reaches {obj.bar:.1f} with this many tracks ({obj.verdict})")
        beat = "" if obj.beat_start is None else f" (on the beat: {fmt_time(obj.beat_start)})"
        return f"{s.path}\nsegment {s.segment}, from {fmt_time(s.start)}{beat} · score {s.score:.3f}{z}"


class TrackModel(ObjectTableModel):
    """The best tracks for the whole video, each with its fitted start and coverage."""

    columns = (
        ("Music", lambda r: r.name),
        ("Start at", lambda r: fmt_time(r.track.offset) + (" ♪ downbeat" if r.track.on_downbeat else "")),
        ("Covers", lambda r: "–" if r.track.coverage is None else f"{100 * r.track.coverage:.0f}%"),
        ("Score", lambda r: f"{r.track.score:.2f}"),
        ("Sync", lambda r: r.track.sync_label),
        ("Tags", lambda r: ", ".join(r.tags)),
    )
    score_column = 3
    header_tips = {
        "Start at": "Where in the track the music starts under the video's first frame "
                    "(♪ downbeat: on the first beat of a bar)",
        "Sync": "How sure the sync is that the video's cuts and energy follow this track from that start, "
                "against unrelated videos (50 % or more: the cuts really follow it). \"no steady beat\": found "
                "from its note starts, not a beat grid; \"start unsure\": other starts fit nearly as well "
                "(the row's tooltip names them)",
    }

    def __init__(self, parent=None, footage: bool = False) -> None:
        super().__init__(parent)
        self.set_footage(footage)

    def set_footage(self, footage: bool) -> None:
        """Footage for a whole song: the first column names the clip file."""
        first = ("Footage", lambda r: Path(r.track.path).name) if footage else TrackModel.columns[0]
        self.columns = (first, *TrackModel.columns[1:])
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 0)

    def score(self, obj: TrackRow) -> float:
        return obj.track.score

    def tooltip(self, obj: TrackRow) -> str:
        t = obj.track
        fit = "" if t.fit_score is None else f", per-segment fit {t.fit_score:.3f}"
        sync = "" if t.sync is None else f"\nsync with the cuts: {t.sync_label}"
        note = f"\n{t.note}" if t.note else ""  # why this start, and which others fit nearly as well
        return f"{t.path}\nstart at {fmt_time(t.offset)}{fit}{sync}{note}"
