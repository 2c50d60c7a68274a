"""The one pass over a media file: probe once, decode each stream once, feed everything.

For footage, one sequential decode of the picture feeds, per segment, the visual encoder's
frames and the timeline thumbnail, and (with ``rhythm``) every frame, small, to the shot-cut
and visual-energy detector. The footage's own sound is not read by this pass: the speech in
it matters only for ducking at preview and export, so it is heard after the suggestions are
out (:func:`speech_regions`, :func:`engine.analysis.pipeline.add_speech`).
For music, one audio decode at the encoder's rate feeds the music encoder and the rhythm
analysis. Encoders are pure (frames or samples in, arrays out): nothing else opens the file.

    read = run(read_media("clip.mp4", encoder, 6.7, thumbnails=True, rhythm=True))
    read.features            # float32 [T, D] base features, one row per segment
    read.video_rhythm        # cuts + energy (footage, with rhythm=True)

While it runs, the job's :class:`~engine.jobs.Progress` events carry a
:class:`SegmentsRead` (``event.data``) each time more segments are encoded, so a caller can
show results for the first scenes while the rest of the file is still being read.
"""

from __future__ import annotations

import collections
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.features.base import FeatureExtractor
from engine.jobs import CancelCheck, Job, Progress, check_cancel
from engine.media import NoAudioStream, NoVideoStream
from engine.media.grid import SegmentGrid
from engine.media.limits import DEFAULT_LIMITS, MediaLimits
from engine.media.probe import MediaInfo, probe

from .prefetch import prefetch

log = logging.getLogger(__name__)

THUMB_SHORT_SIDE = 90


@dataclass(frozen=True)
class SegmentsRead:
    """Partial result: the first ``done`` segments are encoded (``features[:done]``)."""
    done: int
    total: int
    features: np.ndarray
    """float32 [done, D] (a copy: safe to keep)."""
    thumbnails: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True)
class MediaRead:
    path: str
    info: MediaInfo
    grid: SegmentGrid
    modality: str
    extractor_id: str
    features: np.ndarray
    """float32 [T, D]: base features per segment."""
    tags: np.ndarray | None = None
    """float32 [T, n_tags] music tags per segment (musicnn), else None."""
    tag_names: tuple[str, ...] = ()
    thumbnails: tuple[np.ndarray, ...] = ()
    """uint8 [h, w, 3] per segment (footage, when asked for)."""
    video_rhythm: object | None = None
    """:class:`engine.rhythm.video.VideoRhythm` (footage, with ``rhythm=True``)."""
    music_rhythm: object | None = None
    """:class:`engine.rhythm.music.MusicRhythm` (music, with ``rhythm=True``)."""


def read_media(path: str | os.PathLike[str], encoder: FeatureExtractor | None, segment_seconds: float, *,
               modality: str | None = None, info: MediaInfo | None = None, grid: SegmentGrid | None = None,
               thumbnails: bool = False, rhythm: bool = False,
               limits: MediaLimits = DEFAULT_LIMITS, cancel: CancelCheck | None = None) -> Job[MediaRead]:
    """Job: read ``path`` once with ``encoder`` (see module doc). The file is probed here
    unless ``info`` is given; the grid is ``SegmentGrid(duration, segment_seconds)`` unless given.
    ``encoder=None`` (no model yet) reads only thumbnails and rhythm of ``modality``."""
    path = Path(path)
    modality = encoder.modality if encoder is not None else modality
    if modality not in ("visual", "music"):
        raise ValueError("read_media needs an encoder or modality='visual'/'music'")
    if info is None:
        info = probe(path, limits=limits)
    if modality == "visual" and info.video is None:
        raise NoVideoStream(path, "has no video stream; it cannot be read as footage")
    if modality == "music" and info.audio is None:
        raise NoAudioStream(path, "has no audio track; it cannot be read as music")
    grid = grid or SegmentGrid(info.duration, segment_seconds)
    if encoder is None:
        encoder = _NoEncoder(modality)
    if modality == "visual":
        return (yield from _read_video(path, encoder, info, grid, thumbnails, rhythm, limits, cancel))
    return (yield from _read_music(path, encoder, info, grid, rhythm, limits, cancel))


def _read_video(path: Path, encoder, info: MediaInfo, grid: SegmentGrid, want_thumbs: bool, rhythm: bool,
                limits: MediaLimits, cancel: CancelCheck | None) -> Job[MediaRead]:
    from engine.media.frames import sample_frames

    T = len(grid)
    k = int(encoder.frames_per_segment)
    per_batch = max(1, int(getattr(encoder, "segments_per_batch", 1)))
    feats = np.zeros((T, encoder.dim), np.float32)
    thumbs: list[np.ndarray] = []
    detector = None
    tap = None
    tap_side = 48
    handed: collections.deque = collections.deque()  # (t, small frame) from the decoder's thread

    def to_detector() -> None:
        """The small frames decoded so far into the cut detector, in this thread: the decoder's
        thread only scales them (its own work is what the decode waits for)."""
        while handed:
            detector.push(*handed.popleft())

    if rhythm:
        from engine.rhythm import video

        if hasattr(video, "CutDetector"):
            detector = video.CutDetector(fps=float(info.video.fps or 25.0))
            tap, tap_side = (lambda t, small: handed.append((t, small))), video.CUT_FRAME_SHORT_SIDE
    yield Progress("read", 0, T, f"reading {T} segments of {path.name}")
    frames = sample_frames(path, grid, per_segment=k, short_side=int(encoder.frame_short_side), info=info,
                           limits=limits, cancel=cancel, tap=tap, tap_short_side=tap_side)
    yield from _encode_as_read(frames, encoder, feats, thumbs, want_thumbs, per_batch, T, cancel,
                               None if detector is None else to_detector)
    video_rhythm = None
    if detector is not None:
        to_detector()
        video_rhythm = detector.finish(info.duration)
    return MediaRead(str(path), info, grid, "visual", encoder.id, feats, None, (), tuple(thumbs),
                     video_rhythm=video_rhythm)


def _encode_as_read(frames, encoder, feats: np.ndarray, thumbs: list[np.ndarray], want_thumbs: bool,
                    per_batch: int, T: int, cancel: CancelCheck | None, on_segment=None) -> Job[None]:
    """Encode the segments ``frames`` yields into ``feats`` [T, D] (and ``thumbs``) as they come.
    ``on_segment`` runs as each segment arrives (before it is encoded)."""
    ahead = prefetch(frames, depth=max(2, 2 * per_batch))  # decode the next scenes while these encode
    pending: list = []
    try:
        for seg in ahead:
            if on_segment is not None:
                on_segment()
            if want_thumbs:
                thumbs.append(_thumbnail(seg.frames[len(seg.frames) // 2]))
            pending.append(seg)
            if len(pending) >= per_batch or seg.index == T - 1:
                check_cancel(cancel)
                out = encoder.encode_segments([s.frames for s in pending])  # [n, D]
                for s, row in zip(pending, out):
                    feats[s.index] = row
                done = pending[-1].index + 1
                pending.clear()
                yield Progress("read", done, T, f"segment {done} of {T}",
                               SegmentsRead(done, T, feats[:done].copy(), tuple(thumbs)))
    finally:
        ahead.close()


def _read_music(path: Path, encoder, info: MediaInfo, grid: SegmentGrid, rhythm: bool, limits: MediaLimits,
                cancel: CancelCheck | None) -> Job[MediaRead]:
    from engine.media.audio import decode_audio

    rate = int(encoder.sample_rate)
    yield Progress("decode", 0, None, f"decoding {path.name}")
    samples = decode_audio(path, rate, limits=limits, cancel=cancel)
    check_cancel(cancel)
    out = yield from encoder.analyse_job(samples, grid, cancel=cancel)  # the encoder's own stages
    tags = None if out.tags is None else np.asarray(out.tags, np.float32)
    music_rhythm = None
    if rhythm:
        music_rhythm = music_rhythm_of(samples, rate)
    return MediaRead(str(path), info, grid, "music", encoder.id, np.asarray(out.features, np.float32), tags,
                     tuple(out.tag_names or ()), music_rhythm=music_rhythm)


class _NoEncoder:
    """Stands in for an encoder when there is no model yet: reads, encodes nothing."""
    id = ""
    dim = 0
    frames_per_segment = 1
    frame_short_side = THUMB_SHORT_SIDE
    segments_per_batch = 1
    sample_rate = 22050

    def __init__(self, modality: str) -> None:
        self.modality = modality

    def encode_segments(self, segments: list[np.ndarray]) -> np.ndarray:
        return np.zeros((len(segments), 0), np.float32)

    def analyse_job(self, samples: np.ndarray, grid: SegmentGrid, cancel: CancelCheck | None = None):
        from engine.features.musicnn.output import MusicnnOutput

        return MusicnnOutput(np.zeros((len(grid), 0), np.float32), None, [])
        yield  # a job that ends at once


def music_rhythm_of(samples: np.ndarray, rate: int):
    """The rhythm analysis of decoded mono samples (None where it is not available)."""
    from engine.rhythm import music

    analyse = getattr(music, "analyse_rhythm", None)
    return None if analyse is None else analyse(samples, rate)


def speech_regions(path: str | os.PathLike[str], info: MediaInfo | None = None,
                   limits: MediaLimits = DEFAULT_LIMITS, cancel: CancelCheck | None = None) -> Job[np.ndarray]:
    """Job: float64 [n, 2] (start, end) s of speech in the footage's own sound, merged
    (:func:`engine.mix.hear.hear_speech_in`, the mix's own way); empty without sound, or
    without the mix's detector in this build. A sound track that stops decoding part-way is
    heard as far as it goes (logged): the picture is the footage, and its suggestions do not
    depend on the sound."""
    path = Path(path)
    info = info or probe(path, limits=limits)
    if info.audio is None:
        return np.zeros((0, 2))
    try:
        from engine.mix.hear import hear_speech_in
    except ImportError:  # the mix's detector is not installed in this build
        return np.zeros((0, 2))
    return (yield from hear_speech_in(path, duration=info.duration, limits=limits, cancel=cancel))


def _thumbnail(frame: np.ndarray) -> np.ndarray:
    """uint8 [h, w, 3] -> the same picture with short side THUMB_SHORT_SIDE."""
    from PIL import Image

    h, w = frame.shape[:2]
    s = THUMB_SHORT_SIDE / min(h, w)
    if abs(s - 1.0) < 1e-3:
        return np.ascontiguousarray(frame)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(frame)).resize(size, Image.BILINEAR))
