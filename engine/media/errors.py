"""One exception family for everything that can go wrong with a media file.

Messages are written for a creator, not a developer: they say what is wrong with *which*
file and what to do. Every exception PyAV (or anything under it) raises is converted into
a :class:`MediaError` at the media layer's boundary (see :func:`converted`).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from engine.jobs import Cancelled


class MediaError(Exception):
    """Base class: a media file could not be used. ``str(e)`` is fit to show a user."""

    def __init__(self, path: str | os.PathLike[str] | None, message: str) -> None:
        self.path = str(path) if path is not None else None
        self.reason = message
        name = Path(self.path).name if self.path else "media"
        super().__init__(f"{name}: {message}")


class MediaFileMissing(MediaError):
    """The path does not exist or is not a regular file."""


class MediaUnreadable(MediaError):
    """The file exists but cannot be read (permissions, I/O error)."""


class NotMediaError(MediaError):
    """The file is empty, not a media file, or a format we do not open (e.g. a playlist)."""


class NoVideoStream(MediaError):
    """Footage was expected, but the file holds no video stream."""


class NoAudioStream(MediaError):
    """Music was expected, but the file holds no audio stream."""


class UnknownDuration(MediaError):
    """The duration is zero, negative or cannot be determined."""


class CorruptMedia(MediaError):
    """The data is truncated or undecodable. ``partial`` holds what was readable, if anything."""

    def __init__(self, path, message: str, partial=None, decoded_seconds: float = 0.0) -> None:
        super().__init__(path, message)
        self.partial = partial
        self.decoded_seconds = decoded_seconds


class MediaTooLarge(MediaError):
    """The picture is larger than the configured pixel limit."""


class MediaTimeout(MediaError):
    """Probing or decoding took longer than the per-file time limit."""


class OutputError(MediaError):
    """A preview/export could not be written (disk full, no permission, bad target)."""


@contextlib.contextmanager
def converted(path: str | os.PathLike[str], doing: str = "reading") -> Iterator[None]:
    """Turn any exception raised inside into a :class:`MediaError` about ``path``.

    PyAV raises ``av.error.*`` subclasses of OSError/ValueError, but crafted files have also
    produced UnicodeDecodeError, AttributeError, IndexError, OverflowError... None of those
    must reach the GUI as a traceback.
    """
    try:
        yield
    except (MediaError, Cancelled):
        raise
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except MemoryError as e:
        raise MediaTooLarge(path, "needs more memory than is available to decode; "
                                  "try a smaller or re-encoded copy") from e
    except Exception as e:  # noqa: BLE001 - the boundary: classify, never let it through
        raise _classify(e, path, doing) from e


def _classify(e: Exception, path, doing: str) -> MediaError:
    import av.error

    code = getattr(e, "errno", None)
    if isinstance(e, av.error.ExitError) or code == errno.EINTR:
        return MediaTimeout(path, f"{doing} was interrupted after the time limit")
    if code in (errno.ENOSPC, errno.EDQUOT):
        return OutputError(path, "the disk is full; free some space or choose another folder")
    if isinstance(e, FileNotFoundError):
        return MediaFileMissing(path, "file not found; it may have been moved or deleted")
    if isinstance(e, PermissionError):
        return MediaUnreadable(path, "permission denied; check the file's access rights")
    if isinstance(e, IsADirectoryError):
        return MediaFileMissing(path, "is a folder, not a media file")
    if isinstance(e, (av.error.InvalidDataError, av.error.DecoderNotFoundError,
                      av.error.DemuxerNotFoundError, av.error.PatchWelcomeError,
                      av.error.UnknownError)):
        return NotMediaError(path, "cannot be read as audio or video: it is damaged, incomplete, "
                                   "or not a media file (re-export it as MP4, MP3, FLAC or WAV)")
    if isinstance(e, av.error.EOFError):
        return CorruptMedia(path, "the file ends unexpectedly (truncated?)")
    if isinstance(e, OSError) and code in (errno.EIO, errno.ENXIO):
        return MediaUnreadable(path, f"I/O error while {doing}: {_short(e)}")
    if isinstance(e, av.error.FFmpegError):
        return CorruptMedia(path, f"error while {doing}: {_short(e)}")
    return CorruptMedia(path, f"could not be decoded ({type(e).__name__}: {_short(e)}); "
                              "the file is probably damaged")


def _short(e: BaseException, limit: int = 160) -> str:
    text = str(e).strip() or type(e).__name__
    # PyAV messages repeat the full path; the user already knows which file it is.
    text = text.replace("file:", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"
