"""The media layer: probe, segment, sample frames, decode audio, write.

Everything that touches a media file goes through here; every failure is a
:class:`MediaError` whose message a creator understands.
"""

from .errors import (
    CorruptMedia,
    MediaError,
    MediaFileMissing,
    MediaTimeout,
    MediaTooLarge,
    MediaUnreadable,
    NoAudioStream,
    NotMediaError,
    NoVideoStream,
    OutputError,
    UnknownDuration,
)
from .grid import DEFAULT_SEGMENT_SECONDS, Segment, SegmentGrid
from .limits import DEFAULT_LIMITS, MediaLimits

READER_VERSION = 2
"""Bumped when files that failed to read before may read now, so that a library scan tries its
failed files again without being asked (2: libsndfile reads what FFmpeg refuses,
:mod:`engine.media.sndfile`)."""

__all__ = [
    "CorruptMedia", "MediaError", "MediaFileMissing", "MediaTimeout", "MediaTooLarge",
    "MediaUnreadable", "NoAudioStream", "NotMediaError", "NoVideoStream", "OutputError",
    "UnknownDuration", "DEFAULT_SEGMENT_SECONDS", "Segment", "SegmentGrid", "DEFAULT_LIMITS",
    "MediaLimits", "READER_VERSION",
]
