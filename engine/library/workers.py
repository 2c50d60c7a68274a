"""Worker processes for untrusted files: one task per worker at a time, a wall-clock limit per
task, and every crash or timeout charged to the exact file that caused it.

Why processes and not threads: FFmpeg and the feature models are native code. A crafted
file that makes a decoder segfault, spin forever inside a C call (where no Python deadline
is checked) or allocate without bound must cost one file, not the app. A worker that dies
or overruns its limit is killed and replaced; the task it held comes back as a failure
naming the cause; the other workers carry on.

``concurrent.futures.ProcessPoolExecutor`` is not used: it cannot kill a single overrunning
task, and one crashed worker breaks the whole pool without saying which task did it. Here
each worker has its own pipe, so the pool always knows which task a worker holds.

Workers are started with ``spawn`` (safe when the parent runs threads, e.g. the GUI), run an
``init`` function once (heavy models load there, once per process, not per file), say
"ready", then serve tasks. They exit when the parent disappears. ``memory_limit`` caps
each worker's address space (POSIX), so runaway allocation is a MemoryError in the worker.

Results come back through ``multiprocessing`` pipes (pickled). That is a channel between
our own processes: a worker only ever pickles the plain records it built, and a worker that
an exploit had taken over would already run code as the user, so unpickling its output
opens nothing new; media bytes themselves are never unpickled.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from engine.jobs import CancelCheck, Cancelled


class WorkerInitError(Exception):
    """The worker set-up failed (e.g. missing model weights); every task would fail the same way."""


@dataclass(frozen=True)
class TaskResult:
    key: Any
    ok: bool
    value: Any = None
    error: str | None = None
    """Why the task failed, in words a user can read."""
    seconds: float = 0.0


def _resolve(spec: str) -> Callable[..., Any]:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def _watch_parent(parent: int) -> None:
    """Exit when the parent dies, even in the middle of a long task (no orphans left running)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(3)


def _limit_memory(limit: int | None) -> None:
    """Cap the worker's address space, so a file crafted to allocate without bound gets a
    MemoryError in its worker instead of the OOM killer picking a victim (maybe the app)."""
    if not limit:
        return
    try:
        import resource
    except ImportError:  # Windows: no rlimits
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _worker_main(conn: Connection, target: str, init: str | None, init_args: tuple, parent: int,
                 memory_limit: int | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _limit_memory(memory_limit)
    try:
        info = _resolve(init)(*init_args) if init else None
        fn = _resolve(target)
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which stops the run
        conn.send(("init-error", None, f"{type(e).__name__}: {e}" if not str(e).startswith(type(e).__name__)
                   else str(e)))
        return
    conn.send(("ready", None, info))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        key, args = msg
        try:
            conn.send(("ok", key, fn(*args)))
        except BaseException as e:  # noqa: BLE001 - the task failed, the worker lives on
            conn.send(("error", key, _describe(e)))


def _describe(e: BaseException) -> str:
    from engine.media.errors import MediaError

    if isinstance(e, MediaError):
        return e.reason
    if isinstance(e, MemoryError):
        return ("needs more memory than a worker may use to analyse it; the file may be damaged, crafted, "
                "or far larger than usual")
    text = str(e).strip()
    if type(e).__name__ in ("FeatureError", "UserFacingError") and text:
        return text
    return f"could not be analysed ({type(e).__name__}: {text or 'no details'})"


class _Worker:
    def __init__(self, ctx, target: str, init: str | None, init_args: tuple, memory_limit: int | None) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main,
                                args=(child, target, init, init_args, os.getpid(), memory_limit),
                                daemon=True, name="mvpt-library-worker")
        self.proc.start()
        child.close()
        self.started = time.monotonic()
        self.ready = False
        self.task: tuple[Any, tuple] | None = None
        self.task_started = 0.0

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class IsolatedPool:
    """Run ``target(*args)`` for each task in worker processes (see module doc).

    ``target``/``init`` are ``"module:function"`` names (importable in a fresh process).
    ``init(*init_args)`` runs once per worker; its return value is :attr:`info`.
    """

    def __init__(self, target: str, *, init: str | None = None, init_args: tuple = (), workers: int = 2,
                 time_limit: float = 600.0, init_time_limit: float = 300.0, memory_limit: int | None = None,
                 start_method: str = "spawn") -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        if not time_limit > 0:
            raise ValueError("time_limit must be positive")
        self.target, self.init, self.init_args = target, init, init_args
        self.workers = int(workers)
        self.time_limit = float(time_limit)
        self.init_time_limit = float(init_time_limit)
        self.memory_limit = memory_limit
        self._ctx = mp.get_context(start_method)
        self._pool: list[_Worker] = []
        self.info: Any = None
        self.replaced = 0
        """Workers killed (crash or time limit) and replaced so far."""

    def __enter__(self) -> IsolatedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker at once. Workers hold no state worth a graceful exit (results are
        written by the parent), so they are killed rather than waited for."""
        for w in self._pool:
            w.kill()
        self._pool.clear()

    def _spawn(self) -> _Worker:
        w = _Worker(self._ctx, self.target, self.init, self.init_args, self.memory_limit)
        self._pool.append(w)
        return w

    def start(self, cancel: CancelCheck | None = None) -> Any:
        """Start one worker and wait until it is ready; returns what ``init`` returned."""
        if not self._pool:
            self._spawn()
        while not any(w.ready for w in self._pool):
            for _ in self._poll(0.2, cancel):
                pass
        return self.info

    def run(self, tasks: Iterable[tuple[Any, tuple]], cancel: CancelCheck | None = None) -> Iterator[TaskResult]:
        """Yield one :class:`TaskResult` per ``(key, args)`` task, in completion order.

        At most ``workers`` tasks are in flight; ``tasks`` is consumed lazily (bounded
        memory). On cancel every worker is killed and :class:`Cancelled` is raised.
        """
        queue = iter(tasks)
        backlog: deque[tuple[Any, tuple]] = deque()
        exhausted = False
        try:
            while True:
                if not exhausted and len(backlog) < self.workers:
                    for item in queue:
                        backlog.append(item)
                        if len(backlog) >= self.workers:
                            break
                    else:
                        exhausted = True
                for w in self._pool:
                    if w.ready and w.task is None and backlog:
                        w.task, w.task_started = backlog.popleft(), time.monotonic()
                        w.conn.send(w.task)
                busy = sum(1 for w in self._pool if w.task is not None)
                if exhausted and not backlog and busy == 0:
                    return
                want = min(self.workers, busy + len(backlog))
                while len(self._pool) < want:
                    self._spawn()
                yield from self._poll(0.2, cancel)
        except BaseException:
            for w in self._pool:
                w.kill()
            self._pool.clear()
            raise

    def _poll(self, timeout: float, cancel: CancelCheck | None) -> Iterator[TaskResult]:
        if cancel is not None and cancel():
            raise Cancelled("cancelled by the user")
        now = time.monotonic()
        deadlines = [(w.task_started + self.time_limit if w.task is not None else w.started + self.init_time_limit)
                     for w in self._pool if w.task is not None or not w.ready]
        wait_s = max(0.0, min([timeout, *(d - now for d in deadlines)]))
        handles = {w.conn: w for w in self._pool}
        handles.update({w.proc.sentinel: w for w in self._pool})
        ready = wait(list(handles), wait_s)
        seen: set[int] = set()
        for h in ready:
            w = handles[h]
            if id(w) in seen or w not in self._pool:
                continue
            seen.add(id(w))
            yield from self._receive(w)
        now = time.monotonic()
        for w in list(self._pool):
            if w.task is not None and now - w.task_started > self.time_limit:
                yield self._fail(w, f"analysis took longer than {self.time_limit:g} s and was stopped; the file "
                                    "may be damaged, crafted to stall decoders, or very long")
            elif not w.ready and now - w.started > self.init_time_limit:
                self._drop(w)
                raise WorkerInitError(f"a worker did not start within {self.init_time_limit:g} s")

    def _receive(self, w: _Worker) -> Iterator[TaskResult]:
        while True:
            try:
                if not w.conn.poll():
                    if not w.proc.is_alive():
                        break  # died without a word
                    return
                status, key, payload = w.conn.recv()
            except (EOFError, OSError, ValueError, TypeError, AttributeError, ImportError) as e:
                # A worker killed half-way through sending leaves a torn message.
                if w.proc.is_alive() and not isinstance(e, (EOFError, OSError)):
                    raise
                break
            if status == "ready":
                w.ready, self.info = True, payload
            elif status == "init-error":
                self._drop(w)
                raise WorkerInitError(payload)
            elif w.task is not None and key == w.task[0]:
                seconds = time.monotonic() - w.task_started
                w.task = None
                yield TaskResult(key, status == "ok", payload if status == "ok" else None,
                                 None if status == "ok" else str(payload), seconds)
        w.proc.join(1)
        if w.task is not None:
            yield self._fail(w, f"the decoder crashed ({_exit_reason(w.proc.exitcode)}); the file is probably "
                                "damaged or crafted")
        elif not w.ready:
            self._drop(w)
            raise WorkerInitError(f"a worker died while starting ({_exit_reason(w.proc.exitcode)})")
        else:
            self._drop(w)

    def _fail(self, w: _Worker, reason: str) -> TaskResult:
        key, seconds = w.task[0], time.monotonic() - w.task_started  # type: ignore[index]
        w.task = None
        self._drop(w)
        self.replaced += 1
        return TaskResult(key, False, None, reason, seconds)

    def _drop(self, w: _Worker) -> None:
        w.kill()
        if w in self._pool:
            self._pool.remove(w)


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"
