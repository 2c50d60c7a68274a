"""Decoding overlapped with encoding: an iterator run ahead in a thread, a bounded queue between.

PyAV releases the GIL while FFmpeg decodes and torch while it computes, so the decoder can
fill the next segments' frames while the encoder reads the current ones (on a GPU, or on a
second CPU core). The queue holds at most ``depth`` items, so memory stays bounded; an
exception in the decoder is raised in the consumer; closing the consumer (a cancel, an
error downstream) stops the decoder at its next item.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def prefetch(items: Iterable[T], depth: int = 4) -> Iterator[T]:
    """Yield what ``items`` yields, computed up to ``depth`` items ahead in a worker thread."""
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(x) -> bool:
        while not stop.is_set():
            try:
                q.put(x, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        it = iter(items)
        try:
            for x in it:
                if not put((True, x)):
                    break
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            put((False, e))
            return
        finally:
            close = getattr(it, "close", None)
            if close is not None and stop.is_set():
                close()
        put((True, _END))

    t = threading.Thread(target=work, name="mvpt-decode", daemon=True)
    t.start()
    try:
        while True:
            ok, x = q.get()
            if not ok:
                raise x
            if x is _END:
                return
            yield x
    finally:
        stop.set()
        t.join(timeout=10)
