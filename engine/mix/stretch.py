"""A small tempo change with the pitch kept, whole or streamed (fit to length's last few %).

FFmpeg's ``atempo`` filter (WSOLA, through PyAV): clean on music for the ≤ 3 % a fit plan
asks (:data:`engine.rhythm.fit.MAX_STRETCH`), no phase-vocoder smear on drums, and it streams,
so the mix renders a stretched cue chunk by chunk with flat memory.

``atempo`` starts its output half a window (``rate / 48`` samples, ~21 ms) late into the
input, i.e. it drops that much of the start. :class:`TimeStretcher` feeds that many samples
of silence first, so input time ``t`` comes out at ``t / factor`` (measured within 1 ms over
4 s at ±2 %), and a stretched stream lines up with the video like an unstretched one.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

LAYOUTS = {1: "mono", 2: "stereo"}


class TimeStretcher:
    """``factor`` times faster (1.02: 2 % shorter), pitch kept, for ``channels`` (1 or 2)
    channels at ``rate``: :meth:`push` float32 ``[ch, n]`` blocks, take what comes out
    (float32 ``[ch, m]``, possibly empty), then :meth:`flush` for the rest."""

    def __init__(self, rate: int, channels: int, factor: float) -> None:
        import av.filter

        if channels not in LAYOUTS:
            raise ValueError(f"time-stretch takes mono or stereo, not {channels} channels")
        if not 0.5 <= factor <= 2.0:
            raise ValueError(f"a tempo factor of {factor} is outside 0.5..2")
        self.rate, self.channels, self.factor = int(rate), int(channels), float(factor)
        layout = LAYOUTS[channels]
        self._tb = Fraction(1, self.rate)
        g = av.filter.Graph()
        self._src = g.add_abuffer(sample_rate=self.rate, format="fltp", layout=layout, time_base=self._tb)
        tempo = g.add("atempo", f"{self.factor:.6f}")
        fmt = g.add("aformat", f"sample_fmts=fltp:channel_layouts={layout}")
        self._sink = g.add("abuffersink")
        self._src.link_to(tempo)
        tempo.link_to(fmt)
        fmt.link_to(self._sink)
        g.configure()
        self._graph = g
        self._pts = 0
        self._flushed = False
        lead = int(round(self.rate / 48 * self.factor))  # what atempo swallows at the start
        self._first = self.push(np.zeros((self.channels, lead), np.float32)) if lead else None

    def push(self, x: np.ndarray) -> np.ndarray:
        """Feed float32 ``[ch, n]``; returns what the filter has ready, ``[ch, m]``."""
        import av

        x = np.ascontiguousarray(np.asarray(x, np.float32).reshape(self.channels, -1))
        out = [] if getattr(self, "_first", None) is None else [self._first]
        self._first = None
        for i in range(0, x.shape[1], 8192):
            part = np.ascontiguousarray(x[:, i:i + 8192])
            f = av.AudioFrame.from_ndarray(part, format="fltp", layout=LAYOUTS[self.channels])
            f.sample_rate, f.pts, f.time_base = self.rate, self._pts, self._tb
            self._pts += part.shape[1]
            self._src.push(f)
            out.extend(self._drain())
        return np.concatenate(out, axis=1) if out else np.zeros((self.channels, 0), np.float32)

    def flush(self) -> np.ndarray:
        """The end of the stream: what the filter still holds, ``[ch, m]``."""
        if self._flushed:
            return np.zeros((self.channels, 0), np.float32)
        self._flushed = True
        self._src.push(None)
        out = ([] if self._first is None else [self._first]) + self._drain()
        self._first = None
        return np.concatenate(out, axis=1) if out else np.zeros((self.channels, 0), np.float32)

    def _drain(self) -> list[np.ndarray]:
        import av

        out = []
        while True:
            try:
                out.append(self._sink.pull().to_ndarray().astype(np.float32, copy=False))
            except (av.error.BlockingIOError, av.error.EOFError):
                return out


def time_stretch(samples: np.ndarray, rate: int, factor: float) -> np.ndarray:
    """Play ``factor`` times faster with the pitch kept. float32 ``[n, ch]`` (or ``[n]``) ->
    ``[round(n / factor), ch]`` (or ``[...]``): exactly that many samples, input time ``t`` at
    ``t / factor``."""
    x = np.asarray(samples, np.float32)
    mono = x.ndim == 1
    x = x[:, None] if mono else x
    n_out = int(round(len(x) / factor))
    if x.shape[1] not in LAYOUTS:  # per channel for unusual layouts
        y = np.stack([time_stretch(c, rate, factor) for c in x.T], 1)
    else:
        st = TimeStretcher(rate, x.shape[1], factor)
        y = np.concatenate([st.push(x.T), st.flush()], axis=1).T
    if len(y) < n_out:
        y = np.vstack([y, np.zeros((n_out - len(y), y.shape[1]), np.float32)])
    y = np.ascontiguousarray(y[:n_out], np.float32)
    return y[:, 0] if mono else y


__all__ = ["TimeStretcher", "time_stretch"]
