"""The streaming cut detector: frames in, per-frame columns and dissolve tests kept, the
decision (:mod:`engine.rhythm.cut_rules`) at the end. See :mod:`engine.rhythm.video`.
"""

from __future__ import annotations

import math

import numpy as np

from engine.rhythm.cut_rules import (
    _BATCH,
    _DISSOLVE_HALF,
    _DISSOLVE_LOOSE_CHANGE,
    _DISSOLVE_LOOSE_RESIDUAL,
    _DISSOLVE_MIN_CHANGE,
    _corr,
    _decide,
    _energy_len,
    _grid4,
    _pan_ratio,
)
from engine.rhythm.shots import VideoRhythm

CUT_FRAME_SHORT_SIDE = 48
"""Short side (px) of the frames the detector reads; the analysis pass makes them."""



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
