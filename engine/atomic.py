"""Atomic file writes: the one helper every part of the app uses to write a file.

A file is written under a temporary name in the target's folder, flushed to disk (fsync),
and renamed over the target, so a reader sees the old file or the new one, never half of
either, and a failed write (full disk, cancel, crash) leaves the old file as it was. On
Windows a rename over a file another process has open can fail for a moment: it is retried.

    atomic_write_bytes(path, data)
    atomic_write_text(path, text)
    with atomic_path(path) as tmp:      # for writers that want a file name (np.save, faiss, PyAV)
        write_somehow(tmp)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

RENAME_RETRIES = 5


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, suffix: str = ".tmp", fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        with contextlib.suppress(OSError):  # mkstemp makes 0600 files; use the usual mode
            os.chmod(tmp, 0o666 & ~_umask())
        replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes, *, fsync: bool = True) -> Path:
    with atomic_path(target, fsync=fsync) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | os.PathLike[str], text: str, *, fsync: bool = True) -> Path:
    return atomic_write_bytes(target, text.encode("utf-8"), fsync=fsync)


def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """``os.replace`` with a few retries where the OS refuses while a reader holds the file."""
    for attempt in range(RENAME_RETRIES):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if os.name != "nt" or attempt == RENAME_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
