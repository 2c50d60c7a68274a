"""Decoding in the background while the network runs, and log-mel frames computed as the
audio arrives, identical to :func:`~.preprocess.log_mel` on the whole signal.

On a 2-core machine decoding a compressed track costs a fifth to a third of what the
network does; overlapping the two instead of decoding first is most of the way to the
speed goal (see ``bench/musicnn.py``).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Iterator

import numpy as np

from engine.jobs import CancelCheck

from .preprocess import HOP, N_FFT, SAMPLE_RATE, framed_power, log_compress, mel_from_power

log = logging.getLogger(__name__)
_END = object()


class StreamingLogMel:
    """Feed float32 16 kHz chunks with :meth:`push`, then :meth:`finish`; each returns the
    log-mel frames ``[n, 96]`` that became complete. Frame ``k`` is centred on sample
    ``k * 256`` with zero padding at both ends, as librosa's ``center=True``."""

    def __init__(self, min_frames: int = 256) -> None:
        self._buf = np.zeros(N_FFT // 2, dtype=np.float32)  # the left padding
        self._pending: list[np.ndarray] = []
        self._pending_len = 0
        self.min_frames = min_frames  # compute in blocks of at least this many frames
        self.samples = 0
        self.frames = 0

    def push(self, chunk: np.ndarray) -> np.ndarray:
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        self._pending.append(chunk)
        self._pending_len += len(chunk)
        self.samples += len(chunk)
        if self._pending_len < self.min_frames * HOP:
            return np.zeros((0, 96), dtype=np.float32)
        return self._flush(final=False)

    def finish(self) -> np.ndarray:
        self._pending.append(np.zeros(N_FFT // 2, dtype=np.float32))  # the right padding
        return self._flush(final=True)

    def _flush(self, final: bool) -> np.ndarray:
        buf = np.concatenate([self._buf, *self._pending])
        self._pending, self._pending_len = [], 0
        n = 0 if len(buf) < N_FFT else 1 + (len(buf) - N_FFT) // HOP
        if final:
            n = min(n, 1 + self.samples // HOP - self.frames)  # librosa's frame count
        out = log_compress(mel_from_power(framed_power(buf, n))) if n > 0 else np.zeros((0, 96), np.float32)
        self.frames += n
        self._buf = buf[n * HOP:]  # the samples the next frame starts with
        return out


class BackgroundDecoder:
    """``iter_audio(path)`` in a thread; iterate to get its chunks (or its exception).

    Ends the thread when iteration stops early (``close``). A file that stops decoding
    part-way gives what was readable, with a warning, like ``decode_audio``."""

    def __init__(self, path: str | os.PathLike[str], cancel: CancelCheck | None = None,
                 sample_rate: int = SAMPLE_RATE) -> None:
        self.path = path
        self._cancel = cancel
        self._stop = threading.Event()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._rate = sample_rate
        self._thread = threading.Thread(target=self._run, name="musicnn-decode", daemon=True)
        self._thread.start()

    def _stopped(self) -> bool:
        return self._stop.is_set() or (self._cancel is not None and self._cancel())

    def _run(self) -> None:
        from engine.media.audio import iter_audio
        from engine.media.errors import CorruptMedia

        got = False
        try:
            for chunk in iter_audio(self.path, self._rate, cancel=self._stopped):
                got = True
                self._queue.put(chunk)
        except CorruptMedia as exc:
            if not got:
                self._queue.put(exc)
                return
            log.warning("%s", exc)
        except BaseException as exc:  # handed to the consumer, raised there
            self._queue.put(exc)
            return
        self._queue.put(_END)

    def __iter__(self) -> Iterator[np.ndarray]:
        try:
            while True:
                item = self._queue.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
