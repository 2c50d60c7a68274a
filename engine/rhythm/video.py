"""Shot cuts, gradual transitions and a visual-energy curve of footage.

Fed by the analysis pass, frame by frame, with small RGB frames (short side
``CUT_FRAME_SHORT_SIDE``), so the footage is decoded once for everything:

    det = CutDetector(fps=info.video.fps)
    for t, small in frames:                   # small: uint8 [h, w, 3]
        det.push(t, small)
    rhythm = det.finish(duration)             # VideoRhythm

:func:`detect_cuts` is the same on its own (one decode of a file, for ``mvpt cuts``).

How it decides (weightless; every threshold is a constant below, tuned on
``tests/cuts_world.py`` reels with seeds 0-29; ``bench/cuts.py`` measures on held-out ones):

- Per frame, in batches, at half the pushed size (2x2 means, e.g. 42x24): luma, a 128-bin
  Y'CbCr histogram (luma binned softly), the luma thumbnail, a 4x4 luma grid + mean
  chroma ("signature"), mean/contrast/gradient.
- **Hard cut** at frame i (the first frame of the new shot): the change score
  ``s = (histogram distance + 3 x mean |Δluma|) / 2`` between i-1 and i is a local peak
  that stands out from the median of its ±0.5 s neighbourhood (ratio and margin), so a
  fast pan (high change on every frame) is not a cut. Confidence grows with the margin.
- **Flash**: a brightness spike whose picture returns within 0.4 s to the one before it
  (coarse signature) is not a cut; it is reported in ``flashes`` and feeds the energy.
- **Fade**: a run of near-uniform black (or white) frames with a ramp of luma/contrast into
  and/or out of it (≥ 3 frames). A dip shorter than 0.5 s that returns to the same shot is
  a flash, not a fade; a uniform frame with no ramp is a cut to black, handled as a cut.
- **Dissolve**: at a centre frame c and half-width w (0.15-1 s), the thumbnail of c is the
  average of those at c-w and c+w (and the quarter point the 3:1 blend), while the two
  ends differ a lot and are not the same picture brighter or darker (correlation): a
  linear blend between two shots. Pans fail the blend test at thumbnail resolution.
  Camera motion inside the shots spoils that test too, so a looser one (residual 0.4 of
  the change instead of 0.3, ends less correlated) passes when the middle frame also loses
  contrast and detail (a 50/50 blend of unrelated pictures keeps ~0.7 of them; a pan keeps
  all). At this size a pan over smooth content passes a blend test too, so no blend is
  taken where a global shift (phase correlation) explains the far end from the middle, or
  the frame two later from this one, much better than no shift. Dissolves between fast
  pans are missed more often than between still shots (bench/cuts.py says how often).
- **Energy** at ``ENERGY_RATE``: motion (mean |Δluma| over mean luma gradient ≈ pixels
  moved per second, a dead zone for noise), brightness change per second, and flashes,
  each squashed to 0..1 on a fixed scale (so a still picture is 0 and videos compare) and
  combined as a probabilistic "or". Frame differences across a hard cut are left out
  (the cut rate is reported apart: :meth:`VideoRhythm.cut_rate`).

Memory: ~100 bytes per frame (a few numbers, the signature and the dissolve tests in half
precision: ~22 MB for 2 hours at 30 fps) plus a ring of ~2.5 s of thumbnails; frames are
never kept.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.jobs import CancelCheck, Job, Progress, check_cancel
from engine.rhythm import ENERGY_RATE

CUTS_VERSION = 2
"""Bump when any output of :class:`CutDetector` would change; a stored result with another
version is stale (the analysis cache does not check it yet)."""
CUT_FRAME_SHORT_SIDE = 48
"""Short side (px) of the frames the detector reads; the analysis pass makes them."""


@dataclass(frozen=True)
class Transition:
    start: float
    end: float
    kind: str
    """"cut" (hard), "fade" (to/from black or white) or "dissolve"."""
    confidence: float
    through: str = ""
    """For fades: "black" or "white"; empty otherwise."""


@dataclass(frozen=True)
class VideoRhythm:
    duration: float
    cuts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """float64 [n] hard-cut times (s): the first frame of the new shot."""
    cut_confidence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    """float32 [n] 0..1."""
    transitions: tuple[Transition, ...] = ()
    """Gradual transitions (fades, dissolves)."""
    energy: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    """float32 [ceil(duration * ENERGY_RATE)] motion + brightness change + flashes, 0..1."""
    energy_rate: float = ENERGY_RATE
    version: int = CUTS_VERSION
    flashes: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """float64 [f] times (s) of flashes: brief brightness spikes that return to the same shot."""
    frames: int = 0
    """Frames the detector read."""

    @property
    def has_cuts(self) -> bool:
        """False means "no cuts found" (no hard cut and no gradual transition)."""
        return bool(len(self.cuts) or self.transitions)

    def shot_boundaries(self) -> np.ndarray:
        """float64 [k] sorted times where a new shot starts: hard cuts and the middles of
        gradual transitions."""
        mids = [0.5 * (t.start + t.end) for t in self.transitions]
        return np.sort(np.concatenate([np.asarray(self.cuts, np.float64), np.asarray(mids, np.float64)]))

    def cut_rate(self, segments: Iterable[Any], *, include_transitions: bool = True) -> np.ndarray:
        """float32 [n]: shot changes per second in each segment (anything with ``.start`` and
        ``.end``, e.g. a :class:`~engine.media.grid.SegmentGrid`, or (start, end) pairs)."""
        times = self.shot_boundaries() if include_transitions else np.asarray(self.cuts, np.float64)
        out = []
        for seg in segments:
            a, b = (seg.start, seg.end) if hasattr(seg, "start") else seg
            n = np.count_nonzero((times >= a) & (times < b))
            out.append(n / max(b - a, 1e-9))
        return np.asarray(out, np.float32)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (lists of floats), times rounded to the millisecond."""
        return {
            "duration": round(float(self.duration), 3),
            "cuts": [round(float(t), 3) for t in self.cuts],
            "cut_confidence": [round(float(c), 3) for c in self.cut_confidence],
            "transitions": [{"start": round(t.start, 3), "end": round(t.end, 3), "kind": t.kind,
                             "confidence": round(t.confidence, 3), **({"through": t.through} if t.through else {})}
                            for t in self.transitions],
            "flashes": [round(float(t), 3) for t in self.flashes],
            "energy_rate": self.energy_rate,
            "energy": [round(float(e), 3) for e in self.energy],
            "frames": self.frames,
            "version": self.version,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> VideoRhythm:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VideoRhythm:
        """Inverse of :meth:`to_dict`; raises KeyError/ValueError on a malformed dict."""
        return cls(duration=float(d["duration"]), cuts=np.asarray(d.get("cuts", []), np.float64),
                   cut_confidence=np.asarray(d.get("cut_confidence", []), np.float32),
                   transitions=tuple(Transition(float(t["start"]), float(t["end"]), str(t["kind"]),
                                                float(t["confidence"]), str(t.get("through", "")))
                                     for t in d.get("transitions", [])),
                   energy=np.asarray(d.get("energy", []), np.float32),
                   energy_rate=float(d.get("energy_rate", ENERGY_RATE)), version=int(d.get("version", CUTS_VERSION)),
                   flashes=np.asarray(d.get("flashes", []), np.float64), frames=int(d.get("frames", 0)))


# --- tuning (see module doc) -------------------------------------------------------------
_BATCH = 64                 # frames converted per numpy batch
_PIX_WEIGHT = 3.0           # mean |Δluma| (0..1) x this, capped at 1, next to the histogram distance
_CUT_MIN = 0.15             # change score a cut must reach at least
_CUT_RATIO = 2.2            # ... and this many times its neighbourhood's median
_CUT_MARGIN = 0.1           # ... and this much above it
_CUT_NEIGHBOURHOOD = 0.5    # s either side for the median
_FLASH_RETURN = 0.4         # s within which a flash returns to the picture before it
_FLASH_LUMA = 0.06          # mean-luma jump (0..1) that can start a flash
_MONO_STD = 6.0             # luma std (0..255) below which a frame is uniform
_BLACK, _WHITE = 24.0, 230.0  # mean luma of a black / white frame
_FADE_MIN_DEPTH = 20.0      # luma + contrast a ramp must cover (0..255)
_FADE_MIN_RAMP = 3          # frames of ramp a fade needs (on one side at least)
_FADE_MAX_RAMP = 3.0        # s
_FADE_HOLD_SPLIT = 1.0      # s of black after which a fade-out and fade-in are reported apart
_DISSOLVE_HALF = (0.15, 0.25, 0.4, 0.6, 0.8, 1.0)  # s: half-widths tried
_DISSOLVE_MIN_CHANGE = 12.0  # mean |Δluma| (0..255) between the two ends
_DISSOLVE_MAX_RESIDUAL = 0.3  # blend residual / end difference
_DISSOLVE_MAX_CORR = 0.75   # ends more correlated than this are one picture changing
_DISSOLVE_LOOSE_RESIDUAL = 0.4   # the looser test for moving shots: residual ratio ...
_DISSOLVE_LOOSE_CHANGE = 10.0    # ... end difference (0..255) ...
_DISSOLVE_LOOSE_CORR = 0.4       # ... end correlation ...
_DISSOLVE_DIP = 0.88             # ... and the middle's contrast and detail over the ends' mean
_DISSOLVE_PAN = 0.8              # no blend where a shift explains frame c+2 this much better than none
_MOTION_DEADZONE = 0.6      # mean |Δluma| (0..255) below which a frame pair is still
_MOTION_SCALE = 12.0        # thumbnail px/s of motion that gives 0.63
_BRIGHT_DEADZONE = 0.5      # mean-luma change (0..255) per frame below which nothing changed (encoder noise)
_BRIGHT_SCALE = 2.0         # mean-luma change (0..1) per second that gives 0.63 (a 1 s fade: ~0.4)


class CutDetector:
    """Streaming cut/transition/energy detector (see module doc). Not thread-safe.

    ``push(t, rgb)`` with frames in presentation order (``rgb``: uint8 [h, w, 3], ideally
    with short side ``CUT_FRAME_SHORT_SIDE``; every frame should have the first one's size,
    others are resampled to it), then ``finish(duration)`` once.
    """

    def __init__(self, fps: float | None = None) -> None:
        self.fps = float(fps) if fps and math.isfinite(fps) and fps > 0 else None
        self._bt: list[float] = []
        self._buf: np.ndarray | None = None  # uint8 [_BATCH, h, w, 3]: frames copied in as they come
        self._nb = 0
        self._shape: tuple[int, int] | None = None
        self._prev: dict[str, np.ndarray] | None = None  # last frame's thumb, hist, signature
        self._cols: dict[str, list[np.ndarray]] = {k: [] for k in
                                                   ("t", "mean", "std", "grad", "dhist", "dpix", "dmot", "sig")}
        self._n = 0
        # Ring of thumbnails for the dissolve test: frames [ring_start, n).
        self._ring: np.ndarray | None = None  # float32 [k, th, tw]
        self._ring_start = 0
        self._halves: list[int] | None = None
        self._dis_done = 0  # centres evaluated so far
        self._dis: list[np.ndarray] = []  # float16 [m, len(halves), 4] (change, residual ratio, corr, pan)
        self._finished = False

    # -- feeding -------------------------------------------------------------------------
    def push(self, t: float, rgb: np.ndarray) -> None:
        if self._finished:
            raise RuntimeError("CutDetector.finish() was already called")
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an RGB frame [h, w, 3], got shape {rgb.shape}")
        if self._shape is None:
            self._shape = (rgb.shape[0] - rgb.shape[0] % 2, rgb.shape[1] - rgb.shape[1] % 2)
            if min(self._shape) < 8:
                raise ValueError(f"frame too small for cut detection: {rgb.shape}")
        h, w = self._shape
        if rgb.shape[0] < h or rgb.shape[1] < w or rgb.shape[0] > h + 1 or rgb.shape[1] > w + 1:
            ys = (np.arange(h) * rgb.shape[0] // h)
            xs = (np.arange(w) * rgb.shape[1] // w)
            rgb = rgb[ys][:, xs]  # the stream changed size mid-way: nearest-neighbour to the first
        if self._buf is None:
            self._buf = np.empty((_BATCH, h, w, 3), np.uint8)
        self._buf[self._nb] = rgb[:h, :w]  # a copy: the caller may reuse its array
        self._nb += 1
        self._bt.append(float(t))
        if self._nb >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._nb:
            return
        planes = np.moveaxis(self._buf[:self._nb], 3, 0).astype(np.float32)  # [3, B, h, w]
        times = np.asarray(self._bt, np.float64)
        self._bt = []
        self._nb = 0
        _, b, h, w = planes.shape
        if self.fps is None:
            prev_t = self._cols["t"][-1][-1:] if self._cols["t"] else np.zeros(0)
            dts = np.diff(np.concatenate([prev_t, times]))
            dts = dts[dts > 0]
            if len(dts):
                self.fps = float(1.0 / np.median(dts))
        # Everything is measured at half the size (2x2 means, [3, B, h/2, w/2]): 1,000 pixels
        # are plenty for a histogram and a thumbnail, and cost a quarter.
        planes = planes[:, :, 0::2] + planes[:, :, 1::2]
        planes = (planes[..., 0::2] + planes[..., 1::2]) * 0.25
        _, b, h, w = planes.shape
        r, g, bl = planes
        y = 0.299 * r + 0.587 * g + 0.114 * bl  # [B, h, w] luma 0..255
        cb = 0.5643 * (bl - y)                  # BT.601 chroma, -128..128
        cr = 0.7133 * (r - y)
        # Histogram: luma 8 bins x Cb 4 x Cr 4 (chroma bins 32 wide around grey). Luma is
        # binned softly (each pixel split between its two nearest bins), so a brightness
        # ramp (a fade, a light turned up) changes it smoothly, not in jumps at bin edges.
        yf = y * (8 / 256.0) - 0.5
        np.clip(yf, 0.0, 7.0, out=yf)
        y0 = yf.astype(np.int32)
        np.minimum(y0, 6, out=y0)
        w1 = (yf - y0).ravel()
        cbq = (cb * (1 / 32.0) + 2.0).astype(np.int32)  # truncation: the clip fixes the negatives
        np.clip(cbq, 0, 3, out=cbq)
        crq = (cr * (1 / 32.0) + 2.0).astype(np.int32)
        np.clip(crq, 0, 3, out=crq)
        idx = y0 * 16 + cbq * 4 + crq
        idx += (np.arange(b, dtype=np.int32) * 128)[:, None, None]
        idx = idx.ravel()
        hist = (np.bincount(idx, weights=1.0 - w1, minlength=b * 128)
                + np.bincount(idx + 16, weights=w1, minlength=b * 128)).reshape(b, 128).astype(np.float32) / (h * w)
        thumb = y  # [B, h/2, w/2] of the frames pushed
        sig = np.concatenate([_grid4(thumb), cb.mean(axis=(1, 2))[:, None], cr.mean(axis=(1, 2))[:, None]],
                             axis=1)  # [B, 18]
        gx = np.abs(np.diff(thumb, axis=2)).mean(axis=(1, 2))
        gy = np.abs(np.diff(thumb, axis=1)).mean(axis=(1, 2))
        prev = self._prev
        pt = np.concatenate([prev["thumb"][None] if prev else thumb[:1], thumb[:-1]])
        ph = np.concatenate([prev["hist"][None] if prev else hist[:1], hist[:-1]])
        diff = thumb - pt  # [B, h/2, w/2]
        dpix = np.abs(diff).mean(axis=(1, 2))
        # Motion without the change of overall brightness (fades, flashes, exposure).
        dmot = np.abs(diff - diff.mean(axis=(1, 2), keepdims=True)).mean(axis=(1, 2))
        dhist = 0.5 * np.abs(hist - ph).sum(axis=1)
        self._prev = {"thumb": thumb[-1], "hist": hist[-1]}
        cols = self._cols
        cols["t"].append(times)
        cols["mean"].append(y.mean(axis=(1, 2)))
        cols["std"].append(y.std(axis=(1, 2)))
        cols["grad"].append(gx + gy)
        cols["dhist"].append(dhist)
        cols["dpix"].append(dpix)
        cols["dmot"].append(dmot)
        cols["sig"].append(sig.astype(np.float16))  # half precision: ~100 bytes a frame in all
        self._n += b
        self._ring = thumb if self._ring is None else np.concatenate([self._ring, thumb])
        self._dissolve_tests(final=False)

    # -- dissolve test on the ring ---------------------------------------------------------
    def _dissolve_tests(self, final: bool) -> None:
        if self._halves is None:
            fps = self.fps or 25.0
            self._halves = sorted({max(2, int(round(s * fps))) for s in _DISSOLVE_HALF})
        halves = self._halves
        wmax = halves[-1]
        n = self._n
        stop = n if final else n - wmax  # centres whose whole window has arrived
        if stop > self._dis_done:
            ring, r0 = self._ring, self._ring_start
            c = np.arange(self._dis_done, stop)
            out = np.full((len(c), len(halves), 4), np.nan, np.float32)
            even = c % 2 == 0  # every other centre: a dissolve lasts 9 frames or more
            for j, hw in enumerate(halves):
                ok = (c - hw >= 0) & (c + hw < n) & even
                if not ok.any():
                    continue
                cc = c[ok] - r0
                a, z = ring[cc - hw], ring[cc + hw]
                change = np.abs(z - a).mean(axis=(1, 2))
                out[ok, j, 0] = change
                # The rest only where the two ends differ enough (most frames: they do not).
                big = change >= min(_DISSOLVE_MIN_CHANGE, _DISSOLVE_LOOSE_CHANGE)
                if not big.any():
                    continue
                cb, a, z = cc[big], a[big], z[big]
                aq = 1.0 - (hw - hw // 2) / (2.0 * hw)  # blend weight at the quarter point
                m, q = ring[cb], ring[cb - hw // 2]
                resid = np.abs(m - 0.5 * (a + z)).mean(axis=(1, 2))
                resid_q = np.abs(q - (aq * a + (1 - aq) * z)).mean(axis=(1, 2))
                rows = np.flatnonzero(ok)[big]
                out[rows, j, 1] = np.maximum(resid, resid_q) / np.maximum(change[big], 1e-3)
                out[rows, j, 2] = _corr(a, z)
                # Pan check where a blend passed: is the far end the middle moved? (A slow
                # pan over smooth content passes the blend test at this size.)
                sel = np.flatnonzero(out[rows, j, 1] <= _DISSOLVE_LOOSE_RESIDUAL)
                if len(sel):
                    out[rows[sel], j, 3] = _pan_ratio(m[sel], z[sel])
            cand = np.flatnonzero(np.any(out[:, :, 1] <= _DISSOLVE_LOOSE_RESIDUAL, axis=1) & (c + 2 < n))
            if len(cand):  # ... and frame to next-but-one (a fast pan moves too far over the window)
                cc = c[cand] - r0
                out[cand, :, 3] = np.fmin(out[cand, :, 3], _pan_ratio(ring[cc], ring[cc + 2])[:, None])
            self._dis.append(out.astype(np.float16))
            self._dis_done = stop
        keep_from = max(0, self._dis_done - wmax)  # oldest frame a future centre can need
        if keep_from > self._ring_start:
            self._ring = self._ring[keep_from - self._ring_start:]
            self._ring_start = keep_from

    # -- results -------------------------------------------------------------------------
    def finish(self, duration: float | None = None) -> VideoRhythm:
        """Everything found; ``duration`` (s) sets the energy curve's length (default: the
        last frame's time plus one frame)."""
        if self._finished:
            raise RuntimeError("CutDetector.finish() was already called")
        self._flush()
        self._finished = True
        if self._n == 0:
            d = float(duration or 0.0)
            return VideoRhythm(duration=d, energy=np.zeros(_energy_len(d), np.float32))
        self._dissolve_tests(final=True)
        col = {k: np.concatenate(v).astype(np.float64 if k == "t" else np.float32) for k, v in self._cols.items()}
        self._cols = {}
        fps = self.fps or 25.0
        t = col["t"]
        if duration is None or not duration > 0:
            duration = float(t[-1] + 1.0 / fps)
        dis = np.concatenate(self._dis) if self._dis else np.zeros((0, 0, 4), np.float16)  # [n, len(halves), 4]
        self._dis = []
        self._ring = None
        return _decide(col, dis, self._halves or [], fps, float(duration), self._n)


def _grid4(thumb: np.ndarray) -> np.ndarray:
    """float32 [B, 16]: mean luma of a 4x4 grid of each thumbnail [B, h, w]."""
    b, h, w = thumb.shape
    ys = np.linspace(0, h, 5).astype(int)[:-1]
    xs = np.linspace(0, w, 5).astype(int)[:-1]
    s = np.add.reduceat(np.add.reduceat(thumb, ys, axis=1), xs, axis=2)  # [B, 4, 4] sums
    counts = np.outer(np.diff(np.append(ys, h)), np.diff(np.append(xs, w)))
    return (s / counts).reshape(b, 16)


def _pan_ratio(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """[k]: mean |x - y| after the best global shift (phase correlation) over mean |x - y|
    without one, for thumbnail pairs [k, h, w]. Well under 1: y is x moved (a pan); 1: no
    shift explains the change (a still camera, a blend)."""
    k, h, w = x.shape
    xm = x - x.mean(axis=(1, 2), keepdims=True)
    ym = y - y.mean(axis=(1, 2), keepdims=True)
    spec = np.fft.rfft2(xm) * np.conj(np.fft.rfft2(ym))
    spec /= np.abs(spec) + 1e-6
    corr = np.fft.irfft2(spec, s=(h, w))  # [k, h, w]
    peak = corr.reshape(k, -1).argmax(axis=1)
    dys, dxs = np.unravel_index(peak, (h, w))
    out = np.ones(k, np.float32)
    for i in range(k):
        dy = int(dys[i]) - h if dys[i] > h // 2 else int(dys[i])
        dx = int(dxs[i]) - w if dxs[i] > w // 2 else int(dxs[i])
        if (dy, dx) == (0, 0) or abs(dy) > h // 3 or abs(dx) > w // 3:
            continue
        r0 = float(np.abs(x[i] - y[i]).mean())
        best = r0
        for sy, sx in ((dy, dx), (-dy, -dx)):  # whichever way the convention points
            a = x[i, max(0, sy):h + min(0, sy), max(0, sx):w + min(0, sx)]
            b = y[i, max(0, -sy):h + min(0, -sy), max(0, -sx):w + min(0, -sx)]
            best = min(best, float(np.abs(a - b).mean()))
        out[i] = best / max(r0, 1e-3)
    return out


def _corr(a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Pearson correlation of each pair of thumbnails [k, h, w] -> [k]."""
    a = a.reshape(len(a), -1)
    z = z.reshape(len(z), -1)
    a = a - a.mean(axis=1, keepdims=True)
    z = z - z.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (z * z).sum(axis=1))
    return np.where(den > 1e-6, (a * z).sum(axis=1) / np.maximum(den, 1e-6), 1.0)


def _energy_len(duration: float) -> int:
    return int(math.ceil(max(0.0, duration) * ENERGY_RATE - 1e-9))


def _sigdist(sig: np.ndarray, i: int, j: np.ndarray | int) -> np.ndarray:
    """Mean |difference| (0..1) of frame signatures (4x4 luma grid + mean chroma)."""
    return np.abs(sig[j] - sig[i]).mean(axis=-1) / 255.0


def _decide(col: dict[str, np.ndarray], dis: np.ndarray, halves: list[int], fps: float,
            duration: float, n_frames: int) -> VideoRhythm:
    t, mean, std = col["t"], col["mean"], col["std"]
    n = len(t)
    dpix = col["dpix"] / 255.0
    score = 0.5 * (col["dhist"] + np.minimum(1.0, _PIX_WEIGHT * dpix))  # [n]; score[0] = 0
    score[0] = 0.0

    fades = _find_fades(t, mean, std, col["sig"], score, fps)
    in_fade = np.zeros(n, bool)
    for a, b, _, _ in fades:
        in_fade[max(0, a - 1):b + 1] = True

    # --- hard cuts and flashes ---
    half = max(3, int(round(_CUT_NEIGHBOURHOOD * fps)))
    ret = max(2, int(round(_FLASH_RETURN * fps)))
    cand = np.flatnonzero(score >= _CUT_MIN)
    # Flashes first: brightness jumps, and within a moment the picture is back to the one
    # before. Their frames (the jump, the spike and the return) are not cuts.
    flashes: list[int] = []
    quiet = score.copy()
    flash_end = -1
    for i in cand:
        if i <= flash_end or in_fade[i] or abs(mean[i] - mean[i - 1]) / 255.0 < _FLASH_LUMA:
            continue
        js = np.arange(i + 1, min(n, i + ret + 1))
        if not len(js):
            continue
        back = _sigdist(col["sig"], i - 1, js)
        jump = float(_sigdist(col["sig"], i - 1, i))
        k = np.flatnonzero((back < 0.35 * jump)
                           & (np.abs(mean[js] - mean[i - 1]) / 255.0 < 0.5 * _FLASH_LUMA + 0.02))
        if len(k):
            flashes.append(int(i))
            flash_end = int(js[k[0]])
            quiet[i:flash_end + 1] = 0.0
    cuts: list[tuple[int, float]] = []
    for i in cand:
        if quiet[i] == 0.0 or in_fade[i]:
            continue
        lo, hi = max(1, i - 2), min(n, i + 3)
        if quiet[i] < quiet[lo:hi].max() or (i > lo and quiet[i] <= quiet[lo:i].max()):
            continue  # not the peak of its ±2 frames (ties go to the first)
        nb = np.concatenate([score[max(1, i - half):max(1, i - 1)], score[i + 2:i + half + 1]])
        med = float(np.median(nb)) if len(nb) else 0.0
        if score[i] < _CUT_RATIO * med or score[i] < med + _CUT_MARGIN:
            continue
        conf = 1.0 - math.exp(-(score[i] - med) / 0.15)
        cuts.append((int(i), float(np.clip(conf, 0.0, 1.0))))

    # --- dissolves ---
    dissolves = _find_dissolves(dis, halves, std, col["grad"], in_fade, [c for c, _ in cuts], flashes, fps)

    transitions = []
    for a, b, through, conf in fades:
        transitions.append(Transition(float(t[a]), float(t[min(b, n - 1)]) if b < n else float(t[-1] + 1 / fps),
                                      "fade", round(conf, 3), through))
    for a, b, conf in dissolves:
        transitions.append(Transition(float(t[a]), float(t[min(b, n - 1)]), "dissolve", round(conf, 3)))
    transitions.sort(key=lambda tr: tr.start)
    # A hard cut inside a gradual transition is part of it.
    kept = [(c, cf) for c, cf in cuts
            if not any(tr.start + 1.5 / fps < t[c] < tr.end - 1.5 / fps for tr in transitions)]

    energy = _energy(t, mean, col["dmot"], col["grad"], [c for c, _ in kept], flashes, fps, duration)
    return VideoRhythm(duration=duration,
                       cuts=np.array([t[c] for c, _ in kept], np.float64),
                       cut_confidence=np.array([cf for _, cf in kept], np.float32),
                       transitions=tuple(transitions), energy=energy,
                       flashes=np.array([t[f] for f in flashes], np.float64), frames=n_frames)


def _find_fades(t: np.ndarray, mean: np.ndarray, std: np.ndarray, sig: np.ndarray, score: np.ndarray,
                fps: float) -> list[tuple[int, int, str, float]]:
    """(first frame, first frame after, "black"/"white", confidence) of each fade."""
    n = len(t)
    black = (std < _MONO_STD) & (mean < _BLACK)
    white = (std < _MONO_STD) & (mean > _WHITE)
    max_ramp = max(_FADE_MIN_RAMP, int(round(_FADE_MAX_RAMP * fps)))
    out: list[tuple[int, int, str, float]] = []
    for mono, through in ((black, "black"), (white, "white")):
        level = mean + std if through == "black" else (255.0 - mean) + std  # 0 at the flat colour
        other = white if through == "black" else black  # a ramp starts from a picture, not the other colour
        runs = _runs(mono)
        pieces = []
        for a, b in runs:  # frames [a, b) uniform
            ramp_out = _ramp(level, other, a, -1, max_ramp)
            ramp_in = _ramp(level, other, b - 1, +1, max_ramp)
            s, e = a - ramp_out, b + ramp_in
            if max(ramp_out, ramp_in) < _FADE_MIN_RAMP:
                continue  # a cut to (or from) a uniform frame, or a blink
            if (e - s) / fps < 0.5 and s > 0 and e < n and _sigdist(sig, s - 1, e) < 0.03:
                continue  # a brief dip that comes back to the same picture: a flash, not a fade
            conf = float(min(1.0, 0.5 + 0.5 * (ramp_out + ramp_in) / max(1.0, 0.5 * fps)))
            hold = (b - a) / fps
            if hold > _FADE_HOLD_SPLIT and ramp_out >= _FADE_MIN_RAMP and ramp_in >= _FADE_MIN_RAMP:
                pieces.append((s, a + 1, through, conf))
                pieces.append((b - 1, e, through, conf))
            else:
                pieces.append((s, e, through, conf))
        out.extend(pieces)
    out.sort()
    return out


def _ramp(level: np.ndarray, other: np.ndarray, edge: int, step: int, max_ramp: int) -> int:
    """Frames of a fade ramp leading to the uniform frame ``edge`` from the side ``step``
    (-1: before it, a fade-out; +1: after it, a fade-in); 0 when there is none.

    Walks away from the uniform frame while the level (distance from the flat colour) keeps
    rising steadily; stops at a change much sharper than the ramp so far (a cut). A ramp
    must be deep enough and gradual (no single step carries most of it: that is a flash or
    a cut to black)."""
    n = len(level)
    k = 0
    steps: list[float] = []
    while k < max_ramp:
        i = edge + step * (k + 1)
        if not 0 <= i < n or other[i]:
            break
        d = level[i] - level[i - step]
        if d <= 0.2:
            break
        if len(steps) >= 2 and d > 4.0 * float(np.median(steps)) and d > 8.0:
            break  # a jump in the middle of a ramp: the ramp ended and something else began
        if steps and d < 0.25 * float(np.median(steps)):
            break  # flattened out: the shot itself
        steps.append(d)
        k += 1
    if k < _FADE_MIN_RAMP:
        return 0
    depth = float(sum(steps))
    if depth < _FADE_MIN_DEPTH or max(steps) > 0.6 * depth:
        return 0
    return k


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _find_dissolves(dis: np.ndarray, halves: list[int], std: np.ndarray, grad: np.ndarray, in_fade: np.ndarray,
                    cuts: list[int], flashes: list[int], fps: float) -> list[tuple[int, int, float]]:
    """(first frame, last frame, confidence) of each dissolve."""
    if dis.size == 0:
        return []
    n = len(dis)
    change = dis[..., 0]  # [n, len(halves)], half precision
    # Only centres where some blend test passed (few) are looked at further.
    with np.errstate(invalid="ignore"):
        rows = np.flatnonzero(np.any(dis[..., 1] <= max(_DISSOLVE_MAX_RESIDUAL, _DISSOLVE_LOOSE_RESIDUAL), axis=1))
    sub = dis[rows].astype(np.float32)
    ch, ratio, corr, pan = sub[..., 0], sub[..., 1], sub[..., 2], sub[..., 3]  # [r, len(halves)]
    # Contrast dip: the middle of a blend of two unrelated pictures has ~0.7 of their contrast
    # and fine detail; a moving camera keeps its own. It lets a looser blend test through
    # (camera motion inside the shots spoils the strict one).
    ci = rows[:, None]
    lo = np.clip(ci - np.asarray(halves)[None, :], 0, n - 1)
    hi = np.clip(ci + np.asarray(halves)[None, :], 0, n - 1)
    std_dip = std[ci] / np.maximum(0.5 * (std[lo] + std[hi]), 1e-3)      # [r, len(halves)]
    grad_dip = grad[ci] / np.maximum(0.5 * (grad[lo] + grad[hi]), 1e-3)
    with np.errstate(invalid="ignore"):
        strict = (1.0 - ratio / _DISSOLVE_MAX_RESIDUAL) * np.minimum(1.0, ch / (3 * _DISSOLVE_MIN_CHANGE))
        strict = np.where((ch >= _DISSOLVE_MIN_CHANGE) & (ratio <= _DISSOLVE_MAX_RESIDUAL)
                          & (corr <= _DISSOLVE_MAX_CORR), strict, 0.0)
        loose = 0.7 * (1.0 - ratio / _DISSOLVE_LOOSE_RESIDUAL) * np.minimum(1.0, ch / (3 * _DISSOLVE_MIN_CHANGE))
        loose = np.where((ch >= _DISSOLVE_LOOSE_CHANGE) & (ratio <= _DISSOLVE_LOOSE_RESIDUAL)
                         & (corr <= _DISSOLVE_LOOSE_CORR) & (std_dip <= _DISSOLVE_DIP) & (grad_dip <= _DISSOLVE_DIP),
                         loose, 0.0)
        good_sub = np.where(pan < _DISSOLVE_PAN, 0.0, np.maximum(strict, loose))
    good = np.zeros(change.shape, np.float32)  # [n, len(halves)]
    good[rows] = np.nan_to_num(good_sub, nan=0.0)
    valid = good > 0
    best = good.max(axis=1)  # [n]
    cut_arr = np.asarray(cuts, np.int64)
    out: list[tuple[int, int, float]] = []
    for a, b in _runs(best > 0):
        c = a + int(np.argmax(best[a:b]))
        ok = np.flatnonzero(valid[c])
        chc = change[c, ok].astype(np.float32)
        j = ok[np.flatnonzero(chc >= 0.85 * chc.max())[0]]  # smallest half-width that saturates
        hw = halves[j]
        s, e = max(0, c - hw), min(n - 1, c + hw)
        if in_fade[s:e + 1].any():
            continue
        if any(s - 2 <= f <= e + 2 for f in flashes):
            continue  # a flash's frames are not blends of two shots
        # A hard cut inside: the blend test passed by chance around it.
        if len(cut_arr) and np.any((cut_arr > s + 1) & (cut_arr < e - 1)):
            continue
        out.append((s, e, float(np.clip(0.5 + 0.5 * best[c], 0.0, 1.0))))  # passed every test: >= 0.5
    # Merge overlapping detections (keep the more confident).
    merged: list[tuple[int, int, float]] = []
    for s, e, cf in out:
        if merged and s <= merged[-1][1] + max(2, int(round(0.2 * fps))):
            ps, pe, pc = merged[-1]
            merged[-1] = (min(ps, s), max(pe, e), max(pc, cf))
        else:
            merged.append((s, e, cf))
    return merged


def _energy(t: np.ndarray, mean: np.ndarray, dmot: np.ndarray, grad: np.ndarray, cuts: list[int],
            flashes: list[int], fps: float, duration: float) -> np.ndarray:
    """float32 [ceil(duration * ENERGY_RATE)] visual energy 0..1 (see module doc)."""
    n = len(t)
    m = _energy_len(duration)
    if m == 0:
        return np.zeros(0, np.float32)
    dt = np.diff(t, prepend=t[0] - 1.0 / fps)
    dt = np.where(dt > 0, dt, 1.0 / fps)
    g = np.maximum(np.maximum(grad, np.roll(grad, 1)), 1.0)
    moving = np.maximum(dmot - _MOTION_DEADZONE, 0.0)
    speed = moving / g / dt                           # ≈ thumbnail px per second
    bright = np.maximum(np.abs(np.diff(mean, prepend=mean[0])) - _BRIGHT_DEADZONE, 0.0) / 255.0 / dt
    skip = np.zeros(n, bool)
    skip[0] = True
    for c in cuts:
        skip[c] = True
    for f in flashes:
        skip[f:f + max(2, int(round(_FLASH_RETURN * fps))) + 1] = True
    e_motion = 1.0 - np.exp(-speed / _MOTION_SCALE)
    e_bright = 1.0 - np.exp(-np.minimum(bright, 50.0) / _BRIGHT_SCALE)
    per_frame = 1.0 - (1.0 - e_motion) * (1.0 - e_bright)
    per_frame[skip] = np.nan
    bins = np.clip((t * ENERGY_RATE).astype(np.int64), 0, m - 1)
    ok = ~np.isnan(per_frame)
    sums = np.bincount(bins[ok], weights=per_frame[ok], minlength=m)
    counts = np.bincount(bins[ok], minlength=m)
    curve = np.full(m, np.nan)
    curve[counts > 0] = sums[counts > 0] / counts[counts > 0]
    # Bins without a usable frame (VFR gaps, cut frames, past the last frame) take the last value.
    last = 0.0
    for k in range(m):
        if np.isnan(curve[k]):
            curve[k] = last
        else:
            last = curve[k]
    for f in flashes:
        k = min(m - 1, int(t[f] * ENERGY_RATE))
        curve[k] = 1.0 - (1.0 - curve[k]) * (1.0 - 0.9)
    curve[curve < 0.01] = 0.0  # below 1 %: encoder noise on a still picture, not energy
    return np.clip(curve, 0.0, 1.0).astype(np.float32)


# --- one decode of a file ----------------------------------------------------------------

def detect_cuts(path: Any, *, cancel: CancelCheck | None = None, limits: Any = None) -> Job[VideoRhythm]:
    """Decode every frame of ``path`` once (threaded, scaled by FFmpeg straight to the
    detector's size, upright) and run :class:`CutDetector` on it. Yields ``Progress("cuts",
    frames done, frames expected)``; returns a :class:`VideoRhythm`.

    Raises :class:`~engine.media.errors.NoVideoStream` for audio-only files and other
    :class:`~engine.media.errors.MediaError` for unreadable ones."""
    from pathlib import Path

    from engine.media.container import decode_stream, open_media, video_stream
    from engine.media.errors import CorruptMedia, NoVideoStream, converted
    from engine.media.limits import DEFAULT_LIMITS, Deadline
    from engine.media.probe import probe

    limits = limits or DEFAULT_LIMITS
    p = Path(path)
    info = probe(p, limits=limits)
    if info.video is None:
        raise NoVideoStream(p, "has no video stream; choose a video file")
    total = info.video.frame_count or None
    det = CutDetector(fps=info.video.fps)
    turns = info.video.rotation // 90
    done = 0
    yield Progress("cuts", 0, total, p.name)
    with open_media(p, limits=limits) as c, converted(p, "decoding video for cuts"):
        vs = video_stream(c)
        cc = vs.codec_context
        cc.options = {"max_pixels": str(limits.max_pixels), "skip_loop_filter": "all"}
        cc.thread_type = "AUTO"
        size = _small_size(vs, CUT_FRAME_SHORT_SIDE)
        deadline = Deadline(limits.decode_seconds(info.duration), str(p), "decoding video for cuts")
        start = float(vs.start_time * vs.time_base) if vs.start_time is not None and vs.time_base else 0.0
        last_t = -1.0
        try:
            for frame in decode_stream(c, vs, deadline, cancel):
                ft = frame.time
                if ft is None:
                    continue
                ft -= start
                if ft <= last_t:  # a repeated or out-of-order timestamp: keep time monotonic
                    ft = last_t + 1e-4
                last_t = ft
                small = frame.reformat(width=size[0], height=size[1], format="rgb24",
                                       interpolation="AREA").to_ndarray()
                if turns:
                    small = np.rot90(small, k=turns)
                det.push(ft, small)
                done += 1
                if done % 64 == 0:
                    check_cancel(cancel)
                    yield Progress("cuts", done, total, p.name)
        except CorruptMedia:
            if done == 0:
                raise
            # What was readable is analysed; the rest of a damaged file is left out.
    if done == 0:
        raise CorruptMedia(p, "no frame of the video could be decoded (truncated or damaged?); re-export it")
    yield Progress("cuts", done, done, p.name)
    return det.finish(info.duration)


def _small_size(vs, short_side: int) -> tuple[int, int]:
    """(width, height) with the short side ``short_side``, square pixels, before rotation."""
    cc = vs.codec_context
    w, h = int(cc.width), int(cc.height)
    sar = vs.sample_aspect_ratio
    if sar and float(sar) > 0 and abs(float(sar) - 1.0) > 1e-3:
        w = max(1, int(round(w * float(sar))))
    scale = short_side / max(1, min(w, h))
    return max(2, int(round(w * scale))), max(2, int(round(h * scale)))
