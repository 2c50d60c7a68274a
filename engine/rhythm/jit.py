"""librosa's numba-compiled parts, compiled by one process at a time.

numba's on-disk cache is not safe when two processes compile the same ``cache=True``
gufuncs at once (numba issue #10128: the two can write mismatched halves of the cache, and
every later load segfaults), and librosa's beat tracker and peak picking are such gufuncs.
Scan workers start together, and the app or the CLI may analyse a track while a scan runs:
unguarded, the first scan after an install could leave a cache that crashes every later
one. So a process's first rhythm analysis (the one that may compile and write the cache)
runs under a lock shared by every process of this user; the rest run unlocked.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator

_compiled = False
_thread_lock = threading.Lock()


@contextlib.contextmanager
def compile_lock() -> Iterator[None]:
    """An exclusive lock shared by every process of this user (a ``flock`` on a file in the
    temp folder). Where ``fcntl`` does not exist (Windows) nothing is locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    uid = os.getuid() if hasattr(os, "getuid") else 0
    path = os.path.join(tempfile.gettempdir(), f"mvpt-jit-{uid}.lock")
    with open(path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def first_compile() -> Iterator[None]:
    """Around a rhythm analysis: the process's first one holds :func:`compile_lock` (other
    threads of the process wait for it too); later ones pass straight through."""
    global _compiled
    if _compiled:
        yield
        return
    with _thread_lock:
        if _compiled:
            yield
            return
        with compile_lock():
            yield
        _compiled = True
