"""A weightless visual extractor: the picture signals that tie footage to music.

No pretrained visual weights can be reached on machines without a network, so this is the
default visual extractor until CLIP weights are installed. It needs only numpy, is
deterministic, and reads ``frames_per_segment`` (default 8) evenly spaced frames per segment.

Every frame is first area-resampled to a fixed working size (short side ``work_size``,
default 72 px, aspect kept), so the values do not depend on the input resolution. Edges
and texture are measured at that size; colour, layout, motion and cuts at half of it. All
values lie in [0, 1]; histograms sum to 1 (or are all 0 when there is nothing to count).
Heavy-tailed magnitudes are square-rooted so typical footage spreads over the range.

Feature vector (``dim`` = 52), pooled over the frames of one segment:

====  =====  ==============================================================================
 idx  dims   block
====  =====  ==============================================================================
 0    12     hue histogram, 30° bins centred on 0° (red), 30°, ... 330° (hue as the angle
             in the opponent-colour plane, close to HSV hue), each pixel weighted by its
             chroma ``max(rgb) - min(rgb)``: the palette of the coloured pixels
 12   4      saturation histogram (HSV S in quarters), fraction of pixels
 16   8      luma histogram (Rec. 601 Y' in eighths), fraction of pixels: low/high key
 24   9      tone: luma mean, contrast (2 x luma std), mean saturation, mean chroma,
             colourfulness (Hasler & Süsstrunk 2003, / 0.6), warmth (0.5 + (R - B) / 2),
             tint (0.5 + (G - (R + B) / 2) / 2), dark fraction (Y' < 0.15),
             bright fraction (Y' > 0.85)
 33   1      flicker: 4 x std over frames of the frame's mean luma (lighting changes)
 34   7      edges/texture: edge density (fraction |∇Y'| > 0.1), sqrt mean |∇Y'|, gradient
             orientation histogram (4 bins: horizontal, /, vertical, \\ edges; weighted by
             magnitude), fine texture sqrt(mean |Laplacian| / 4)
 41   2      layout: 0.5 + centre-minus-whole luma, 0.5 + (top - bottom luma) / 2
 43   6      motion between consecutive sampled frames: sqrt mean |ΔY'|, sqrt max over
             pairs of mean |ΔY'|, changed-pixel fraction (|ΔY'| > 0.1), global shift
             (phase correlation; |shift| / short side, x 4), sqrt residual |ΔY'| after
             undoing that shift (object motion), 4 x std over pairs of mean |ΔY'| (pacing)
 49   3      cuts: fraction of consecutive pairs whose 4x4x4 RGB histograms differ by more
             than ``CUT_THRESHOLD`` (half L1 distance), max and mean of that distance
====  =====  ==============================================================================

What "motion" measures depends on how far apart the frames are. ``extract`` asks the media
layer for 8 frames per segment, i.e. one every ``t / 8`` seconds (0.84 s for t = 6.7 s),
and on files with short keyframe intervals it may use the keyframe nearest each slot. So
it is *visual change over about a second* — camera moves, action, editing pace — not
optical flow between adjacent frames; the global shift tells panning from in-frame change.
A segment's cut fraction likewise counts shot changes between samples, not every cut.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from engine.jobs import CancelCheck, Job
from engine.media.grid import SegmentGrid

FEATURE_VERSION = 1
CUT_THRESHOLD = 0.45
EDGE_THRESHOLD = 0.1
CHANGE_THRESHOLD = 0.1

FEATURE_NAMES: tuple[str, ...] = (
    *(f"hue_{30 * i:03d}" for i in range(12)),
    *(f"sat_q{i}" for i in range(4)),
    *(f"luma_{i}of8" for i in range(8)),
    "luma_mean", "contrast", "saturation", "chroma", "colourfulness", "warmth", "tint",
    "dark_fraction", "bright_fraction",
    "flicker",
    "edge_density", "gradient", "orient_h", "orient_diag1", "orient_v", "orient_diag2", "texture",
    "centre_luma", "top_bottom",
    "change_mean", "change_max", "changed_fraction", "global_shift", "residual_change", "pacing",
    "cut_fraction", "hist_change_max", "hist_change_mean",
)


@lru_cache(maxsize=64)
def _area_matrix(n: int, m: int) -> np.ndarray:
    """float32 ``[m, n]``: box-filter resampling of ``n`` samples to ``m`` (rows sum to 1)."""
    edges_src = np.arange(n + 1, dtype=np.float64)
    edges_dst = np.linspace(0.0, n, m + 1)
    lo = np.maximum(edges_dst[:-1, None], edges_src[None, :-1])
    hi = np.minimum(edges_dst[1:, None], edges_src[None, 1:])
    w = np.clip(hi - lo, 0.0, None)
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def work_shape(h: int, w: int, short: int) -> tuple[int, int]:
    """Working (h, w): short side ``short``, aspect kept, long side capped at 3 x short."""
    if h <= w:
        return short, int(min(3 * short, max(short, round(w * short / h))))
    return int(min(3 * short, max(short, round(h * short / w)))), short


@lru_cache(maxsize=64)
def _taps(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The non-zero entries of ``_area_matrix(n, m)`` as (start [m], weights [m, taps])."""
    a = _area_matrix(n, m)
    nz = a > 0
    start = nz.argmax(axis=1)
    taps = int((nz.sum(axis=1)).max())
    idx = np.minimum(start[:, None] + np.arange(taps)[None, :], n - 1)  # [m, taps]
    weights = np.take_along_axis(a, idx, axis=1) * (start[:, None] + np.arange(taps) < n)
    return idx, weights.astype(np.float32)


def _resample_axis(x: np.ndarray, axis: int, m: int) -> np.ndarray:
    """Area-resample axis ``axis`` of ``x`` to ``m`` samples (a few taps per output, no matmul)."""
    n = x.shape[axis]
    if n == m:
        return x
    idx, weights = _taps(n, m)
    shape = [1] * x.ndim
    shape[axis] = m
    out = np.take(x, idx[:, 0], axis=axis) * weights[:, 0].reshape(shape)
    for t in range(1, idx.shape[1]):
        out += np.take(x, idx[:, t], axis=axis) * weights[:, t].reshape(shape)
    return out


def resample(frames: np.ndarray, short: int) -> np.ndarray:
    """uint8 ``[k, H, W, 3]`` -> float32 ``[k, 3, h, w]`` in [0, 1] at the working size.

    Area (box) resampling in two steps for speed: sum ``f x f`` pixel blocks for the largest
    integer ``f`` that fits (after a centred crop of fewer than ``f`` pixels), then exact area
    weights for the remaining ratio, which is below 2, so each output mixes at most 3 inputs.
    """
    k, H, W, _ = frames.shape
    h, w = work_shape(H, W, short)
    f = max(1, min(H // h, W // w))
    if f > 1:
        Hc, Wc = H // f * f, W // f * f
        oy, ox = (H - Hc) // 2, (W - Wc) // 2
        a = frames[:, oy:oy + Hc, ox:ox + Wc].reshape(k, Hc // f, f, Wc * 3)
        rows = a[:, :, 0].astype(np.uint16)  # [k, Hc/f, Wc*3]: sum of f rows (f*f*255 fits)
        for i in range(1, f):
            rows += a[:, :, i]
        b = rows.reshape(k, Hc // f, Wc // f, f, 3)
        x = b[:, :, :, 0].astype(np.float32)  # [k, h1, w1, 3]
        for i in range(1, f):
            x += b[:, :, :, i]
        x *= 1.0 / (255.0 * f * f)
    else:
        x = frames.astype(np.float32) * (1.0 / 255.0)
    x = _resample_axis(_resample_axis(x, 1, h), 2, w)  # [k, h, w, 3]
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _halve(x: np.ndarray) -> np.ndarray:
    """2 x 2 mean over the last two axes (odd last row/column dropped)."""
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    x = x[..., :h, :w]
    return 0.25 * (x[..., 0::2, 0::2] + x[..., 1::2, 0::2] + x[..., 0::2, 1::2] + x[..., 1::2, 1::2])


def _hist(values: np.ndarray, bins: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Histogram of values in [0, 1] into ``bins`` equal bins, normalised to sum 1 (or 0s)."""
    idx = np.minimum((values * bins).astype(np.int64), bins - 1).ravel()
    h = np.bincount(idx, weights=None if weights is None else weights.ravel(), minlength=bins)
    total = h.sum()
    return (h / total) if total > 1e-6 * idx.size else np.zeros(bins)


@lru_cache(maxsize=16)
def _window(h: int, w: int) -> np.ndarray:
    return np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)


def phase_shifts(y: np.ndarray) -> np.ndarray:
    """int ``[k-1, 2]``: (dy, dx) with ``roll(y[i], (dy, dx)) ≈ y[i+1]`` (phase correlation)."""
    k, h, w = y.shape
    spec = np.fft.rfft2((y - y.mean(axis=(1, 2), keepdims=True)) * _window(h, w))  # [k, h, w/2+1]
    cross = spec[1:] * np.conj(spec[:-1])
    cross /= np.abs(cross) + 1e-9
    corr = np.fft.irfft2(cross, s=(h, w))  # [k-1, h, w]
    dy, dx = np.unravel_index(corr.reshape(k - 1, -1).argmax(axis=1), (h, w))
    dy = np.where(dy > h // 2, dy - h, dy)
    dx = np.where(dx > w // 2, dx - w, dx)
    return np.stack([dy, dx], axis=1)


def segment_features(frames: np.ndarray, work_size: int = 72) -> np.ndarray:
    """float32 ``[52]`` for one segment's frames, uint8 ``[k, H, W, 3]`` (see module doc).

    Edges and texture use the working size; colour, layout, motion and cuts use half of it
    (their statistics do not need the detail, and it is four times cheaper).
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        raise ValueError(f"expected uint8 frames [k, H, W, 3], got {frames.shape}")
    x = resample(np.ascontiguousarray(frames), work_size)  # [k, 3, h, w]
    y_full = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]  # [k, h, w]
    x = _halve(x)  # [k, 3, h/2, w/2]
    k, _, h, w = x.shape
    r, g, b = x[:, 0], x[:, 1], x[:, 2]  # [k, h, w] each
    y = 0.299 * r + 0.587 * g + 0.114 * b
    mx = np.maximum(np.maximum(r, g), b)
    chroma = mx - np.minimum(np.minimum(r, g), b)
    sat = chroma / np.maximum(mx, 1e-6)
    hue = (np.arctan2(1.7320508 * (g - b), 2.0 * r - g - b) * (0.5 / np.pi)) % 1.0
    # Hue bins are centred on 0° (red), 30°, 60°...: primaries sit mid-bin, not on an edge.
    out: list[np.ndarray | list[float]] = [_hist((hue + 1 / 24) % 1.0, 12, chroma), _hist(sat, 4), _hist(y, 8)]

    # Tone.
    frame_luma = y.mean(axis=(1, 2))  # [k]
    rg, yb = r - g, 0.5 * (r + g) - b
    colourful = (np.sqrt(rg.var(axis=(1, 2)) + yb.var(axis=(1, 2)))
                 + 0.3 * np.sqrt(rg.mean(axis=(1, 2)) ** 2 + yb.mean(axis=(1, 2)) ** 2)).mean()
    mr, mg, mb = float(r.mean()), float(g.mean()), float(b.mean())
    out.append([float(frame_luma.mean()), min(1.0, 2.0 * float(y.std(axis=(1, 2)).mean())), float(sat.mean()),
                float(chroma.mean()), min(1.0, float(colourful) / 0.6), 0.5 + 0.5 * (mr - mb),
                0.5 + 0.5 * (mg - 0.5 * (mr + mb)), float((y < 0.15).mean()), float((y > 0.85).mean())])
    out.append([min(1.0, 4.0 * float(frame_luma.std()))])
    out.append(_edges(y_full))

    # Layout.
    centre = y[:, h // 3: h - h // 3, w // 3: w - w // 3].mean()
    out.append([float(np.clip(0.5 + centre - frame_luma.mean(), 0, 1)),
                float(np.clip(0.5 + 0.5 * (y[:, : h // 2].mean() - y[:, h - h // 2:].mean()), 0, 1))])

    out.append(_motion(y, r, g, b))
    return np.clip(np.concatenate([np.asarray(o, dtype=np.float64) for o in out]), 0.0, 1.0).astype(np.float32)


def _edges(y: np.ndarray) -> list[float]:
    """Edge density, gradient, 4-bin edge orientation histogram, texture (7) from luma [k, h, w]."""
    gx = y[:, :-1, 1:] - y[:, :-1, :-1]  # [k, h-1, w-1]
    gy = y[:, 1:, :-1] - y[:, :-1, :-1]
    mag = np.sqrt(gx * gx + gy * gy)
    ax, ay = np.abs(gx), np.abs(gy)
    # Orientation bins by comparisons (tan 22.5° = 0.4142) instead of arctan2. An edge runs
    # perpendicular to its gradient; rows grow downwards, so gx * gy > 0 is a "/" edge.
    bins = np.where(ax < 0.41421356 * ay, 0,  # vertical gradient: horizontal edge
                    np.where(ay < 0.41421356 * ax, 2, np.where(gx * gy > 0, 1, 3)))
    orient = np.bincount(bins.ravel(), weights=mag.ravel(), minlength=4)
    total = orient.sum()
    orient = orient / total if total > 1e-6 * mag.size else np.zeros(4)
    lap = np.abs(4 * y[:, 1:-1, 1:-1] - y[:, :-2, 1:-1] - y[:, 2:, 1:-1] - y[:, 1:-1, :-2] - y[:, 1:-1, 2:])
    return [float((mag > EDGE_THRESHOLD).mean()), float(np.sqrt(min(1.0, mag.mean()))),
            *orient.tolist(), float(np.sqrt(min(1.0, lap.mean() / 4.0)))]


def _motion(y: np.ndarray, r: np.ndarray, g: np.ndarray, b: np.ndarray) -> list[float]:
    """Motion (6) and cut (3) features from consecutive frames; zeros for a single frame."""
    k, h, w = y.shape
    if k < 2:
        return [0.0] * 9
    diff = np.abs(y[1:] - y[:-1])  # [k-1, h, w]
    pair_change = diff.mean(axis=(1, 2))  # [k-1]
    shifts = phase_shifts(y)  # [k-1, 2]
    residuals = []
    for i, (dy, dx) in enumerate(shifts.tolist()):
        my, mx = min(abs(dy), h // 2 - 1), min(abs(dx), w // 2 - 1)
        moved = np.roll(y[i], (dy, dx), axis=(0, 1))[my: h - my, mx: w - mx]
        residuals.append(float(np.abs(y[i + 1][my: h - my, mx: w - mx] - moved).mean()))
    shift_size = np.hypot(shifts[:, 0], shifts[:, 1]) / min(h, w)
    # Shot changes: 4x4x4 RGB histograms per frame, half L1 distance between neighbours.
    q = (np.minimum((r * 4).astype(np.int64), 3) * 16 + np.minimum((g * 4).astype(np.int64), 3) * 4
         + np.minimum((b * 4).astype(np.int64), 3)).reshape(k, -1)
    q += (np.arange(k) * 64)[:, None]
    hists = np.bincount(q.ravel(), minlength=64 * k).reshape(k, 64) / q.shape[1]  # [k, 64]
    dist = 0.5 * np.abs(hists[1:] - hists[:-1]).sum(axis=1)  # [k-1]
    return [float(np.sqrt(pair_change.mean())), float(np.sqrt(pair_change.max())),
            float((diff > CHANGE_THRESHOLD).mean()), min(1.0, 4.0 * float(shift_size.mean())),
            float(np.sqrt(np.mean(residuals))), min(1.0, 4.0 * float(pair_change.std())),
            float((dist > CUT_THRESHOLD).mean()), float(dist.max()), float(dist.mean())]


class ClassicVisualExtractor:
    """Weightless colour / texture / motion / cut features per segment (see module doc)."""

    modality = "visual"
    dim = len(FEATURE_NAMES)
    feature_names = FEATURE_NAMES

    def __init__(self, frames_per_segment: int = 8, work_size: int = 72) -> None:
        if frames_per_segment < 1 or work_size < 16:
            raise ValueError("need at least 1 frame per segment and a working size of 16 px or more")
        self.frames_per_segment = int(frames_per_segment)
        self.work_size = int(work_size)
        self.id = f"classic-visual:v{FEATURE_VERSION}:k{self.frames_per_segment}:w{self.work_size}"
        self.description = (f"classic visual features (colour, texture, motion, cuts; no weights), "
                            f"{self.frames_per_segment} frames per segment")

    def encode_segment(self, frames: np.ndarray) -> np.ndarray:
        """uint8 ``[k, H, W, 3]`` frames of one segment -> float32 ``[dim]``."""
        return segment_features(frames, self.work_size)

    def encode_images(self, images: list[np.ndarray]) -> np.ndarray:
        """Still images (uint8 ``[H, W, 3]``, any sizes), each read as a one-frame segment
        (no motion, no cuts) -> float32 ``[N, dim]``. Used for attributes from examples."""
        return np.stack([self.encode_segment(np.asarray(img)[None]) for img in images]).astype(np.float32)

    @property
    def frame_short_side(self) -> int:
        """Frames are decoded at twice the working size: the area resampling then averages
        2x2 pixels, which removes the decoder's scaling artefacts and keeps values
        resolution-independent."""
        return 2 * self.work_size

    segments_per_batch = 1

    def encode_segments(self, segments: list[np.ndarray]) -> np.ndarray:
        """Each uint8 ``[k, H, W, 3]`` -> float32 ``[len(segments), dim]``."""
        return np.stack([self.encode_segment(f) for f in segments]).astype(np.float32)

    def extract(self, path: str | os.PathLike[str], grid: SegmentGrid, *,
                cancel: CancelCheck | None = None) -> Job[np.ndarray]:
        """Decode ``path`` (through the one analysis pass) -> float32 ``[len(grid), dim]``."""
        from engine.analysis.read import read_media

        read = yield from read_media(path, self, grid.segment_seconds, grid=grid, cancel=cancel)
        return read.features
