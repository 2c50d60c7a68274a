"""The timeline: one thumbnail per segment with its time range, and under it the attention
heatmap along the video (pyqtgraph), both on one time axis so they line up exactly.

Click a segment to select it (``segmentClicked``); the selection is a frame around the
segment in both rows and the playhead a vertical line through both.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QSizePolicy

from .models import fmt_time

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

THUMB_ROW = 1.0
HEAT_CMAP = "inferno"


class Timeline(pg.GraphicsLayoutWidget):
    segmentClicked = Signal(int)
    seekRequested = Signal(float)
    """Seconds: a click on the time axis asks the player to go there."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground(QColor(32, 33, 36))
        self.setMinimumHeight(170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(190)
        self.ci.setSpacing(0)
        self.thumbs = self.addPlot(row=0, col=0)
        self.heat = self.addPlot(row=1, col=0)
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 1)
        for p in (self.thumbs, self.heat):
            p.setMouseEnabled(x=False, y=False)
            p.disableAutoRange()
            p.hideButtons()
            p.setMenuEnabled(False)
            p.getAxis("left").setWidth(64)
        self.thumbs.getAxis("bottom").setTicks([[], []])
        self.thumbs.getAxis("bottom").setTextPen(pg.mkPen(220, 220, 220))
        self.thumbs.invertY(True)
        self.thumbs.getAxis("left").setTicks([[]])
        self.thumbs.setLabel("left", "scenes")
        self.heat.setLabel("left", "attention")
        self.heat.getAxis("left").setTicks([[]])
        self.heat.setXLink(self.thumbs)
        self.heat.getAxis("bottom").setTickSpacing()
        self.starts = np.zeros(0)
        self.ends = np.zeros(0)
        self.attention = np.zeros(0)
        self.duration = 0.0
        self.selected = -1
        self._items: list = []
        pen = pg.mkPen(QColor(80, 200, 255), width=3)
        self._sel = [pg.QtWidgets.QGraphicsRectItem() for _ in range(2)]
        for box, plot in zip(self._sel, (self.thumbs, self.heat)):
            box.setPen(pen)
            box.setZValue(10)
            box.setVisible(False)
            plot.addItem(box)
        self._heads = [pg.InfiniteLine(0, pen=pg.mkPen(QColor(255, 80, 80), width=2)) for _ in range(2)]
        for line, plot in zip(self._heads, (self.thumbs, self.heat)):
            line.setZValue(20)
            plot.addItem(line)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.clear_media()

    # -- data -------------------------------------------------------------------------------
    def clear_media(self) -> None:
        for plot_item, item in self._items:
            plot_item.removeItem(item)
        self._items = []
        self.starts = self.ends = self.attention = np.zeros(0)
        self.duration = 0.0
        self.selected = -1
        for box in self._sel:
            box.setVisible(False)
        for line in getattr(self, "_heads", ()):
            line.setVisible(False)
        for p in (self.thumbs, self.heat):
            p.setXRange(0, 10, padding=0)

    def set_media(self, starts, ends, attention, thumbnails=(), duration: float | None = None,
                  strip=None) -> None:
        """Segment bounds (s), attention [T], and the thumbnails: uint8 [h, w, 3] per segment,
        or ``strip``, all of them already laid out in one picture (``tasks.thumbnail_strip``).
        A handful of items whatever the length: the GUI thread stays free."""
        from .tasks import thumbnail_strip

        self.clear_media()
        self.starts = np.asarray(starts, float)
        self.ends = np.asarray(ends, float)
        self.attention = np.asarray(attention, float)
        self.duration = float(duration if duration is not None else (self.ends[-1] if len(self.ends) else 0.0))
        if strip is None and len(thumbnails):
            strip = thumbnail_strip(thumbnails, self.starts, self.ends, self.duration)
        if strip is not None:
            img = pg.ImageItem(np.ascontiguousarray(strip), levels=(0, 255))  # true colours, no auto-levels
            img.setRect(QRectF(0.0, 0.0, self.duration, THUMB_ROW * 0.78))
            self._add(self.thumbs, img)
        else:
            boxes = pg.BarGraphItem(x0=self.starts, x1=self.ends, y0=np.zeros(len(self.starts)),
                                    height=np.full(len(self.starts), THUMB_ROW * 0.78), brush=pg.mkBrush(60, 62, 70),
                                    pen=pg.mkPen(32, 33, 36, width=2))
            self._add(self.thumbs, boxes)
        self._label_segments()
        if len(self.attention):
            lo, hi = float(self.attention.min()), float(self.attention.max())
            # contrast over this video: the least attended scene dark, the most bright
            w = (self.attention - lo) / (hi - lo) if hi - lo > 1e-9 else np.full(len(self.attention), 0.5)
            lut = pg.colormap.get(HEAT_CMAP).getLookupTable(0.15, 1.0, 256)
            brushes = [pg.mkBrush(*lut[int(round(v * 255))]) for v in w]
            bars = pg.BarGraphItem(x0=self.starts, x1=self.ends, y0=np.zeros(len(w)), height=np.ones(len(w)),
                                   brushes=brushes, pen=pg.mkPen(None))
            self._add(self.heat, bars)
            xs = np.stack([self.starts, self.ends], 1).ravel()  # a step line over the cells
            curve = pg.PlotCurveItem(xs, np.repeat(0.1 + 0.8 * w, 2), pen=pg.mkPen(255, 255, 255, 150, width=1))
            self._add(self.heat, curve)
        end = self.duration or 1.0
        for p in (self.thumbs, self.heat):
            p.setXRange(0, end, padding=0.005)
        self.thumbs.setYRange(0, THUMB_ROW, padding=0.02)
        self.heat.setYRange(0, 1, padding=0.02)
        self.set_playhead(0.0)
        for line in self._heads:
            line.setVisible(True)

    def _label_segments(self) -> None:
        """Time ranges under the pictures, as ticks of one axis (every n-th when there are many)."""
        n = len(self.starts)
        step = max(1, int(np.ceil(n / 16)))
        ticks = [((a + b) / 2, f"{fmt_time(a)}–{fmt_time(b)}")
                 for i, (a, b) in enumerate(zip(self.starts, self.ends)) if i % step == 0]
        self.thumbs.getAxis("bottom").setTicks([ticks, []])

    def _add(self, plot, item) -> None:
        plot.addItem(item)
        self._items.append((plot, item))

    # -- selection and playhead ------------------------------------------------------------
    def segment_at(self, seconds: float) -> int:
        if not len(self.starts):
            return -1
        i = int(np.searchsorted(self.starts, seconds, side="right") - 1)
        return max(0, min(i, len(self.starts) - 1))

    def select(self, index: int) -> None:
        if not 0 <= index < len(self.starts):
            return
        self.selected = index
        a, b = self.starts[index], self.ends[index]
        self._sel[0].setRect(QRectF(a, 0.0, b - a, THUMB_ROW * 0.98))
        self._sel[1].setRect(QRectF(a, 0.0, b - a, 1.0))
        for box in self._sel:
            box.setVisible(True)

    def set_playhead(self, seconds: float) -> None:
        for line in self._heads:
            line.setValue(float(seconds))

    @property
    def playhead(self) -> float:
        return float(self._heads[0].value())

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not len(self.starts):
            return
        for plot in (self.thumbs, self.heat):
            if plot.sceneBoundingRect().contains(event.scenePos()):
                x = plot.vb.mapSceneToView(event.scenePos()).x()
                self.segmentClicked.emit(self.segment_at(x))
                return

    def click_segment(self, index: int) -> None:
        """What a click on segment ``index`` does (for keyboard use and tests)."""
        if 0 <= index < len(self.starts):
            self.segmentClicked.emit(index)
