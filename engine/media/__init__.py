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

__all__ = [
    "CorruptMedia", "MediaError", "MediaFileMissing", "MediaTimeout", "MediaTooLarge",
    "MediaUnreadable", "NoAudioStream", "NotMediaError", "NoVideoStream", "OutputError",
    "UnknownDuration", "DEFAULT_SEGMENT_SECONDS", "Segment", "SegmentGrid", "DEFAULT_LIMITS",
    "MediaLimits",
]
