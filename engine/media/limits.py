"""Per-file limits: wall-clock time and picture size.

A crafted or broken file must not hang the app or eat all memory. Loops in the media layer
check a :class:`Deadline` on every packet/frame; FFmpeg's own I/O is interrupted through
PyAV's ``timeout`` (its interrupt callback), and decoders are opened with ``max_pixels``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .errors import MediaTimeout


@dataclass(frozen=True)
class MediaLimits:
    probe_seconds: float = 15.0
    """Wall-clock limit for opening and probing a file."""
    decode_base_seconds: float = 30.0
    """Decoding may take this long plus ``decode_per_media_second`` per second of media."""
    decode_per_media_second: float = 1.0
    """1.0 = decoding must run at least in real time; every normal file is far faster."""
    max_pixels: int = 8192 * 4320
    """Largest picture we decode (8K); larger frames are refused before decoding."""

    def decode_seconds(self, media_seconds: float | None) -> float:
        return self.decode_base_seconds + self.decode_per_media_second * float(media_seconds or 0.0)


DEFAULT_LIMITS = MediaLimits()


class Deadline:
    """A wall-clock budget; ``check()`` raises :class:`MediaTimeout` once it is spent."""

    def __init__(self, seconds: float | None, path: str, doing: str) -> None:
        self.seconds = seconds
        self.path = path
        self.doing = doing
        self.start = time.monotonic()

    @property
    def remaining(self) -> float | None:
        if self.seconds is None:
            return None
        return self.seconds - (time.monotonic() - self.start)

    def check(self) -> None:
        rem = self.remaining
        if rem is not None and rem < 0:
            raise MediaTimeout(self.path, f"{self.doing} took longer than {self.seconds:.0f} s; "
                                          "the file may be damaged or crafted to stall decoders")
