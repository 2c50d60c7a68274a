"""Streamed reads of a track for the mix: stereo at the mix rate from a start time, silence
before the track begins and after it ends, and (``stretch``) played faster or slower with
the pitch kept (:mod:`engine.mix.stretch`).
"""

from __future__ import annotations

import logging

import numpy as np

from engine.jobs import CancelCheck
from engine.media.audio import iter_audio_channels
from engine.media.errors import CorruptMedia
from engine.media.limits import MediaLimits

log = logging.getLogger("engine.mix.render")

RATE = 48000
"""Samples per second of everything the mix renders."""


class Reader:
    """Sequential stereo reads from a track starting at ``src0`` seconds (negative: silence
    first); zeros after the track ends."""

    def __init__(self, path: str, src0: float, length: float, limits: MediaLimits,
                 cancel: CancelCheck | None) -> None:
        from dataclasses import replace

        self.lead = int(round(max(0.0, -src0) * RATE))  # zeros before the track begins
        # the reader lives as long as the render takes to pass its stretch (encoding, muxing
        # and the other tracks in between): a wider wall-clock budget than a plain decode
        limits = replace(limits, decode_per_media_second=max(4.0, limits.decode_per_media_second))
        self.it = iter_audio_channels(path, RATE, start=max(0.0, src0), duration=length + 0.1,
                                      limits=limits, cancel=cancel) if length > 0 else iter(())
        self.buf = np.zeros((2, 0), np.float32)
        self.done = False
        self.got = 0

    def read(self, n: int) -> np.ndarray:
        out = np.zeros((2, n), np.float32)
        pos = 0
        if self.lead:
            k = min(self.lead, n)
            self.lead -= k
            pos = k
        while pos < n:
            if self.buf.shape[1] == 0:
                if self.done:
                    break
                try:
                    self.buf = next(self.it)
                    self.got += self.buf.shape[1]
                except StopIteration:
                    self.done = True
                    break
                except CorruptMedia as e:
                    if not self.got:
                        raise
                    log.warning("%s: silence from there on", e)  # a truncated track: play what is there
                    self.done = True
                    break
            k = min(n - pos, self.buf.shape[1])
            out[:, pos:pos + k] = self.buf[:, :k]
            self.buf = self.buf[:, k:]
            pos += k
        return out

    def close(self) -> None:
        close = getattr(self.it, "close", None)
        if close is not None:
            close()


class StretchedReader:
    """A :class:`Reader` played ``stretch`` times faster, pitch kept (streamed through
    :class:`engine.mix.stretch.TimeStretcher`); zeros after the track ends."""

    def __init__(self, path: str, src0: float, length: float, limits: MediaLimits,
                 cancel: CancelCheck | None, stretch: float) -> None:
        from .stretch import TimeStretcher

        self.src = Reader(path, src0, length * stretch + 0.2, limits, cancel)
        self.st = TimeStretcher(RATE, 2, stretch)
        self.buf = np.zeros((2, 0), np.float32)

    def read(self, n: int) -> np.ndarray:
        parts, have = [self.buf], self.buf.shape[1]
        while have < n:
            y = self.st.push(self.src.read(max(4800, int((n - have) * self.st.factor) + 1)))
            parts.append(y)
            have += y.shape[1]
        buf = np.concatenate(parts, axis=1)
        self.buf = buf[:, n:]
        return buf[:, :n]

    def close(self) -> None:
        self.src.close()


def track_reader(path: str, src0: float, length: float, limits: MediaLimits, cancel: CancelCheck | None,
                 stretch: float = 1.0) -> Reader | StretchedReader:
    """A :class:`Reader`, or a :class:`StretchedReader` when ``stretch`` is not 1."""
    if abs(stretch - 1.0) > 1e-6:
        return StretchedReader(path, src0, length, limits, cancel, stretch)
    return Reader(path, src0, length, limits, cancel)
