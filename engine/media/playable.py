"""Audio a player built on FFmpeg can play: the file itself, or a decoded excerpt of it.

The app's player (QtMultimedia) decodes with FFmpeg. A track that only libsndfile reads
(:mod:`engine.media.sndfile`: real Vorbis files whose headers are written twice) is in the
library and in every export, but the player refuses it ("Could not open file"). For such a
file an audition plays the window asked for, decoded by the engine into a WAV in a cache
folder; every other file is played as it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import numpy as np

from .audio import decode_audio_channels
from .container import audio_stream, open_media
from .errors import MediaError, NoAudioStream
from .limits import DEFAULT_LIMITS

EXCERPT_RATE = 48000
KEEP_EXCERPTS = 16
"""Excerpts kept in the cache folder (the oldest are removed): they are rebuilt in well under
a second."""


def ffmpeg_plays(path: str | os.PathLike[str]) -> bool:
    """Whether FFmpeg opens ``path`` and finds an audio stream in it."""
    try:
        with open_media(path, timeout=DEFAULT_LIMITS.probe_seconds) as c:
            return audio_stream(c) is not None
    except MediaError:
        return False


def playable_audio(path: str | os.PathLike[str], start: float, seconds: float,
                   cache: str | os.PathLike[str]) -> tuple[str, float]:
    """``(file, start)`` for a player that decodes with FFmpeg: ``path`` and ``start`` when
    FFmpeg plays it, else a stereo WAV of ``[start, start + seconds]`` in ``cache`` and 0.

    Raises :class:`~engine.media.errors.MediaError` (what is wrong, what to do) when neither
    FFmpeg nor libsndfile reads it."""
    if ffmpeg_plays(path):
        return str(path), float(start)
    p = Path(path)
    st = p.stat()
    key = f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}|{start:.3f}|{seconds:.3f}"
    out_dir = Path(cache)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{p.stem[:40]}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.wav"
    if out.is_file() and out.stat().st_size > 44:
        os.utime(out)  # recently used: kept longest
        return str(out), 0.0
    audio = decode_audio_channels(p, EXCERPT_RATE, start=max(0.0, float(start)), duration=float(seconds))  # [2, N]
    if audio.shape[1] == 0:
        raise NoAudioStream(p, f"has no audio from {start:.1f} s on; audition an earlier start")
    import soundfile

    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        soundfile.write(str(tmp), np.ascontiguousarray(audio.T), EXCERPT_RATE, subtype="PCM_16", format="WAV")
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _prune(out_dir)
    return str(out), 0.0


def _prune(folder: Path) -> None:
    wavs = sorted(folder.glob("*.wav"), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in wavs[KEEP_EXCERPTS:]:
        with contextlib.suppress(OSError):
            old.unlink()
