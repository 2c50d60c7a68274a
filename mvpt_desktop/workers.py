"""The one place that runs engine work off the GUI thread.

An engine job is a generator that yields :class:`engine.jobs.Progress`, returns its result
and takes a ``cancel`` callable. :class:`Executor` runs such jobs on its own Python
threads, one queue per resource (napari's thread workers, Picard's pools):

* the *inference* executor has one thread: it owns every use of the loaded model (one
  model, one GPU, serial work: analysis, re-ranking, attributes, embedding);
* the *io* executor runs the rest (library scans in their worker processes, muxing a
  preview, exporting).

``submit`` returns a :class:`JobHandle` living in the GUI thread. The worker thread never
emits the handle's public signals itself: it posts to the handle through a queued
connection, so ``started / progress / returned / errored / finished / aborted`` are always
delivered on the GUI thread, whatever they are connected to. A worker never touches a
widget. Progress is throttled (at most one event per ``PROGRESS_INTERVAL`` seconds, the
last one always delivered with the result). ``cancel()`` sets a flag that the job's cancel
callable reads; the thread also closes the generator at its next yield. A job that raises
reports a message a creator understands, never a traceback, and the thread lives on.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from engine.jobs import Cancelled, Progress

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.1
"""Seconds between two progress signals of one job (the GUI repaints at most 10×/s)."""

LOG_HINT = "; details are in the log"
JobFactory = Callable[[Callable[[], bool]], Any]
"""``factory(cancel) -> generator job`` (or a plain result for short work)."""


def user_message(e: BaseException) -> str:
    """What to show a creator for an exception raised by engine work (never a traceback)."""
    from engine.recommend import MediaError
    from engine.session import NoModelError

    if isinstance(e, (MediaError, NoModelError)):
        return str(e)
    name = type(e).__name__
    if name in ("AttributeError_", "CatalogError", "CheckpointError", "FeatureError", "OutputError"):
        return str(e)
    if isinstance(e, (ValueError, KeyError, FileNotFoundError, PermissionError)):
        return str(e).strip("'\"") or name
    if isinstance(e, MemoryError):
        return "not enough memory for this work; close other programs or use a smaller file"
    return f"something went wrong ({name}: {e}){LOG_HINT}"


class JobHandle(QObject):
    """One submitted job, as the GUI sees it. All signals arrive on the GUI thread."""

    started = Signal()
    progress = Signal(object)
    """:class:`engine.jobs.Progress`"""
    returned = Signal(object)
    """The job's result."""
    errored = Signal(str)
    """A message a creator understands."""
    aborted = Signal()
    """Cancelled (before or while running)."""
    finished = Signal()
    """Always last, after returned, errored or aborted."""

    _post = Signal(str, object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.state = "queued"
        """"queued", "running", "returned", "errored", "aborted"."""
        self.result: Any = None
        self.error: str | None = None
        self._cancel = threading.Event()
        self._post.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return self.state in ("returned", "errored", "aborted")

    def cancel(self) -> None:
        """Ask the job to stop; ``aborted`` follows once it has (at once if not started)."""
        self._cancel.set()
        if self.state == "queued":
            self._deliver("aborted", None)

    def is_cancelled(self) -> bool:  # the engine's CancelCheck
        return self._cancel.is_set()

    @Slot(str, object)
    def _deliver(self, kind: str, value: object) -> None:
        if self.done:
            return
        if kind == "started":
            self.state = "running"
            self.started.emit()
        elif kind == "progress":
            self.progress.emit(value)
        else:
            if kind == "returned":
                self.result = value
            elif kind == "errored":
                self.error = str(value)
            self.state = kind
            getattr(self, kind).emit(*(() if kind == "aborted" else (value,)))
            self.finished.emit()


class Executor(QObject):
    """``threads`` worker threads serving one queue of jobs (see the module doc)."""

    def __init__(self, name: str, threads: int = 1, parent: QObject | None = None,
                 init: Callable[[], None] | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._init = init
        self._queue: queue.Queue = queue.Queue()
        self._handles: list[JobHandle] = []
        self._closed = False
        self._ids = itertools.count(1)
        self._threads = [threading.Thread(target=self._loop, name=f"mvpt-{name}-{i}", daemon=True)
                         for i in range(threads)]
        for t in self._threads:
            t.start()

    def submit(self, factory: JobFactory, name: str = "job") -> JobHandle:
        handle = JobHandle(f"{name}#{next(self._ids)}", self)
        if self._closed:  # late work at exit (a callback of a finished job): dropped, said so
            log.debug("%s submitted after shutdown: aborted", handle.name)
            handle.cancel()
            return handle
        self._handles = [h for h in self._handles if not h.done] + [handle]
        self._queue.put((handle, factory))
        return handle

    def pending(self) -> list[JobHandle]:
        return [h for h in self._handles if not h.done]

    def cancel_all(self) -> None:
        for h in list(self._handles):
            h.cancel()

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Cancel everything, stop the threads and join them. True when all have stopped."""
        self._closed = True
        self.cancel_all()
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("threads still running at exit: %s", alive)
        return not alive

    # -- the worker thread ------------------------------------------------------------------
    def _loop(self) -> None:
        init = self._init
        while True:
            task = self._queue.get()
            if task is None:
                return
            if init is not None:
                # at the first job, not at thread start: the init imports torch, whose dlopen
                # of its CUDA libraries holds the GIL; the window's first QMediaPlayer, made
                # on the GUI thread meanwhile, dlopens Qt's FFmpeg plugin, which logs through
                # a Python message handler (pytest-qt's) and waits for the GIL inside dlopen:
                # a deadlock seen here. The first job comes after the window is built.
                init_now, init = init, None  # once per thread (niceness is per thread)
                try:
                    init_now()
                except Exception:  # noqa: BLE001 - a tuning step, never fatal
                    log.warning("initialising the %s thread failed", self.name, exc_info=True)
            handle, factory = task
            try:
                self._run(handle, factory)
            except RuntimeError:  # the handle was deleted with its owner: nobody listens
                log.debug("job %s finished after its handle was deleted", handle)

    def _run(self, handle: JobHandle, factory: JobFactory) -> None:
        post = handle._post.emit
        if handle.cancelled:
            post("aborted", None)
            return
        post("started", None)
        last = 0.0
        pending: Progress | None = None
        try:
            job = factory(handle.is_cancelled)
            if inspect.isgenerator(job):
                result = None
                gen: Generator = job
                while True:
                    if handle.cancelled:
                        gen.close()
                        raise Cancelled("cancelled by the user")
                    try:
                        event = next(gen)
                    except StopIteration as stop:
                        result = stop.value
                        break
                    now = time.monotonic()
                    if now - last >= PROGRESS_INTERVAL:
                        post("progress", event)
                        last, pending = now, None
                    else:
                        pending = event
                if pending is not None:
                    post("progress", pending)
            else:
                result = job
            if handle.cancelled:
                raise Cancelled("cancelled by the user")
        except Cancelled:
            post("aborted", None)
        except Exception as e:  # noqa: BLE001 - a worker never takes the window down
            message = user_message(e)
            # expected failures (a bad file, no model) are logged as said; bugs with their traceback
            log.warning("job %s failed: %s", handle.name, message, exc_info=message.endswith(LOG_HINT))
            post("errored", message)
        else:
            post("returned", result)


class Workers(QObject):
    """The app's two pools: ``inference`` (one thread, the model) and ``io`` (the rest)."""

    def __init__(self, parent: QObject | None = None, io_threads: int = 2) -> None:
        super().__init__(parent)
        self.inference = Executor("inference", 1, self, init=leave_a_core_for_the_gui)
        self.io = Executor("io", io_threads, self, init=background_priority)

    def shutdown(self, timeout: float = 5.0) -> bool:
        a = self.inference.shutdown(timeout)
        b = self.io.shutdown(timeout)
        return a and b


BACKGROUND_NICE = 10


def background_priority() -> None:
    """Run this worker thread (and the processes it starts, which inherit it) at a lower
    priority than the GUI thread, so the event loop gets the CPU first on a busy machine.
    Used for the io pool, whose library scans decode in worker processes (they share no
    GIL with us); not for the inference thread, which holds the GIL for its Python work
    and would keep the GUI waiting whenever it is descheduled. Linux: niceness is per
    thread. Elsewhere: left as it is."""
    import os

    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
        except OSError:
            pass


def leave_a_core_for_the_gui() -> None:
    """Torch's intra-op threads spin on every core while the model runs; on a small machine
    that starves the GUI thread (measured: 30-70 ms stalls on 2 cores). Keep one core free."""
    import os

    import torch

    cores = os.cpu_count() or 1
    if cores <= 4:
        torch.set_num_threads(max(1, cores - 1))
