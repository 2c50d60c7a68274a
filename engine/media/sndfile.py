"""libsndfile (through ``soundfile``) as the second audio decoder, for music files FFmpeg
refuses to open but libsndfile reads.

Seen in a real library: Ogg Vorbis tracks whose identification, comment and setup headers
are written a second time at the start of the audio pages (three of HyperRogue's soundtrack,
libVorbis 1.3.1). Players built on libvorbis play them; FFmpeg (5.1 and PyAV's own build)
stops at the repeated identification header ("Header processing failed"), so the library
called them damaged. FFmpeg stays the decoder for everything it opens; only a file it cannot
open at all comes here, and only audio (libsndfile reads no video).

Channels: mono and stereo go to FFmpeg's resampler as they are; a file with more channels is
averaged to mono first (libsndfile keeps each format's own channel order, so no downmix
matrix can be trusted here). On the shared media corpus this reads one more file, a crafted
FLAC whose header claims 139 s: probed, then refused with "no audio could be decoded".
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from engine.jobs import CancelCheck, check_cancel

from .errors import CorruptMedia, converted
from .limits import DEFAULT_LIMITS, Deadline, MediaLimits

BLOCK = 32768
"""Frames per read: ~0.7 s at 44.1 kHz, so memory stays flat for an hour-long file."""


EXTENSIONS = frozenset({".ogg", ".oga", ".opus", ".flac", ".wav", ".w64", ".rf64", ".aif", ".aiff",
                        ".aifc", ".caf", ".au", ".snd"})
"""Where libsndfile brings its own decoder (libvorbis, libopus, libFLAC, PCM). MPEG audio it
reads through libmpg123, which only repeats what FFmpeg tried, with warnings on the
terminal; other names are not audio files it should sniff."""


def readable(path: str | os.PathLike[str]) -> bool:
    """Whether libsndfile opens ``path`` and finds audio in it (a regular, non-empty file
    only: opening a pipe or device would block)."""
    p = Path(path)
    if p.suffix.lower() not in EXTENSIONS:
        return False
    try:
        if not p.is_file() or p.stat().st_size == 0:
            return False
        import soundfile

        info = soundfile.info(str(p))
        return info.frames > 0 and info.samplerate > 0 and info.channels > 0
    except Exception:  # noqa: BLE001 - any failure means "not for libsndfile either"
        return False


def probe_sndfile(path: str | os.PathLike[str]):
    """:class:`~engine.media.probe.MediaInfo` of an audio file libsndfile reads, or None."""
    from .probe import AudioStreamInfo, MediaInfo

    p = Path(path)
    if not readable(p):
        return None
    import soundfile

    with converted(p, "probing"), soundfile.SoundFile(str(p)) as f:
        tags = {str(k).lower(): str(v) for k, v in f.copy_metadata().items() if v}
        return MediaInfo(path=str(p), container=f"{f.format.lower()} (libsndfile)",
                         duration=f.frames / f.samplerate, size_bytes=p.stat().st_size, video=None,
                         audio=AudioStreamInfo(sample_rate=int(f.samplerate), channels=int(f.channels),
                                               codec=f.subtype.lower()),
                         tags=tags)


def iter_sndfile_channels(path: str | os.PathLike[str], sample_rate: int, *, start: float = 0.0,
                          duration: float | None = None, layout: str = "stereo",
                          limits: MediaLimits = DEFAULT_LIMITS,
                          cancel: CancelCheck | None = None) -> Iterator[np.ndarray]:
    """As :func:`engine.media.audio.iter_audio_channels`: float32 chunks ``[channels, n]`` in
    ``layout`` at ``sample_rate`` from ``start`` seconds on, decoded by libsndfile."""
    import soundfile

    from .audio import Resampler

    p = Path(path)
    emitted = 0
    want = None if duration is None else int(round(duration * sample_rate))
    with converted(p, "opening"), soundfile.SoundFile(str(p)) as f:
        rate, nch = int(f.samplerate), int(f.channels)
        deadline = Deadline(limits.decode_seconds(duration or f.frames / rate), str(p), "decoding audio")
        src = "stereo" if nch == 2 else "mono"
        if start > 0:
            f.seek(min(f.frames, int(round(start * rate))))
        resampler = Resampler(layout, sample_rate)
        pos = 0
        try:
            while want is None or emitted < want:
                deadline.check()
                check_cancel(cancel)
                block = f.read(BLOCK, dtype="float32", always_2d=True)  # [n, channels]
                if not len(block):
                    break
                planes = block.T if nch <= 2 else block.mean(axis=1, keepdims=True).T  # [1|2, n]
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planes), format="fltp", layout=src)
                frame.sample_rate, frame.pts, frame.time_base = rate, pos, Fraction(1, rate)
                pos += len(block)
                for chunk in resampler.resample(frame):
                    chunk = chunk if want is None else chunk[:, : max(0, want - emitted)]
                    if chunk.shape[1]:
                        emitted += chunk.shape[1]
                        yield chunk
        except RuntimeError as e:  # soundfile.LibsndfileError: the data stops decoding
            if emitted == 0:
                raise CorruptMedia(p, f"no audio could be decoded ({e}); the file is damaged") from e
            raise CorruptMedia(p, f"audio stops decoding after {emitted / sample_rate:.1f} s ({e}); "
                                  "the file is probably truncated", decoded_seconds=emitted / sample_rate) from e
        for chunk in resampler.flush():
            chunk = chunk if want is None else chunk[:, : max(0, want - emitted)]
            if chunk.shape[1]:
                emitted += chunk.shape[1]
                yield chunk
    if emitted == 0:
        raise CorruptMedia(p, "no audio could be decoded; the file is damaged or empty")
