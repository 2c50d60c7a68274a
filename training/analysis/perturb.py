"""The perturbations of the robustness analysis (paper Sec. 5), applied to decoded media.

- :func:`brightness`: every pixel's RGB scaled by ``r`` (clipped to 0..255), as the paper's
  "modify its brightness by a factor of r".
- :func:`hue_rotate`: colours rotated about the grey axis of RGB by ``(r - 1) x 180°``, so
  r = 1 is the identity and r in [0.5, 1.5] spans -90°..+90°. Grey pixels and luma stay
  (nearly) as they were; only the hue moves.
- :func:`time_stretch`: tempo x ``r`` without changing pitch, by ffmpeg's ``atempo`` filter
  (WSOLA) through PyAV's filter graph: a maintained implementation, not our own DSP.
- :func:`stretch_on_grid`: the stretched music laid back onto the original segment grid,
  so segment i still holds the music around segment i (at the new tempo), see its docstring.
"""

from __future__ import annotations

from fractions import Fraction

import av
import av.filter
import numpy as np

from engine.media.grid import SegmentGrid

KINDS = ("brightness", "hue", "tempo")


def brightness(frames: np.ndarray, r: float) -> np.ndarray:
    """uint8 ``[..., 3]`` frames with RGB x ``r`` (clipped); the same array when r == 1."""
    if r == 1.0:
        return frames
    return np.clip(frames.astype(np.float32) * np.float32(r), 0, 255).round().astype(np.uint8)


def hue_angle(r: float) -> float:
    """The hue rotation (degrees) that factor ``r`` stands for: (r - 1) x 180°."""
    return (float(r) - 1.0) * 180.0


def _hue_matrix(degrees: float) -> np.ndarray:
    """3x3 rotation of RGB about the (1, 1, 1) axis by ``degrees`` (Rodrigues' formula)."""
    th = np.deg2rad(degrees)
    c, s = np.cos(th), np.sin(th)
    k = 1.0 / 3.0
    sq = np.sqrt(k)
    return np.array([
        [c + (1 - c) * k, k * (1 - c) - sq * s, k * (1 - c) + sq * s],
        [k * (1 - c) + sq * s, c + k * (1 - c), k * (1 - c) - sq * s],
        [k * (1 - c) - sq * s, k * (1 - c) + sq * s, c + k * (1 - c)],
    ], dtype=np.float32)


def hue_rotate(frames: np.ndarray, r: float) -> np.ndarray:
    """uint8 ``[..., 3]`` frames with their hue rotated by :func:`hue_angle` (r)."""
    if r == 1.0:
        return frames
    m = _hue_matrix(hue_angle(r))  # (3, 3): out = m @ rgb
    x = frames.astype(np.float32) @ m.T  # [..., 3]
    return np.clip(x, 0, 255).round().astype(np.uint8)


def perturb_frames(kind: str, frames: np.ndarray, r: float) -> np.ndarray:
    if kind == "brightness":
        return brightness(frames, r)
    if kind == "hue":
        return hue_rotate(frames, r)
    raise ValueError(f"{kind!r} is not a frame perturbation (brightness, hue)")


def time_stretch(samples: np.ndarray, sample_rate: int, r: float, chunk: int = 8192) -> np.ndarray:
    """float32 mono ``[n]`` -> ``[~n / r]``: tempo x ``r``, pitch kept (ffmpeg ``atempo``).

    ``atempo`` takes 0.5..100 in one instance; slower factors are chained (0.25 = 0.5 x 0.5)."""
    x = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
    if r == 1.0 or x.size == 0:
        return x.copy()
    if not 0.0 < r <= 100.0:
        raise ValueError(f"tempo factor must be in (0, 100], got {r}")
    factors = []
    rest = float(r)
    while rest < 0.5:
        factors.append(0.5)
        rest /= 0.5
    factors.append(rest)
    g = av.filter.Graph()
    node = g.add_abuffer(format="flt", sample_rate=sample_rate, layout="mono", time_base=f"1/{sample_rate}")
    src = node
    for f in factors:
        nxt = g.add("atempo", f"{f:.6f}")
        node.link_to(nxt)
        node = nxt
    sink = g.add("abuffersink")
    node.link_to(sink)
    g.configure()
    out: list[np.ndarray] = []

    def drain() -> None:
        while True:
            try:
                frame = g.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            out.append(frame.to_ndarray().reshape(-1))

    for i in range(0, x.size, chunk):
        frame = av.AudioFrame.from_ndarray(x[None, i:i + chunk].copy(), format="flt", layout="mono")
        frame.sample_rate = sample_rate
        frame.pts = i
        frame.time_base = Fraction(1, sample_rate)
        src.push(frame)
        drain()
    src.push(None)
    drain()
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def stretch_on_grid(samples: np.ndarray, sample_rate: int, grid: SegmentGrid, r: float) -> np.ndarray:
    """Tempo x ``r`` with every segment keeping its own music: float32 ``[grid.duration x sr]``.

    The whole track is stretched once (y = :func:`time_stretch`); music at time c of the
    original is at c / r in y. Segment i (start s, end e, middle c) is filled with the
    ``e - s`` seconds of y centred on c / r (moved inside y at the ends). So the segments stay
    paired with their video, and only the tempo (and the amount of music per segment) changes.
    At r = 1 this returns (a copy of) the input, so features equal the unperturbed ones.
    """
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if r == 1.0:
        return x.copy()
    n_out = int(round(grid.duration * sample_rate))
    y = time_stretch(x, sample_rate, r)
    out = np.zeros(n_out, np.float32)
    for seg in grid:
        a, b = int(round(seg.start * sample_rate)), min(n_out, int(round(seg.end * sample_rate)))
        n = b - a
        if n <= 0:
            continue
        lo = int(round(seg.middle / r * sample_rate)) - n // 2
        lo = max(0, min(lo, y.size - n))
        piece = y[lo:lo + n]
        out[a:a + piece.size] = piece
    return out
