"""Audio to float32 at a requested rate, for any container/codec FFmpeg reads: mono for the
models (``iter_audio``/``decode_audio``), stereo for the mix (``iter_audio_channels``/
``decode_audio_channels``; FFmpeg's resampler duplicates mono to both sides and downmixes
5.1 with its standard matrix: centre and surrounds at -3 dB, LFE dropped).

Decoding is chunked so a long file never has to sit in memory at its original rate;
``decode_audio`` concatenates the chunks at the (usually much lower) target rate, e.g.
16 kHz for the music model. A file whose format, layout or rate changes mid-stream (HE-AAC
switching to SBR, joined MP3s, broadcast 2.0 <-> 5.1) is resampled through a fresh
resampler from the frame where it changes.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from engine.jobs import CancelCheck

from .container import audio_stream, decode_stream, open_media
from .errors import CorruptMedia, MediaError, NoAudioStream, NotMediaError, converted
from .limits import DEFAULT_LIMITS, Deadline, MediaLimits

log = logging.getLogger(__name__)


def iter_audio(path: str | os.PathLike[str], sample_rate: int = 16000, *, start: float = 0.0,
               duration: float | None = None, limits: MediaLimits = DEFAULT_LIMITS,
               cancel: CancelCheck | None = None) -> Iterator[np.ndarray]:
    """Yield consecutive float32 mono chunks ``[n]`` at ``sample_rate`` from ``start`` seconds on.

    Raises :class:`NoAudioStream` when there is none, and :class:`CorruptMedia` when the data
    stops decoding part-way (with ``decoded_seconds`` telling how far it got).
    """
    for chunk in iter_audio_channels(path, sample_rate, start=start, duration=duration, layout="mono",
                                     limits=limits, cancel=cancel):
        yield chunk[0]


def iter_audio_channels(path: str | os.PathLike[str], sample_rate: int = 48000, *, start: float = 0.0,
                        duration: float | None = None, layout: str = "stereo",
                        limits: MediaLimits = DEFAULT_LIMITS,
                        cancel: CancelCheck | None = None) -> Iterator[np.ndarray]:
    """Yield consecutive float32 chunks ``[channels, n]`` in ``layout`` ("stereo", "mono", ...)
    at ``sample_rate`` from ``start`` seconds on. Errors as :func:`iter_audio`."""
    p = Path(path)
    opened = contextlib.ExitStack()
    try:
        c = opened.enter_context(open_media(p, limits=limits))
    except (NotMediaError, CorruptMedia):
        from .sndfile import iter_sndfile_channels, readable

        if not readable(p):  # FFmpeg refuses it; libsndfile may not (engine/media/sndfile.py)
            raise
        yield from iter_sndfile_channels(p, sample_rate, start=start, duration=duration, layout=layout,
                                         limits=limits, cancel=cancel)
        return
    with opened:
        stream = audio_stream(c)
        if stream is None:
            raise NoAudioStream(p, "has no audio track; choose a file with sound")
        media_seconds = (c.duration / av.time_base) if c.duration else None
        deadline = Deadline(limits.decode_seconds(duration or media_seconds), str(p), "decoding audio")
        resampler = Resampler(layout, sample_rate)
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
                    for chunk in resampler.resample(frame):
                        chunk, skip = _drop(chunk, skip)
                        if want is not None:
                            chunk = chunk[:, : max(0, want - emitted)]
                        if chunk.shape[1]:
                            emitted += chunk.shape[1]
                            yield chunk
                        if want is not None and emitted >= want:
                            return
            except MediaError as e:
                if emitted == 0 or not isinstance(e, CorruptMedia):
                    raise
                raise CorruptMedia(p, f"audio stops decoding after {emitted / sample_rate:.1f} s "
                                      f"({e.reason}); the file is probably truncated",
                                   decoded_seconds=emitted / sample_rate) from e
            for chunk in resampler.flush():
                chunk, skip = _drop(chunk, skip or 0)
                if want is not None:
                    chunk = chunk[:, : max(0, want - emitted)]
                if chunk.shape[1]:
                    emitted += chunk.shape[1]
                    yield chunk
        if emitted == 0:
            raise CorruptMedia(p, "no audio could be decoded; the file is damaged or empty")


class Resampler:
    """FFmpeg's resampler to planar float32 ``[channels, n]``, re-created (after draining the
    old one) when a frame's format, layout or rate differs from the frames before it."""

    def __init__(self, layout: str, rate: int) -> None:
        self.layout, self.rate = layout, rate
        self.key: tuple | None = None
        self.r: av.AudioResampler | None = None

    def resample(self, frame) -> Iterator[np.ndarray]:
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        if key != self.key:
            if self.r is not None:
                yield from self.flush()
            self.r = av.AudioResampler(format="fltp", layout=self.layout, rate=self.rate)
            self.key = key
        for out in self.r.resample(frame):
            yield _planar(out)

    def flush(self) -> Iterator[np.ndarray]:
        if self.r is not None:
            for out in self.r.resample(None):
                yield _planar(out)


def _planar(frame) -> np.ndarray:
    x = frame.to_ndarray()  # fltp: [channels, n]
    return np.ascontiguousarray(x.reshape(len(frame.layout.channels), -1), dtype=np.float32)


def _drop(chunk: np.ndarray, skip: int | None) -> tuple[np.ndarray, int]:
    """Drop up to ``skip`` samples from the front of ``chunk [channels, n]``."""
    skip = skip or 0
    if skip <= 0:
        return chunk, 0
    n = min(skip, chunk.shape[1])
    return chunk[:, n:], skip - n


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


def decode_audio_channels(path: str | os.PathLike[str], sample_rate: int = 48000, *, start: float = 0.0,
                          duration: float | None = None, layout: str = "stereo",
                          limits: MediaLimits = DEFAULT_LIMITS, cancel: CancelCheck | None = None,
                          allow_partial: bool = True) -> np.ndarray:
    """The whole (or a window of the) audio as float32 ``[channels, N]`` (see :func:`decode_audio`)."""
    chunks: list[np.ndarray] = []
    try:
        for chunk in iter_audio_channels(path, sample_rate, start=start, duration=duration, layout=layout,
                                         limits=limits, cancel=cancel):
            chunks.append(chunk)
    except CorruptMedia as e:
        if not allow_partial or not chunks:
            raise
        log.warning("%s", e)
    nch = len(av.AudioLayout(layout).channels)
    return np.concatenate(chunks, axis=1) if chunks else np.zeros((nch, 0), np.float32)
