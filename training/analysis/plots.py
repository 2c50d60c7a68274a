"""PNG figures of the analyses, drawn with Pillow (matplotlib is not a dependency).

Curves go through :func:`training.plot.line_plot` (matplotlib when installed); the figures
it has no form for are here: a heat map with labelled rows and columns, horizontal bars,
and a strip of thumbnails with a weight bar under each.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from training.plot import line_plot

__all__ = ["line_plot", "heatmap", "bars", "thumbnail_strip"]

_FONT = ImageFont.load_default()


def _text_w(text: str) -> int:
    box = _FONT.getbbox(text)
    return int(box[2] - box[0])


def _shade(v: float) -> tuple[int, int, int]:
    """White (0) to dark blue (1)."""
    v = float(np.clip(v, 0.0, 1.0))
    return (int(255 - 225 * v), int(255 - 170 * v), int(255 - 60 * v))


def heatmap(path: str | Path, matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str], title: str,
            *, marks: np.ndarray | None = None, fmt: str = "{:.0f}", vmax: float | None = None) -> Path:
    """``matrix`` [R, C] as coloured cells with their values; ``marks`` [R, C] bool outlines
    cells (e.g. far from uniform). Rows are labelled on the left, columns on top."""
    path = Path(path)
    m = np.asarray(matrix, dtype=np.float64)
    R, C = m.shape
    cell_w = max(44, max((_text_w(c) for c in cols), default=0) + 8)
    cell_h = 22
    left = max(60, max((_text_w(r) for r in rows), default=0) + 12)
    top = 48
    W, H = max(left + C * cell_w + 12, _text_w(title) + 16), top + R * cell_h + 30
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    d.text((8, 6), title, fill="black", font=_FONT)
    hi = vmax if vmax is not None else (float(np.nanmax(m)) if m.size and np.nanmax(m) > 0 else 1.0)
    for j, c in enumerate(cols):
        d.text((left + j * cell_w + (cell_w - _text_w(c)) // 2, top - 16), c, fill="black", font=_FONT)
    for i, r in enumerate(rows):
        y = top + i * cell_h
        d.text((left - 6 - _text_w(r), y + 5), r, fill="black", font=_FONT)
        for j in range(C):
            x = left + j * cell_w
            v = m[i, j]
            fill = _shade(v / hi) if np.isfinite(v) else (230, 230, 230)
            d.rectangle([x, y, x + cell_w - 1, y + cell_h - 1], fill=fill, outline=(200, 200, 200))
            if marks is not None and marks[i, j]:
                d.rectangle([x + 1, y + 1, x + cell_w - 2, y + cell_h - 2], outline=(214, 39, 40), width=2)
            label = fmt.format(v) if np.isfinite(v) else "–"
            dark = np.isfinite(v) and v / hi > 0.55
            d.text((x + (cell_w - _text_w(label)) // 2, y + 5), label, fill="white" if dark else "black", font=_FONT)
    img.save(path)
    return path


def bars(path: str | Path, labels: Sequence[str], values: Sequence[float], title: str,
         *, unit: str = "", max_bars: int = 30) -> Path:
    """Horizontal bars, largest first (at most ``max_bars``)."""
    path = Path(path)
    order = np.argsort(-np.asarray(values, dtype=np.float64), kind="stable")[:max_bars]
    labels = [labels[i] for i in order]
    values = [float(values[i]) for i in order]
    left = max(60, max((_text_w(s) for s in labels), default=0) + 12)
    bar_area, row = 420, 18
    W, H = max(left + bar_area + 80, _text_w(title) + 16), 36 + row * max(1, len(labels)) + 10
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    d.text((8, 6), title, fill="black", font=_FONT)
    hi = max(values) if values and max(values) > 0 else 1.0
    for i, (s, v) in enumerate(zip(labels, values, strict=True)):
        y = 30 + i * row
        d.text((left - 6 - _text_w(s), y + 3), s, fill="black", font=_FONT)
        d.rectangle([left, y + 2, left + int(bar_area * v / hi), y + row - 3], fill=(31, 119, 180))
        d.text((left + int(bar_area * v / hi) + 4, y + 3), f"{v:.1f}{unit}", fill="black", font=_FONT)
    img.save(path)
    return path


def thumbnail_strip(path: str | Path, thumbs: Sequence[np.ndarray], weights: np.ndarray, title: str,
                    *, labels: Sequence[str] | None = None, per_row: int = 10, thumb_h: int = 54,
                    reference: float | None = None) -> Path:
    """One thumbnail per segment (uint8 [h, w, 3]) with its weight as a bar under it, the bar's
    height scaled to the largest weight (at least twice ``reference``, drawn as a grey line,
    e.g. the uniform weight); rows of ``per_row``."""
    path = Path(path)
    w = np.asarray(weights, dtype=np.float64)
    n = len(w)
    sizes = [t.shape[1] * thumb_h / max(1, t.shape[0]) for t in thumbs if t is not None and t.size]
    thumb_w = int(round(np.median(sizes))) if sizes else int(thumb_h * 16 / 9)
    bar_h, gap = 40, 6
    cols = max(1, min(per_row, n))
    rows = max(1, -(-n // cols))
    cell_h = thumb_h + bar_h + 18
    W, H = max(10 + cols * (thumb_w + gap), _text_w(title) + 16), 28 + rows * cell_h
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    d.text((8, 6), title, fill="black", font=_FONT)
    hi = float(w.max()) if n and w.max() > 0 else 1.0
    if reference is not None:
        hi = max(hi, 2.0 * reference)
    for i in range(n):
        x = 10 + (i % cols) * (thumb_w + gap)
        y = 26 + (i // cols) * cell_h
        t = thumbs[i] if i < len(thumbs) else None
        if t is not None and t.size:
            img.paste(Image.fromarray(np.asarray(t, np.uint8)).resize((thumb_w, thumb_h)), (x, y))
        else:
            d.rectangle([x, y, x + thumb_w - 1, y + thumb_h - 1], fill=(220, 220, 220))
        bh = int(round(bar_h * w[i] / hi))
        base = y + thumb_h + bar_h
        d.rectangle([x, base - bh, x + thumb_w - 1, base], fill=(214, 39, 40))
        if reference is not None:
            ry = base - int(round(bar_h * reference / hi))
            d.line([x, ry, x + thumb_w - 1, ry], fill=(110, 110, 110))
        label = labels[i] if labels is not None else f"{i}: {w[i]:.3f}"
        d.text((x, base + 2), label, fill="black", font=_FONT)
    img.save(path)
    return path
