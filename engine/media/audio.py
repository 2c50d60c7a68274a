"""Audio to mono float32 at a requested rate, for any container/codec FFmpeg reads.

Decoding is chunked (``iter_audio``) so a long file never has to sit in memory at its
original rate; ``decode_audio`` concatenates the chunks at the (usually much lower) target
rate, e.g. 16 kHz for the music model.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from engine.jobs import CancelCheck

from .container import audio_stream, decode_stream, open_media
from .errors import CorruptMedia, MediaError, NoAudioStream, converted
from .limits import DEFAULT_LIMITS, Deadline, MediaLimits

log = logging.getLogger(__name__)


def iter_audio(path: str | os.PathLike[str], sample_rate: int = 16000, *, start: float = 0.0,
               duration: float | None = None, limits: MediaLimits = DEFAULT_LIMITS,
               cancel: CancelCheck | None = None) -> Iterator[np.ndarray]:
    """Yield consecutive float32 mono chunks at ``sample_rate`` from ``start`` seconds on.

    Raises :class:`NoAudioStream` when there is none, and :class:`CorruptMedia` when the data
    stops decoding part-way (with ``decoded_seconds`` telling how far it got).
    """
    p = Path(path)
    with open_media(p, limits=limits) as c:
        stream = audio_stream(c)
        if stream is None:
            raise NoAudioStream(p, "has no audio track; choose a file with sound")
        media_seconds = (c.duration / av.time_base) if c.duration else None
        deadline = Deadline(limits.decode_seconds(duration or media_seconds), str(p), "decoding audio")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        skip = int(round(max(0.0, start) * sample_rate))  # samples still to drop before `start`
        want = None if duration is None else int(round(duration * sample_rate))
        emitted = 0
        with converted(p, "decoding audio"):
            if start > 1.0:
                # Land on a packet before `start`; the exact sample is found by counting below.
                try:
                    c.seek(int(max(0.0, start - 0.5) / stream.time_base), stream=stream, backward=True)
                    skip = None  # recomputed from the first frame's timestamp
                except av.error.FFmpegError:
                    pass
            try:
                for frame in _frames(c, stream, deadline, cancel):
                    if skip is None:
                        t0 = float(frame.pts * stream.time_base) if frame.pts is not None else 0.0
                        skip = max(0, int(round((start - t0) * sample_rate)))
                    for out in resampler.resample(frame):
                        chunk = out.to_ndarray().reshape(-1)
                        chunk, skip = _drop(chunk, skip)
                        if want is not None:
                            chunk = chunk[: max(0, want - emitted)]
                        if chunk.size:
                            emitted += chunk.size
                            yield chunk.astype(np.float32, copy=False)
                        if want is not None and emitted >= want:
                            return
            except MediaError as e:
                if emitted == 0 or not isinstance(e, CorruptMedia):
                    raise
                raise CorruptMedia(p, f"audio stops decoding after {emitted / sample_rate:.1f} s "
                                      f"({e.reason}); the file is probably truncated",
                                   decoded_seconds=emitted / sample_rate) from e
            for out in resampler.resample(None):
                chunk, skip = _drop(out.to_ndarray().reshape(-1), skip or 0)
                if want is not None:
                    chunk = chunk[: max(0, want - emitted)]
                if chunk.size:
                    emitted += chunk.size
                    yield chunk.astype(np.float32, copy=False)
        if emitted == 0:
            raise CorruptMedia(p, "no audio could be decoded; the file is damaged or empty")


def _drop(chunk: np.ndarray, skip: int | None) -> tuple[np.ndarray, int]:
    skip = skip or 0
    if skip <= 0:
        return chunk, 0
    n = min(skip, chunk.size)
    return chunk[n:], skip - n


def _frames(c, stream, deadline: Deadline, cancel: CancelCheck | None):
    with converted(c.name, "decoding audio"):
        yield from decode_stream(c, stream, deadline, cancel)


def decode_audio(path: str | os.PathLike[str], sample_rate: int = 16000, *, start: float = 0.0,
                 duration: float | None = None, limits: MediaLimits = DEFAULT_LIMITS,
                 cancel: CancelCheck | None = None, allow_partial: bool = True) -> np.ndarray:
    """The whole (or a window of the) audio as float32 mono ``[N]`` at ``sample_rate``.

    With ``allow_partial`` (default) a truncated file returns what was readable; the caller
    can compare ``len(result) / sample_rate`` with the probed duration. Set it False to get
    :class:`CorruptMedia` instead.
    """
    chunks: list[np.ndarray] = []
    try:
        for chunk in iter_audio(path, sample_rate, start=start, duration=duration, limits=limits, cancel=cancel):
            chunks.append(chunk)
    except CorruptMedia as e:
        if not allow_partial or not chunks:
            raise
        log.warning("%s", e)
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
