"""The one pass over a media file: probe once, decode each stream once, feed everything.

For footage, one sequential decode of the picture feeds, per segment, the visual encoder's
frames and the timeline thumbnail, and (with ``rhythm``) every frame, small, to the shot-cut
and visual-energy detector; the footage's own sound is read, decoded and listened to for
speech in a thread beside the picture's decode (:class:`_SpeechListener`).
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
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.features.base import FeatureExtractor
from engine.jobs import CancelCheck, Cancelled, Job, Progress, check_cancel
from engine.media import NoAudioStream, NoVideoStream
from engine.media.grid import SegmentGrid
from engine.media.limits import DEFAULT_LIMITS, MediaLimits
from engine.media.probe import MediaInfo, probe

from .prefetch import prefetch

log = logging.getLogger(__name__)

THUMB_SHORT_SIDE = 90
SPEECH_RATE = 16000
SPEECH_CHUNK_SECONDS = 60.0
"""Speech detection runs on chunks this long, so a 2-hour file never sits in memory."""


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
    speech: np.ndarray | None = None
    """float64 [n, 2] (start, end) s of speech in the footage's own sound (with ``speech=True``;
    empty when it has no sound)."""


def read_media(path: str | os.PathLike[str], encoder: FeatureExtractor | None, segment_seconds: float, *,
               modality: str | None = None, info: MediaInfo | None = None, grid: SegmentGrid | None = None,
               thumbnails: bool = False, rhythm: bool = False, speech: bool = False,
               limits: MediaLimits = DEFAULT_LIMITS, cancel: CancelCheck | None = None) -> Job[MediaRead]:
    """Job: read ``path`` once with ``encoder`` (see module doc). The file is probed here
    unless ``info`` is given; the grid is ``SegmentGrid(duration, segment_seconds)`` unless given.
    ``encoder=None`` (no model yet) reads only thumbnails, rhythm and speech of ``modality``."""
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
        return (yield from _read_video(path, encoder, info, grid, thumbnails, rhythm, speech, limits, cancel))
    return (yield from _read_music(path, encoder, info, grid, rhythm, limits, cancel))


def _read_video(path: Path, encoder, info: MediaInfo, grid: SegmentGrid, want_thumbs: bool, rhythm: bool,
                speech: bool, limits: MediaLimits, cancel: CancelCheck | None) -> Job[MediaRead]:
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
    listener = _SpeechListener(path, limits) if speech and info.audio is not None else None
    yield Progress("read", 0, T, f"reading {T} segments of {path.name}")
    frames = sample_frames(path, grid, per_segment=k, short_side=int(encoder.frame_short_side), info=info,
                           limits=limits, cancel=cancel, tap=tap, tap_short_side=tap_side)
    try:
        for event in _encode_as_read(frames, encoder, feats, thumbs, want_thumbs, per_batch, T, cancel,
                                     None if detector is None else to_detector):
            yield event
            if listener is not None:
                listener.start()  # after the first scene: loading the detector would delay it
        video_rhythm = None
        if detector is not None:
            to_detector()
            video_rhythm = detector.finish(info.duration)
        regions = None
        if listener is not None:
            regions = yield from listener.finish(info.duration, cancel)
        elif speech:
            regions = np.zeros((0, 2))  # no sound
    finally:
        if listener is not None:
            listener.close()
    return MediaRead(str(path), info, grid, "visual", encoder.id, feats, None, (), tuple(thumbs),
                     video_rhythm=video_rhythm, speech=regions)


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


def _speech(path: Path, info: MediaInfo, limits: MediaLimits, cancel: CancelCheck | None) -> Job[np.ndarray]:
    """Speech regions of the footage's own sound, chunk by chunk (memory flat in duration)."""
    if info.audio is None:
        return np.zeros((0, 2))
    try:
        from engine.mix.speech import detect_speech
    except ImportError:  # the mix's detector is not installed in this build
        return np.zeros((0, 2))
    from engine.media.audio import iter_audio

    chunk = int(SPEECH_CHUNK_SECONDS * SPEECH_RATE)
    buf: list[np.ndarray] = []
    have = 0
    at = 0.0
    regions: list[np.ndarray] = []
    total = max(1, int(np.ceil(info.duration / SPEECH_CHUNK_SECONDS)))

    def flush(samples: np.ndarray, offset: float) -> None:
        r = np.asarray(detect_speech(samples, SPEECH_RATE), np.float64).reshape(-1, 2)
        if len(r):
            regions.append(r + offset)

    yield Progress("speech", 0, total, "listening for speech")
    for piece in iter_audio(path, SPEECH_RATE, limits=limits, cancel=cancel):
        buf.append(piece)
        have += piece.size
        if have >= chunk:
            data = np.concatenate(buf)
            flush(data[:chunk], at)
            at += chunk / SPEECH_RATE
            buf, have = [data[chunk:]], data.size - chunk
            yield Progress("speech", int(at // SPEECH_CHUNK_SECONDS), total, "listening for speech")
    if have:
        flush(np.concatenate(buf), at)
    return merge_regions(np.concatenate(regions) if regions else np.zeros((0, 2)))


class _SpeechListener:
    """Speech detection in a thread beside the picture's decode, region for region what
    :func:`_speech` finds. The thread reads the footage's sound itself (its own demux of the
    file, ~0.05 s of CPU a minute, served by the page cache) and decodes, resamples and hears it
    there: the thread the frame-threaded picture decode waits on does nothing for the sound.
    The detector's state is kept from piece to piece and restarted every SPEECH_CHUNK_SECONDS,
    as :func:`_speech` does. The sound is pulled at the listener's own pace: nothing queues up
    and memory stays flat. A sound track that stops decoding part-way is heard as far as it
    goes (logged), as a damaged picture would not be: the picture is the footage."""

    def __init__(self, path: Path, limits: MediaLimits) -> None:
        self.path, self.limits = path, limits
        self._stop = threading.Event()
        self._regions: list[np.ndarray] = []
        self._error: BaseException | None = None
        self.heard = 0.0
        """Seconds of sound listened to so far."""
        self._thread = threading.Thread(target=self._run, name="mvpt-speech", daemon=True)
        self._starting = threading.Lock()

    def start(self) -> None:
        """Start listening (loads the detector). The analysis starts it after the first scene
        is out: loading the detector beside the first segment's decode would delay it."""
        with self._starting:
            if self._thread.ident is None:
                self._thread.start()

    def _run(self) -> None:
        from engine.media import MediaError
        from engine.media.audio import iter_audio

        try:
            try:
                from engine.mix.speech import SpeechStream
            except ImportError:  # the mix's detector is not installed in this build
                return
            chunk = int(SPEECH_CHUNK_SECONDS * SPEECH_RATE)
            stream = SpeechStream()
            at = 0  # samples before the current chunk
            buf: list[np.ndarray] = []
            have = 0

            def hear(piece: np.ndarray) -> None:
                nonlocal stream, at
                while piece.size:
                    take = min(piece.size, chunk - stream.samples)
                    stream.push(piece[:take])
                    piece = piece[take:]
                    if stream.samples == chunk:
                        self._chunk_done(stream, at)
                        at += chunk
                        stream = SpeechStream()
                self.heard = (at + stream.samples) / SPEECH_RATE

            try:
                for piece in iter_audio(self.path, SPEECH_RATE, limits=self.limits, cancel=self._stop.is_set):
                    buf.append(piece)  # a decoded frame's worth (~23 ms): heard a second at a time
                    have += piece.size
                    if have >= SPEECH_RATE:
                        hear(np.concatenate(buf))
                        buf, have = [], 0
            except Cancelled:
                return
            except MediaError as e:
                log.warning("%s: speech heard in the first %.1f s of the sound only (%s)", self.path.name,
                            (at + stream.samples + have) / SPEECH_RATE, e)
            if have:
                hear(np.concatenate(buf))
            if stream.samples:
                self._chunk_done(stream, at)
        except BaseException as e:  # noqa: BLE001 - raised in the caller by finish()
            self._error = e

    def _chunk_done(self, stream, at: int) -> None:
        r = np.asarray(stream.regions(), np.float64).reshape(-1, 2)
        if len(r):
            self._regions.append(r + at / SPEECH_RATE)

    def finish(self, duration: float, cancel: CancelCheck | None) -> Job[np.ndarray]:
        """After the picture's decode: wait for the listener. Merged regions [n, 2]."""
        self.start()
        while self._thread.is_alive():
            check_cancel(cancel)
            yield Progress("speech", round(min(self.heard, duration)), round(duration), "listening for speech")
            self._thread.join(timeout=0.1)
        if self._error is not None:
            raise self._error
        return merge_regions(np.concatenate(self._regions) if self._regions else np.zeros((0, 2)))

    def close(self) -> None:
        """Stop the thread (after an error or a cancel; harmless after finish)."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=10)


def merge_regions(r: np.ndarray, gap: float = 0.05) -> np.ndarray:
    """Sorted, overlapping or touching (within ``gap`` s) regions merged: float64 [n, 2]."""
    if len(r) == 0:
        return np.zeros((0, 2))
    r = r[np.argsort(r[:, 0])]
    out = [list(r[0])]
    for a, b in r[1:]:
        if a <= out[-1][1] + gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return np.asarray(out, np.float64)


def _thumbnail(frame: np.ndarray) -> np.ndarray:
    """uint8 [h, w, 3] -> the same picture with short side THUMB_SHORT_SIDE."""
    from PIL import Image

    h, w = frame.shape[:2]
    s = THUMB_SHORT_SIDE / min(h, w)
    if abs(s - 1.0) < 1e-3:
        return np.ascontiguousarray(frame)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(frame)).resize(size, Image.BILINEAR))
