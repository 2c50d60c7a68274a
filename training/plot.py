"""A line plot to PNG: matplotlib when installed, else a plain Pillow drawing (no new dependency)."""

from __future__ import annotations

from pathlib import Path


def line_plot(path: str | Path, series: dict[str, tuple[list[float], list[float]]], title: str,
              xlabel: str, ylabel: str, hlines: dict[str, float] | None = None) -> Path:
    path = Path(path)
    hlines = hlines or {}
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return _pil_plot(path, series, title, xlabel, ylabel, hlines)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for name, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o", label=name)
    for name, y in hlines.items():
        ax.axhline(y, linestyle="--", color="gray", label=name)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _pil_plot(path: Path, series, title, xlabel, ylabel, hlines) -> Path:
    from PIL import Image, ImageDraw

    W, H, ml, mr, mt, mb = 720, 480, 70, 20, 40, 60
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    xs_all = [x for xs, _ in series.values() for x in xs] or [0, 1]
    ys_all = [y for _, ys in series.values() for y in ys] + list(hlines.values()) or [0, 1]
    x0, x1 = min(xs_all), max(xs_all)
    y0, y1 = 0.0, max(ys_all) * 1.1 or 1.0
    x1 = x1 if x1 > x0 else x0 + 1

    def px(x: float, y: float) -> tuple[float, float]:
        return (ml + (x - x0) / (x1 - x0) * (W - ml - mr), H - mb - (y - y0) / (y1 - y0) * (H - mt - mb))

    d.rectangle([ml, mt, W - mr, H - mb], outline="black")
    for k in range(6):
        y = y0 + k * (y1 - y0) / 5
        _, yy = px(x0, y)
        d.line([ml - 4, yy, ml, yy], fill="black")
        d.text((5, yy - 6), f"{y:.1f}", fill="black")
    for x in sorted(set(xs_all)):
        xx, _ = px(x, y0)
        d.line([xx, H - mb, xx, H - mb + 4], fill="black")
        d.text((xx - 6, H - mb + 8), f"{x:g}", fill="black")
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    legend_y = mt + 5
    for i, (name, (xs, ys)) in enumerate(series.items()):
        c = colors[i % len(colors)]
        pts = [px(x, y) for x, y in sorted(zip(xs, ys, strict=True))]
        if len(pts) > 1:
            d.line(pts, fill=c, width=2)
        for p in pts:
            d.ellipse([p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3], fill=c)
        d.text((W - mr - 260, legend_y), f"- {name}", fill=c)
        legend_y += 14
    for name, y in hlines.items():
        _, yy = px(x0, y)
        d.line([ml, yy, W - mr, yy], fill="gray", width=1)
        d.text((W - mr - 260, legend_y), f"-- {name}", fill="gray")
        legend_y += 14
    d.text((ml, 12), title, fill="black")
    d.text((W // 2 - 60, H - 25), xlabel, fill="black")
    d.text((5, mt - 20), ylabel, fill="black")
    img.save(path)
    return path
