"""The Insights view: what the model sees in the current video and in the library.

- **Attention**: the attention-rollout weight of every scene of the open video (the visual
  Transformer's [CLS] drawing on each segment, paper Fig. 5), drawn as a bar under the
  scene's thumbnail.
- **Suggested tracks and their tags**: the whole-video suggestions with their musicnn tags,
  and how their genres are spread; the library's genre balance limits what can be suggested.
- **Attribute matrix** (when a labelled image set is chosen: a folder with one subfolder of
  images per class): every music segment of the library with a musicnn genre retrieves its
  closest image through f_v (one image = a one-segment sequence); rows are genres, columns
  classes, normalised per genre (paper Sec. 5). The computation runs on the inference worker
  (:func:`engine.attributes.attribute_matrix_job`); the view only draws.

``mvpt analyze`` writes the same analyses as reports (training/analysis); this module imports
the engine only, as every GUI module does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.attributes import GENRE_TAGS, AttributeMatrix, attribute_matrix_job  # noqa: F401 - the view's data and job

CAUTION = ("Image sets of people (gender, race, age) show the associations the model learned from its training "
           "videos, biases included (paper Sec. 6): use them to see bias, never to choose music for people.")


class AttentionStrip(QWidget):
    """Thumbnails of the scenes in a row, each with its attention weight as a bar under it."""

    THUMB_H, BAR_H, GAP = 54, 46, 4

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.weights = np.zeros(0)
        self.images: list[QImage] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_data(self, thumbnails: list[np.ndarray], weights: np.ndarray) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.images = []
        for t in thumbnails:
            t = np.ascontiguousarray(t, dtype=np.uint8)
            if t.ndim == 3 and t.size:
                self.images.append(QImage(t.data, t.shape[1], t.shape[0], 3 * t.shape[1],
                                          QImage.Format.Format_RGB888).copy())
            else:
                self.images.append(QImage())
        self.updateGeometry()
        self.resize(self.sizeHint())  # inside a scroll area: as wide as the scenes need
        self.update()

    def thumb_width(self) -> int:
        ok = [im for im in self.images if not im.isNull()]
        return int(self.THUMB_H * ok[0].width() / max(1, ok[0].height())) if ok else 96

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt naming
        return QSize(max(200, len(self.weights) * (self.thumb_width() + self.GAP)), self.THUMB_H + self.BAR_H + 18)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return self.sizeHint()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        n = len(self.weights)
        if n == 0:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Open a video to see where the model looks")
            return
        # bars reach full height at twice the uniform weight (or the largest weight), so a flat
        # rollout shows as half-height bars and a peak stands out; the grey line is uniform
        w, hi = self.thumb_width(), max(float(self.weights.max()), 2.0 / n)
        for i in range(n):
            x = i * (w + self.GAP)
            if i < len(self.images) and not self.images[i].isNull():
                p.drawImage(QRectF(x, 0, w, self.THUMB_H), self.images[i])
            bh = self.BAR_H * float(self.weights[i]) / hi
            p.fillRect(QRectF(x, self.THUMB_H + self.BAR_H - bh, w, bh), QColor(214, 39, 40))
            p.drawText(QRectF(x, self.THUMB_H + self.BAR_H, w, 16), Qt.AlignmentFlag.AlignCenter,
                       f"{100 * self.weights[i]:.1f}%")
        y = self.THUMB_H + self.BAR_H - self.BAR_H * (1.0 / n) / hi
        p.setPen(QColor(110, 110, 110))
        p.drawLine(0, int(y), n * (w + self.GAP), int(y))
        p.end()


class InsightsView(QWidget):
    """Attention of the open video, tags of its suggested tracks, and the attribute matrix."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.matrix: AttributeMatrix | None = None
        self.setWindowTitle("Insights")
        lay = QVBoxLayout(self)
        self.heading = QLabel("No video open")
        lay.addWidget(self.heading)

        box = QGroupBox("Where the model looks (attention rollout per scene)")
        bl = QVBoxLayout(box)
        self.attention = AttentionStrip()
        scroll = QScrollArea()
        scroll.setWidget(self.attention)
        scroll.setWidgetResizable(False)
        scroll.setFixedHeight(self.attention.sizeHint().height() + 24)
        bl.addWidget(scroll)
        self.attention_note = QLabel("")
        bl.addWidget(self.attention_note)
        lay.addWidget(box)

        box = QGroupBox("Suggested tracks and their tags")
        bl = QVBoxLayout(box)
        self.tags_table = QTableWidget(0, 3)
        self.tags_table.setHorizontalHeaderLabels(["Track", "Score", "Tags"])
        header = self.tags_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # names first, as in the suggestion lists
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.tags_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        bl.addWidget(self.tags_table)
        self.genre_label = QLabel("")
        self.genre_label.setWordWrap(True)
        bl.addWidget(self.genre_label)
        lay.addWidget(box)

        box = QGroupBox("Attribute matrix: music genre × image class (% per genre)")
        bl = QVBoxLayout(box)
        row = QHBoxLayout()
        self.set_label = QLabel("No labelled image set chosen")
        self.choose_button = QPushButton("Labelled image set…")
        self.choose_button.clicked.connect(self._choose_set)
        row.addWidget(self.set_label, 1)
        row.addWidget(self.choose_button)
        bl.addLayout(row)
        self.matrix_table = QTableWidget(0, 0)
        self.matrix_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        bl.addWidget(self.matrix_table)
        caution = QLabel(CAUTION)
        caution.setWordWrap(True)
        bl.addWidget(caution)
        lay.addWidget(box, 1)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Close Insights (Esc)")
        self.close_button.clicked.connect(self.close)
        bottom.addWidget(self.close_button)
        lay.addLayout(bottom)
        esc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        esc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        esc.activated.connect(self.close)

        controller.opened.connect(self._opened)
        controller.resultsChanged.connect(self._results)
        controller.attributeMatrixReady.connect(self.show_matrix)
        if controller.current is not None:
            self._opened(controller.current)
            self._results(controller.results)
        if controller.attribute_matrix is not None:
            self.show_matrix(controller.attribute_matrix)
        elif controller.gui.labelled_image_set and Path(controller.gui.labelled_image_set).is_dir():
            self.compute(controller.gui.labelled_image_set)  # the set chosen in an earlier session

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt naming
        if event.key() == Qt.Key.Key_Escape:
            self.close()
        else:
            super().keyPressEvent(event)

    # -- the open video ---------------------------------------------------------------------
    def _opened(self, opened) -> None:
        a = opened.analysis
        self.heading.setText(f"{Path(a.path).name}: {len(a)} scenes of {a.segment_seconds:g} s")
        self.attention.set_data(list(a.thumbnails), a.attention)
        if len(a):
            top = int(np.argmax(a.attention))
            self.attention_note.setText(
                f"Most attended: scene {top + 1} ({100 * a.attention[top]:.1f} %; uniform would be "
                f"{100 / len(a):.1f} %)")

    def _results(self, results) -> None:
        rows = results.whole if results is not None else ()
        self.tags_table.setRowCount(len(rows))
        genres: dict[str, int] = {}
        for i, row in enumerate(rows):
            t = row.track
            self.tags_table.setItem(i, 0, QTableWidgetItem(row.name))
            self.tags_table.setItem(i, 1, QTableWidgetItem(f"{t.score:.2f}"))
            self.tags_table.setItem(i, 2, QTableWidgetItem(", ".join(row.tags) or "no tags (scanned without musicnn)"))
            g = next((x for x in row.tags if x in GENRE_TAGS), None)
            if g is not None:
                genres[g] = genres.get(g, 0) + 1
        if genres:
            spread = ", ".join(f"{g} {n}" for g, n in sorted(genres.items(), key=lambda kv: -kv[1]))
            self.genre_label.setText(f"Genres among the {len(rows)} suggestions: {spread}")
        else:
            self.genre_label.setText("No genre among the suggestions' top tags" if rows else "")

    # -- the attribute matrix -----------------------------------------------------------------
    def _choose_set(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Labelled image set (one folder per class)")
        if folder:
            self.compute(folder)

    def compute(self, folder: str):
        """The matrix for ``folder``, which becomes the configured set (kept in the GUI settings)."""
        c = self.controller
        if c.gui.labelled_image_set != folder:
            c.gui = c.gui.with_(labelled_image_set=folder)
            if c.gui.persist:
                c.gui.save()
        self.set_label.setText(f"{folder}: computing…")
        return self.controller.compute_attribute_matrix(folder)

    def show_matrix(self, m: AttributeMatrix) -> None:
        self.matrix = m
        self.set_label.setText(f"{m.folder}: {len(m.classes)} classes × {m.images_per_class} images")
        pct = m.percent
        self.matrix_table.clear()
        self.matrix_table.setRowCount(len(m.genres))
        self.matrix_table.setColumnCount(len(m.classes))
        self.matrix_table.setHorizontalHeaderLabels(list(m.classes))
        self.matrix_table.setVerticalHeaderLabels([f"{g} ({int(m.counts[i].sum())})" for i, g in enumerate(m.genres)])
        for i in range(len(m.genres)):
            for j in range(len(m.classes)):
                v = float(pct[i, j])
                item = QTableWidgetItem(f"{v:.0f}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                shade = int(255 - 180 * v / 100)
                item.setBackground(QColor(shade, shade + (255 - shade) // 3, 255))
                self.matrix_table.setItem(i, j, item)
