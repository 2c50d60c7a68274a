"""The timeline: one thumbnail per segment with its time range, the cues of the cue sheet as
coloured bands under them, and under those the attention heatmap along the video
(pyqtgraph), all on one time axis so they line up exactly.

Click a segment to select it (``segmentClicked``); the selection is a frame around the
segment in both rows and the playhead a vertical line through both.

The heatmap shows how far each scene's attention is from uniform (weight × number of scenes,
on a log scale from half to twice uniform, a diverging map grey at uniform): a model that
looks everywhere alike paints grey, not a rainbow of tiny differences. Axis labels are laid
out for the axis's width in pixels, so they never collide, and every time reads m:ss.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF
from PySide6.QtWidgets import QSizePolicy

from .cues import cue_colour


def cue_colour_of(rhythm, alpha: int) -> QColor:
    """The cue band's colour (faint) behind the cue's stretch of the beat lane."""
    c = QColor(cue_colour(getattr(rhythm, "music_path", "") or rhythm.title))
    c.setAlpha(alpha)
    return c

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

THUMB_ROW = 1.0
PICTURE = 0.74
"""The thumbnails fill [0, PICTURE] of the top row; the cue bands sit under them."""
CUE_BAND = (0.79, 0.98)
HEAT_CMAP = "CET-D8"
"""Diverging blue–grey–red: below uniform blue, uniform grey, above red."""
HEAT_RANGE = 1.0
"""log2(weight / uniform) shown from −1 (half of uniform) to +1 (twice); beyond is clipped."""
LABEL_GAP = 14
"""Pixels between two axis labels."""
CUT_TICK = (0.0, 0.16)
"""The video's cuts: red ticks over the top of the thumbnail strip (y, the row is inverted)."""
CUT_COLOUR = QColor(255, 70, 60)
SPEECH_BAND = (0.0, 0.28)
"""Where the speech bands sit in the attention row (its y runs 0..1)."""
SPEECH_COLOUR = QColor(70, 210, 110, 170)
NO_GRID = "no steady beat"
NO_CUTS = "no cuts found"
NO_MUSIC = "choose music to see its beats"


@functools.lru_cache(maxsize=1)
def heat_lut() -> np.ndarray:
    """uint8 [256, 3|4] of :data:`HEAT_CMAP`: read from pyqtgraph's colour-map file once (the
    first read took ~30 ms, on the GUI thread as the first scenes of a video came in)."""
    return pg.colormap.get(HEAT_CMAP).getLookupTable(0.0, 1.0, 256)


def mmss(seconds: float, tenths: bool = False) -> str:
    """"m:ss" (or "m:ss.s"): the times of the axes."""
    s = max(0.0, float(seconds))
    if tenths:
        return f"{int(s // 60)}:{s % 60:04.1f}"
    s = int(round(s))
    return f"{s // 60}:{s % 60:02d}"


def attention_ratio(attention) -> np.ndarray:
    """log2(weight / uniform) per scene, clipped to ±``HEAT_RANGE``; 0 is uniform."""
    a = np.asarray(attention, dtype=np.float64)
    if not a.size:
        return a
    ratio = np.maximum(a, 1e-9) * a.size / max(float(a.sum()), 1e-9)
    return np.clip(np.log2(ratio), -HEAT_RANGE, HEAT_RANGE)


class FittedAxis(pg.AxisItem):
    """A bottom axis whose labels are chosen for its width in pixels: never overlapping, the
    first one always there (moved inside the axis rather than dropped at the edge)."""

    align_left = False
    """Labels start at their value (a scene's start) instead of being centred on it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("bottom", *args, **kwargs)
        self._labels: dict[float, str] = {}
        self.active = False
        """No media: no labels (an empty timeline has no times to show)."""

    def candidates(self, vmin: float, vmax: float, pixels: float, char_px: float) -> list[tuple[float, str]]:
        raise NotImplementedError

    def _metrics(self) -> QFontMetricsF:
        return QFontMetricsF(self.style["tickFont"] or self.font())

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 - pyqtgraph naming
        labels = self.candidates(minVal, maxVal, size, self._metrics().horizontalAdvance("0")) if self.active else []
        self._labels = dict(labels)
        return [(1.0, [v for v, _ in labels])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        return [self._labels.get(v, "") for v in values]

    def generateDrawSpecs(self, p):  # noqa: N802
        axis_spec, tick_specs, _ = super().generateDrawSpecs(p)
        return axis_spec, tick_specs, self.text_specs()

    def text_specs(self) -> list[tuple[QRectF, int, str]]:
        """Label rectangles (item coordinates), left to right, none overlapping."""
        view = self.linkedView()
        if view is None or not self._labels:
            return []
        fm = self._metrics()
        bounds = self.boundingRect()
        y = max(0, self.style["tickLength"]) + self.style["tickTextOffset"][1]
        flags = int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextDontClip)
        out, right = [], -math.inf
        for v in sorted(self._labels):
            text = self._labels[v]
            x = self.mapFromScene(view.mapViewToScene(QPointF(v, 0.0))).x()
            w, h = fm.horizontalAdvance(text) + 2, fm.height()
            left = min(max(x + 3 if self.align_left else x - w / 2, bounds.left()), bounds.right() - w)
            if left < right + LABEL_GAP or left < bounds.left() - 0.5:
                continue
            out.append((QRectF(left, y, w, h), flags, text))
            right = left + w
        return out


class SceneAxis(FittedAxis):
    """Each scene's time range under its picture, from the scene's start (as an editor's
    timeline labels clips), every n-th scene when they are narrow."""

    align_left = True

    def __init__(self) -> None:
        super().__init__()
        self.starts = np.zeros(0)
        self.ends = np.zeros(0)

    def set_scenes(self, starts, ends) -> None:
        self.starts, self.ends = np.asarray(starts, float), np.asarray(ends, float)
        self.picture = None
        self.update()

    def candidates(self, vmin, vmax, pixels, char_px):
        n = len(self.starts)
        if n == 0 or vmax <= vmin or pixels <= 0:
            return []
        texts = [f"{mmss(a)}–{mmss(b)}" for a, b in zip(self.starts, self.ends)]
        need = max(len(t) for t in texts) * char_px * 1.15 + LABEL_GAP
        per_scene = pixels * float(np.median(self.ends - self.starts)) / (vmax - vmin)
        step = max(1, math.ceil(need / max(per_scene, 1e-6)))
        return [(float(a), t) for i, (a, t) in enumerate(zip(self.starts, texts)) if i % step == 0]


class TimeAxis(FittedAxis):
    """m:ss at round times (1, 2, 5, 10, 15, 30 s, minutes…), as many as fit."""

    STEPS = (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)

    def candidates(self, vmin, vmax, pixels, char_px):
        if vmax <= vmin or pixels <= 0:
            return []
        px_per_s = pixels / (vmax - vmin)
        need = 6 * char_px * 1.15 + LABEL_GAP
        step = next((s for s in self.STEPS if s * px_per_s >= need), self.STEPS[-1])
        first = math.ceil(max(0.0, vmin) / step - 1e-9) * step
        values = np.arange(first, vmax + 1e-9, step)
        return [(float(v), mmss(v, tenths=step < 1)) for v in values]


class Timeline(pg.GraphicsLayoutWidget):
    segmentClicked = Signal(int)
    seekRequested = Signal(float)
    """Seconds: a click on the time axis asks the player to go there."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground(QColor(32, 33, 36))
        self.setMinimumHeight(170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(236)
        self.ci.setSpacing(0)
        self.scene_axis = SceneAxis()
        self.time_axis = TimeAxis()
        self.thumbs = self.addPlot(row=0, col=0, axisItems={"bottom": self.scene_axis})
        self.heat = self.addPlot(row=1, col=0)
        self.heat.hideAxis("bottom")
        self.lane = self.addPlot(row=2, col=0, axisItems={"bottom": self.time_axis})
        """The beat lane: the chosen cue's beats, downbeats and sections, and the cuts."""
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 1)
        self.ci.layout.setRowStretchFactor(2, 1)
        for p in (self.thumbs, self.heat, self.lane):
            p.setMouseEnabled(x=False, y=False)
            p.disableAutoRange()
            p.hideButtons()
            p.setMenuEnabled(False)
            p.getAxis("left").setWidth(64)
        self.thumbs.getAxis("bottom").setTextPen(pg.mkPen(220, 220, 220))
        self.thumbs.invertY(True)
        self.thumbs.getAxis("left").setTicks([[]])
        self.thumbs.setLabel("left", "scenes")
        self.heat.setLabel("left", "attention")
        self.heat.getAxis("left").setTicks([[]])
        self.heat.getAxis("left").setToolTip("grey: as much as every scene would get if attention were uniform; "
                                             "red: more (up to twice), blue: less (down to half)")
        self.heat.setXLink(self.thumbs)
        self.lane.setLabel("left", "beats")
        self.lane.getAxis("left").setTicks([[]])
        self.lane.getAxis("left").setToolTip("the chosen cue's track: beats (thin), downbeats (strong), section "
                                             "starts (yellow, numbered); the video's cuts in red")
        self.lane.setXLink(self.thumbs)
        self.lane.setYRange(0, 1, padding=0.02)
        self._lane_items: list = []
        self._cut_items: list = []
        self.cuts = np.zeros(0)
        self.cuts_known = False
        self.rhythm = None  # the tasks.CueRhythm drawn
        self.lane_message = ""
        """What the lane says instead of (or beside) a grid: "no steady beat", "no cuts found"."""
        self._cue_items: list = []
        self.cues: tuple = ()
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
        heat_lut()  # now, while the window is built, not when the first scenes arrive
        self.clear_media()
        self.set_rhythm(None)

    # -- data -------------------------------------------------------------------------------
    def clear_media(self) -> None:
        for plot_item, item in self._items:
            plot_item.removeItem(item)
        self._items = []
        self.starts = self.ends = self.attention = np.zeros(0)
        self.duration = 0.0
        self.selected = -1
        self.heat_levels = np.zeros(0)
        for box in self._sel:
            box.setVisible(False)
        for line in getattr(self, "_heads", ()):
            line.setVisible(False)
        for p in (self.thumbs, self.heat):
            p.setXRange(0, 10, padding=0)
        if hasattr(self, "_cut_items"):
            self.set_cuts(None)
        for axis in (getattr(self, "scene_axis", None), getattr(self, "time_axis", None)):
            if axis is not None:
                axis.active = False

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
            img = pg.ImageItem(np.ascontiguousarray(strip), autoLevels=False)  # true colours: uint8 passed through, no rescale
            img.setRect(QRectF(0.0, 0.0, self.duration, THUMB_ROW * PICTURE))
            self._add(self.thumbs, img)
        else:
            boxes = pg.BarGraphItem(x0=self.starts, x1=self.ends, y0=np.zeros(len(self.starts)),
                                    height=np.full(len(self.starts), THUMB_ROW * PICTURE), brush=pg.mkBrush(60, 62, 70),
                                    pen=pg.mkPen(32, 33, 36, width=2))
            self._add(self.thumbs, boxes)
        self._label_segments()
        if len(self.attention):
            # how far from uniform: 0.5 is uniform, 0 half of it or less, 1 twice or more
            w = 0.5 + 0.5 * attention_ratio(self.attention) / HEAT_RANGE
            self.heat_levels = w
            lut = heat_lut()
            brushes = [pg.mkBrush(*lut[int(round(v * 255))]) for v in w]
            bars = pg.BarGraphItem(x0=self.starts, x1=self.ends, y0=np.zeros(len(w)), height=np.ones(len(w)),
                                   brushes=brushes, pen=pg.mkPen(None))
            self._add(self.heat, bars)
            uniform = pg.InfiniteLine(0.5, angle=0, pen=pg.mkPen(255, 255, 255, 110, width=1,
                                                                style=Qt.PenStyle.DashLine))
            self._add(self.heat, uniform)
            xs = np.stack([self.starts, self.ends], 1).ravel()  # a step line over the cells
            curve = pg.PlotCurveItem(xs, np.repeat(0.1 + 0.8 * w, 2), pen=pg.mkPen(255, 255, 255, 170, width=1))
            self._add(self.heat, curve)
        end = self.duration or 1.0
        self.scene_axis.active = self.time_axis.active = True
        for p in (self.thumbs, self.heat):
            p.setXRange(0, end, padding=0.005)
        self.set_rhythm(self.rhythm)  # its message sits at the new start
        self.thumbs.setYRange(0, THUMB_ROW, padding=0.02)
        self.heat.setYRange(0, 1, padding=0.02)
        self.set_playhead(0.0)
        for line in self._heads:
            line.setVisible(True)

    def _label_segments(self) -> None:
        """Time ranges under the pictures (the axis picks every n-th for its width)."""
        self.scene_axis.set_scenes(self.starts, self.ends)

    def set_cues(self, cues) -> None:
        """The cue sheet's cues as coloured bands under the pictures, titled where room allows."""
        for plot_item, item in self._cue_items:
            plot_item.removeItem(item)
        self._cue_items = []
        self.cues = tuple(cues)
        if not self.cues:
            return
        y0, y1 = CUE_BAND
        brushes = [pg.mkBrush(cue_colour(c.music_path)) for c in self.cues]
        bands = pg.BarGraphItem(x0=[c.start for c in self.cues], x1=[c.end for c in self.cues],
                                y0=np.full(len(self.cues), y0), height=np.full(len(self.cues), y1 - y0),
                                brushes=brushes, pen=pg.mkPen(32, 33, 36, width=2))
        bands.setZValue(5)
        self.thumbs.addItem(bands)
        self._cue_items.append((self.thumbs, bands))
        px_per_s = self.thumbs.vb.width() / max(1e-6, self.duration or 1.0)
        fm = QFontMetricsF(self.font())
        for c in self.cues:
            room = (c.end - c.start) * px_per_s - 6
            text = fm.elidedText(c.title, Qt.TextElideMode.ElideRight, room) if room > 20 else ""
            if not text:
                continue
            label = pg.TextItem(text, color=(20, 20, 20), anchor=(0, 0.5))
            label.setPos(c.start, (y0 + y1) / 2)
            label.setZValue(6)
            self.thumbs.addItem(label)
            self._cue_items.append((self.thumbs, label))

    # -- the beat lane and the cuts ---------------------------------------------------------
    def set_cuts(self, cuts) -> None:
        """The video's cuts (s) as red ticks on the thumbnail strip and the beat lane; None:
        not known (yet), an empty array: the video has none ("no cuts found")."""
        for plot_item, item in self._cut_items:
            plot_item.removeItem(item)
        self._cut_items = []
        self.cuts_known = cuts is not None
        self.cuts = np.zeros(0) if cuts is None else np.asarray(cuts, float)
        if len(self.cuts):
            pen = pg.mkPen(CUT_COLOUR, width=2)
            xs = np.repeat(self.cuts, 2)  # [2c]: each cut a vertical segment
            top = pg.PlotCurveItem(xs, np.tile(np.array(CUT_TICK), len(self.cuts)), pen=pen, connect="pairs")
            top.setZValue(7)
            self.thumbs.addItem(top)
            low = pg.PlotCurveItem(xs, np.tile(np.array([0.0, 0.22]), len(self.cuts)), pen=pen, connect="pairs")
            low.setZValue(7)
            self.lane.addItem(low)
            self._cut_items += [(self.thumbs, top), (self.lane, low)]
        self.set_rhythm(self.rhythm)

    def set_rhythm(self, rhythm) -> None:
        """The chosen cue's :class:`tasks.CueRhythm` in the beat lane (None: no music chosen).
        Without a steady beat nothing is drawn and the lane says so; nothing is made up."""
        for plot_item, item in self._lane_items:
            plot_item.removeItem(item)
        self._lane_items = []
        self.rhythm = rhythm
        notes = []
        if rhythm is None:
            notes.append(NO_MUSIC)
        elif not rhythm.steady:
            notes.append(rhythm.reason or NO_GRID)
        else:
            self._draw_grid(rhythm)
        if self.cuts_known and not len(self.cuts):
            notes.append(NO_CUTS)
        self.lane_message = " · ".join(notes) if self.duration > 0 else ""
        if self.lane_message:
            label = pg.TextItem(self.lane_message, color=(200, 200, 200), anchor=(0, 0.5))
            label.setPos(0.0, 0.5)
            label.setZValue(8)
            self._lane(label)

    def _draw_grid(self, r) -> None:
        span = pg.LinearRegionItem((r.start, r.end), movable=False, brush=pg.mkBrush(cue_colour_of(r, 40)),
                                   pen=pg.mkPen(None))
        span.setZValue(-5)
        self._lane(span)
        for times, (y0, y1), pen, z in (
                (r.beats, (0.3, 0.75), pg.mkPen(170, 170, 180, 160, width=1), 1),
                (r.downbeats, (0.12, 0.95), pg.mkPen(255, 255, 255, 235, width=2), 2)):
            if len(times):
                curve = pg.PlotCurveItem(np.repeat(times, 2), np.tile(np.array([y0, y1]), len(times)), pen=pen,
                                         connect="pairs")
                curve.setZValue(z)
                self._lane(curve)
        px_per_s = self.lane.vb.width() / max(1e-6, self.duration or 1.0)
        last = -math.inf
        for i, t in enumerate(r.sections):
            line = pg.InfiniteLine(float(t), pen=pg.mkPen(255, 210, 60, width=2))
            line.setZValue(3)
            self._lane(line)
            if (t - last) * px_per_s >= 26:  # labels only where they do not collide
                label = pg.TextItem(f"§{r.first_section + i + 1}", color=(255, 210, 60), anchor=(0, 0))
                label.setPos(float(t), 1.0)  # hangs down from the lane's top
                label.setZValue(4)
                self._lane(label)
                last = t

    def _lane(self, item) -> None:
        self.lane.addItem(item)
        self._lane_items.append((self.lane, item))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if getattr(self, "cues", ()):
            self.set_cues(self.cues)  # titles elided for the new width

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
        for plot in (self.thumbs, self.heat, self.lane):
            if plot.sceneBoundingRect().contains(event.scenePos()):
                x = plot.vb.mapSceneToView(event.scenePos()).x()
                self.segmentClicked.emit(self.segment_at(x))
                return

    def click_segment(self, index: int) -> None:
        """What a click on segment ``index`` does (for keyboard use and tests)."""
        if 0 <= index < len(self.starts):
            self.segmentClicked.emit(index)

    # -- the speech lane (issue 15) ---------------------------------------------------------
    def set_speech(self, regions) -> None:
        """The footage's speech (float [n, 2] seconds, from the analysis pass) as translucent
        green bands along the foot of the attention row, labelled "speech": where the music is
        ducked. None or empty: nothing drawn (no speech found, or a song)."""
        for plot_item, item in getattr(self, "_speech_items", ()):
            plot_item.removeItem(item)
        self._speech_items: list = []
        r = np.zeros((0, 2)) if regions is None else np.asarray(regions, float).reshape(-1, 2)  # [n, 2] s
        self.speech = r[r[:, 1] > r[:, 0]]
        if not len(self.speech):
            return
        y0, y1 = SPEECH_BAND
        n = len(self.speech)
        bands = pg.BarGraphItem(x0=self.speech[:, 0], x1=self.speech[:, 1], y0=np.full(n, y0),
                                height=np.full(n, y1 - y0), brush=pg.mkBrush(SPEECH_COLOUR), pen=pg.mkPen(None))
        bands.setZValue(4)
        label = pg.TextItem("speech", color=SPEECH_COLOUR.lighter(140), anchor=(0, 1))
        label.setPos(float(self.speech[0, 0]), y1)
        label.setZValue(5)
        for item in (bands, label):
            self.heat.addItem(item)
            self._speech_items.append((self.heat, item))
