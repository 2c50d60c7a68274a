"""Opening media files safely: local files only, known container formats only.

FFmpeg will happily follow a text file named ``song.mp3`` that begins with
``ffconcat version 1.0`` and decode a *different* file it names (the concat demuxer), or an
HLS playlist that points at URLs. So every open goes through :func:`open_media`, which
- passes the path as ``file:<absolute path>`` (a name containing ``:`` is not a protocol),
- sets ``protocol_whitelist=file`` (no network, no ``concat:``/``subfile:`` protocols), and
- sets ``format_whitelist`` to the audio/video containers we support (no concat, HLS,
  image2 sequences, or other demuxers that open further files).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import av

from .errors import MediaFileMissing, MediaTimeout, MediaUnreadable, NotMediaError, converted
from .limits import DEFAULT_LIMITS, MediaLimits

# FFmpeg demuxer names (``ffmpeg -demuxers``). Matching is per comma-separated name, so
# "mov" admits the "mov,mp4,m4a,3gp,3g2,mj2" demuxer. Nothing here opens other files.
ALLOWED_FORMATS: tuple[str, ...] = (
    # video containers
    "mov", "mp4", "matroska", "webm", "avi", "flv", "mpegts", "mpeg", "mpegvideo", "m4v",
    "asf", "mxf", "nut", "ivf", "h264", "hevc", "dv", "rm", "ogg", "gif", "yuv4mpegpipe",
    # audio containers and elementary streams
    "mp3", "aac", "flac", "wav", "w64", "aiff", "caf", "ape", "wv", "mpc", "mpc8", "tta",
    "tak", "dsf", "iff", "ac3", "eac3", "dts", "truehd", "mlp", "amr", "au", "voc", "loas",
    "xwma", "wsaud", "shorten", "oma", "aa", "sox", "s16le",
)

MEDIA_EXTENSIONS_VIDEO = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".flv", ".ts", ".mts", ".m2ts", ".mpg",
    ".mpeg", ".wmv", ".mxf", ".ogv", ".3gp", ".3g2", ".dv",
})
MEDIA_EXTENSIONS_AUDIO = frozenset({
    ".mp3", ".m4a", ".m4b", ".aac", ".flac", ".wav", ".aif", ".aiff", ".aifc", ".ogg", ".oga",
    ".opus", ".spx", ".wma", ".ape", ".wv", ".mpc", ".tta", ".tak", ".dsf", ".dff", ".ac3",
    ".eac3", ".caf", ".w64", ".au", ".amr", ".mka",
})


def _open_options() -> dict[str, str]:
    return {
        "protocol_whitelist": "file",
        "format_whitelist": ",".join(ALLOWED_FORMATS),
    }


def check_file(path: str | os.PathLike[str]) -> Path:
    """Fail early, with a clear message, on paths that are not readable regular files."""
    p = Path(path)
    if not p.exists():
        raise MediaFileMissing(p, "file not found; it may have been moved or deleted")
    if p.is_dir():
        raise MediaFileMissing(p, "is a folder, not a media file")
    if not p.is_file():
        raise NotMediaError(p, "is not a regular file (device, pipe or socket)")
    if not os.access(p, os.R_OK):
        raise MediaUnreadable(p, "permission denied; check the file's access rights")
    if p.stat().st_size == 0:
        raise NotMediaError(p, "the file is empty (0 bytes)")
    return p


@contextlib.contextmanager
def open_media(path: str | os.PathLike[str], *, limits: MediaLimits = DEFAULT_LIMITS,
               timeout: float | None = None) -> Iterator[av.container.InputContainer]:
    """Open a local media file for reading, with the safety options above.

    ``timeout`` bounds each blocking FFmpeg I/O call (open, each read) through PyAV's
    interrupt callback; loops above this layer check their own :class:`Deadline`.
    """
    p = check_file(path)
    t = limits.probe_seconds if timeout is None else timeout
    with converted(p, "opening"):
        try:
            container = av.open(f"file:{p.resolve()}", mode="r", options=_open_options(),
                                metadata_errors="replace", timeout=(t, t))
        except av.error.ExitError as e:
            raise MediaTimeout(p, f"opening took longer than {t:.0f} s") from e
        except (av.error.ArgumentError, av.error.PermissionError) as e:
            # A demuxer outside the whitelist (concat list, playlist...) is refused by FFmpeg
            # with EINVAL or EPERM.
            if isinstance(e, av.error.PermissionError) and not os.access(p, os.R_OK):
                raise
            raise NotMediaError(p, "not an audio or video file we open (it looks like a playlist "
                                   "or another format that refers to other files)") from e
    try:
        yield container
    finally:
        with contextlib.suppress(Exception):
            container.close()


def video_stream(container: av.container.InputContainer):
    """The footage stream, or None. Cover art (an attached picture) is not footage."""
    still = av.stream.Disposition.attached_pic | av.stream.Disposition.still_image
    for s in container.streams.video:
        if not (s.disposition & still):
            return s
    return None


def audio_stream(container: av.container.InputContainer):
    """The first audio stream, or None."""
    return container.streams.audio[0] if container.streams.audio else None


MAX_BAD_PACKETS = 50


def decode_stream(container: av.container.InputContainer, stream, deadline, cancel=None):
    """Decoded frames of ``stream`` in order, checking the deadline and cancel per packet.

    Isolated undecodable packets are skipped (real files have them); a stream that keeps
    failing raises :class:`CorruptMedia`."""
    from engine.jobs import check_cancel

    from .errors import CorruptMedia

    bad = 0
    for packet in container.demux(stream):
        deadline.check()
        check_cancel(cancel)
        try:
            frames = packet.decode()
        except (av.error.InvalidDataError, av.error.UndefinedError, ValueError) as e:
            bad += 1
            if bad > MAX_BAD_PACKETS:
                raise CorruptMedia(container.name, f"too many undecodable packets ({e})") from e
            continue
        yield from frames
