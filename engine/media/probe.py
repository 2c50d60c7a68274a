"""``probe(path) -> MediaInfo``: what is in a media file, without decoding it all.

Reads the container header and, for footage, decodes the first video frame only: it
proves the stream decodes and gives the display rotation (a side-data matrix that phones
write and containers do not expose otherwise).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from .container import audio_stream, open_media, video_stream
from .errors import CorruptMedia, MediaTooLarge, NotMediaError, UnknownDuration, converted
from .limits import DEFAULT_LIMITS, MediaLimits


@dataclass(frozen=True)
class VideoStreamInfo:
    width: int
    """Coded width in pixels (before rotation)."""
    height: int
    fps: float | None
    """Average frame rate; None when unknown."""
    vfr: bool
    """True when the frame rate looks variable (average and nominal rates disagree)."""
    rotation: int
    """Display rotation in degrees counter-clockwise (0, 90, 180, 270), FFmpeg's convention
    (phones store it as a display matrix); the frames the media layer returns are upright."""
    codec: str
    frame_count: int
    """Frames in the stream: from the header where present, else duration × fps."""
    keyframe_interval: float | None = None
    """Median seconds between keyframes from the container index, when it has one."""

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown, after rotation."""
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)


@dataclass(frozen=True)
class AudioStreamInfo:
    sample_rate: int
    channels: int
    codec: str


@dataclass(frozen=True)
class MediaInfo:
    path: str
    container: str
    duration: float
    """Seconds; always positive (probe raises UnknownDuration otherwise)."""
    size_bytes: int
    video: VideoStreamInfo | None
    audio: AudioStreamInfo | None
    tags: dict[str, str] = field(default_factory=dict)
    """Container + stream tags, keys lower-cased (title, artist, album, ...)."""

    @property
    def title(self) -> str:
        return self.tags.get("title") or Path(self.path).stem

    @property
    def artist(self) -> str | None:
        return self.tags.get("artist") or self.tags.get("album_artist")


def probe(path: str | os.PathLike[str], *, limits: MediaLimits = DEFAULT_LIMITS) -> MediaInfo:
    """Describe ``path``. Raises a :class:`~engine.media.errors.MediaError` on a bad file."""
    p = Path(path)
    try:
        return _probe(p, limits)
    except (NotMediaError, CorruptMedia):
        from .sndfile import probe_sndfile

        info = probe_sndfile(p)  # FFmpeg refuses it; libsndfile may not (engine/media/sndfile.py)
        if info is None:
            raise
        return info


def _probe(p: Path, limits: MediaLimits) -> MediaInfo:
    with open_media(p, limits=limits) as c, converted(p, "probing"):
        vs = video_stream(c)
        aus = audio_stream(c)
        duration = _duration(c, vs, aus)
        if duration is None or not duration > 0:
            raise UnknownDuration(p, "has no duration (empty or broken stream); re-export the file")
        video = _video_info(p, c, vs, duration, limits) if vs is not None else None
        audio = None
        if aus is not None and aus.codec_context is not None and (aus.codec_context.sample_rate or 0) > 0:
            audio = AudioStreamInfo(sample_rate=int(aus.codec_context.sample_rate),
                                    channels=int(aus.codec_context.channels or 0),
                                    codec=aus.codec_context.name or "unknown")
        tags: dict[str, str] = {}
        for src in (c.metadata, *(s.metadata for s in (aus, vs) if s is not None)):
            for k, v in (src or {}).items():
                tags.setdefault(str(k).lower(), str(v))
        return MediaInfo(path=str(p), container=c.format.name, duration=float(duration),
                         size_bytes=p.stat().st_size, video=video, audio=audio, tags=tags)


def _seconds(value, time_base) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _duration(c, vs, aus) -> float | None:
    """Container duration, else the longest stream's, else None."""
    candidates = []
    if c.duration is not None and c.duration > 0:
        candidates.append(c.duration / av.time_base)
    for s in (vs, aus):
        if s is not None:
            d = _seconds(s.duration, s.time_base)
            if d and d > 0:
                candidates.append(d)
    good = [d for d in candidates if math.isfinite(d) and d > 0]
    return max(good) if good else None


def _video_info(p: Path, c, vs, duration: float, limits: MediaLimits) -> VideoStreamInfo:
    cc = vs.codec_context
    width, height = int(cc.width or 0), int(cc.height or 0)
    if width * height > limits.max_pixels:
        raise MediaTooLarge(p, f"the picture is {width}×{height}, larger than the {_mp(limits.max_pixels)} "
                               "limit; make a smaller proxy (e.g. 4K or 1080p) for analysis")
    avg = vs.average_rate or vs.guessed_rate
    fps = float(avg) if avg else None
    base = vs.base_rate or vs.guessed_rate
    vfr = bool(avg and base and abs(float(avg) - float(base)) > 0.01 * float(base))
    frames = int(vs.frames or 0) or (int(round(duration * fps)) if fps else 0)
    rotation = 0
    # The first frame tells the rotation and proves the stream decodes at all.
    cc.options = {"max_pixels": str(limits.max_pixels)}
    try:
        for frame in c.decode(vs):
            rotation = _quarter_turns(getattr(frame, "rotation", 0) or 0) * 90
            break
    except av.error.FFmpegError:
        pass  # decode errors are reported by the sampling functions with how much was readable
    return VideoStreamInfo(width=width, height=height, fps=fps, vfr=vfr, rotation=rotation,
                           codec=cc.name or "unknown", frame_count=frames,
                           keyframe_interval=_keyframe_interval(vs))


def _quarter_turns(angle: float) -> int:
    """Nearest multiple of 90° as a count of counter-clockwise quarter turns (0-3)."""
    return int(round(float(angle) / 90.0)) % 4


def _keyframe_interval(vs) -> float | None:
    """Median spacing of keyframes from the container's index (MP4/MOV, MKV cues); no decoding."""
    try:
        entries = vs.index_entries
        n = len(entries) if entries is not None else 0
        if n < 2:
            return None
        tb = vs.time_base or Fraction(1, 1)
        times = [e.timestamp for e in entries if e.is_keyframe]
    except Exception:  # noqa: BLE001 - an index we cannot read just means "unknown"
        return None
    if len(times) < 2:
        return None
    gaps = sorted(b - a for a, b in zip(times, times[1:]) if b > a)
    if not gaps:
        return None
    return float(gaps[len(gaps) // 2] * tb)


def _mp(pixels: int) -> str:
    return f"{pixels / 1e6:.0f} MP"
