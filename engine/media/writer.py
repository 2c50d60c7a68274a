"""Writing footage with a new soundtrack (preview and export).

:func:`write_with_audio` is the writer: the video stream is copied packet for packet when
MP4 can hold its codec (no quality loss, about 1.4 s per minute here); otherwise it is
re-encoded to H.264. The soundtrack comes in as stereo float32 chunks ``[2, n]`` at 48 kHz
(the mix renders them, :mod:`engine.mix.render`) and is encoded as stereo AAC at 192 kb/s,
pulled chunk by chunk in step with the video packets (interleaved, flat memory for any
length). The file is written under a temporary name beside the target, fsync'd and renamed
when complete, so a failed or cancelled write never leaves a half file, and an existing file
is replaced atomically.

:func:`write_with_soundtrack` (one track from an offset, fades, the original sound at a
fixed level) is the older single-track path, kept for its callers; it is stereo too.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from engine.atomic import atomic_path
from engine.jobs import CancelCheck, Job, Progress, check_cancel

from .audio import decode_audio_channels
from .container import open_media, video_stream
from .errors import MediaError, NoVideoStream, OutputError, converted
from .limits import DEFAULT_LIMITS, Deadline, MediaLimits
from .probe import probe

MP4_COPY_CODECS = frozenset({"h264", "hevc", "mpeg4", "av1", "vp9", "mjpeg"})
MIX_RATE = 48000
AAC_BIT_RATE = 192_000


@dataclass(frozen=True)
class SoundtrackSpec:
    music_path: str
    music_offset: float = 0.0
    """Seconds into the music where the video's first frame starts."""
    fade_in: float = 0.5
    fade_out: float = 2.0
    gain_db: float = 0.0
    original_level: float | None = None
    """None drops the original sound; 0..1 keeps it at that level under the music."""


def soundtrack_samples(spec: SoundtrackSpec, duration: float, original: np.ndarray | None = None,
                       rate: int = MIX_RATE, limits: MediaLimits = DEFAULT_LIMITS) -> np.ndarray:
    """The mixed soundtrack as float32 stereo ``[2, round(duration*rate)]`` (silence past the
    song's end); ``original`` is ``[2, n]`` (or mono ``[n]``) at ``rate``."""
    n = int(round(duration * rate))
    music = decode_audio_channels(spec.music_path, rate, start=max(0.0, spec.music_offset), duration=duration,
                                  limits=limits)
    out = np.zeros((2, n), np.float32)
    end = min(n, music.shape[1])  # fade out where the music (or the video) ends
    out[:, :end] = music[:, :end]
    out *= np.float32(10 ** (spec.gain_db / 20.0))
    fi = min(int(spec.fade_in * rate), end)
    if fi > 0:
        out[:, :fi] *= np.linspace(0.0, 1.0, fi, dtype=np.float32)
    fo = min(int(spec.fade_out * rate), end)
    if fo > 0:
        out[:, end - fo:end] *= np.linspace(1.0, 0.0, fo, dtype=np.float32)
    if original is not None and spec.original_level:
        original = np.atleast_2d(original)
        m = min(n, original.shape[1])
        out[:, :m] += np.float32(spec.original_level) * original[:, :m]
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 0.99:  # never clip: scale the whole mix down
        out *= np.float32(0.99 / peak)
    return out


def write_with_soundtrack(video_path: str | os.PathLike[str], spec: SoundtrackSpec,
                          out_path: str | os.PathLike[str], *, limits: MediaLimits = DEFAULT_LIMITS,
                          cancel: CancelCheck | None = None) -> Job[Path]:
    """Job: write ``out_path`` (MP4) = the video of ``video_path`` + the soundtrack of ``spec``."""
    video_path = Path(video_path)
    info = probe(video_path, limits=limits)
    if info.video is None:
        raise NoVideoStream(video_path, "has no video stream; choose a video file to put music under")
    yield Progress("audio", 0, 3, "mixing the soundtrack")
    original = None
    if spec.original_level and info.audio is not None:
        original = decode_audio_channels(video_path, MIX_RATE, limits=limits, cancel=cancel)
    mix = soundtrack_samples(spec, info.duration, original, MIX_RATE, limits)
    check_cancel(cancel)
    chunks = (mix[:, i:i + 48000] for i in range(0, mix.shape[1], 48000))
    return (yield from write_with_audio(video_path, out_path, chunks, limits=limits, cancel=cancel))


def write_with_audio(video_path: str | os.PathLike[str], out_path: str | os.PathLike[str],
                     audio: Iterable[np.ndarray], *, limits: MediaLimits = DEFAULT_LIMITS,
                     cancel: CancelCheck | None = None) -> Job[Path]:
    """Job: write ``out_path`` (MP4) = the video of ``video_path`` + ``audio``, float32 stereo
    chunks ``[2, n]`` at 48 kHz (encoded as stereo AAC; nothing else of the source's sound is
    kept). Atomic: the target appears complete or not at all (an earlier file stays intact)."""
    video_path, out_path = Path(video_path), Path(out_path)
    info = probe(video_path, limits=limits)
    if info.video is None:
        raise NoVideoStream(video_path, "has no video stream; choose a video file to put music under")
    check_cancel(cancel)
    try:
        with atomic_path(out_path, suffix=".part.mp4") as tmp:
            yield Progress("write", 0, 2, "writing video and sound")
            yield from _mux(video_path, tmp, iter(audio), info, limits, cancel)
            yield Progress("finish", 1, 2, "finishing")
        _fsync_dir(out_path.parent)
    except BaseException as e:
        err = _output_error(e, out_path)
        if err is e:
            raise
        raise err from e
    yield Progress("done", 2, 2, str(out_path))
    return out_path


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def output_error(e: BaseException, out_path: Path) -> BaseException:
    """Name the target, not the temporary file, and say what to do about disk problems."""
    if isinstance(e, OutputError):
        return OutputError(out_path, e.reason)
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return OutputError(out_path, "the disk is full; free some space or choose another folder")
    if isinstance(e, PermissionError):
        return OutputError(out_path, "no permission to write there; choose another folder")
    if isinstance(e, OSError) and not isinstance(e, (MediaError, av.error.FFmpegError)):
        return OutputError(out_path, f"could not write the file ({e.strerror or e})")
    return e


_output_error = output_error


def _mux(video_path: Path, out: Path, audio: Iterator[np.ndarray], info, limits: MediaLimits,
         cancel: CancelCheck | None) -> Job[None]:
    deadline = Deadline(limits.decode_seconds(info.duration), str(video_path), "writing")
    with open_media(video_path, limits=limits) as src, converted(out, "writing"), \
            av.open(str(out), "w", format="mp4") as dst:
        vin = video_stream(src)
        copy = (vin.codec_context.name in MP4_COPY_CODECS)
        if copy:
            vout = dst.add_stream_from_template(vin)
        else:
            vout = dst.add_stream("libx264", rate=vin.average_rate or 25, options={"crf": "18", "preset": "veryfast"})
            vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
            vin.codec_context.thread_type = "AUTO"
        enc = _AudioEncoder(dst)
        total = max(1, info.video.frame_count)
        n = 0
        for packet in src.demux(vin):
            deadline.check()
            check_cancel(cancel)
            if packet.pts is not None and packet.time_base is not None:
                # keep the sound about a second ahead of the picture: interleaved, flat memory
                enc.feed_until(float(packet.pts * packet.time_base) + 1.0, audio)
            if copy:
                if packet.dts is None:
                    continue
                packet.stream = vout
                dst.mux(packet)
            else:
                for frame in packet.decode():
                    frame.pts = None
                    for p in vout.encode(frame):
                        dst.mux(p)
            n += 1
            if n % 250 == 0:
                yield Progress("write", min(n, total), total, "writing video and sound")
        if not copy:
            for p in vout.encode():
                dst.mux(p)
        enc.feed_until(float("inf"), audio)
        enc.close()


class _AudioEncoder:
    """Stereo AAC at 48 kHz from float32 ``[2, n]`` chunks, re-framed to the codec's frame size."""

    def __init__(self, dst) -> None:
        self.dst = dst
        self.stream = dst.add_stream("aac", rate=MIX_RATE)
        self.stream.layout = "stereo"
        self.stream.bit_rate = AAC_BIT_RATE
        frame_size = self.stream.codec_context.frame_size or 1024
        self.resampler = av.AudioResampler(format=self.stream.codec_context.format.name, layout="stereo",
                                           rate=MIX_RATE, frame_size=frame_size)
        self.samples = 0
        self.exhausted = False

    def feed_until(self, seconds: float, audio: Iterator[np.ndarray]) -> None:
        while not self.exhausted and self.samples < seconds * MIX_RATE:
            try:
                chunk = next(audio)
            except StopIteration:
                self.exhausted = True
                break
            chunk = np.ascontiguousarray(np.atleast_2d(chunk), np.float32)
            if chunk.shape[0] == 1:
                chunk = np.repeat(chunk, 2, axis=0)
            if chunk.shape[1] == 0:
                continue
            f = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            f.sample_rate = MIX_RATE
            f.pts = self.samples
            self.samples += chunk.shape[1]
            self._encode(f)

    def _encode(self, frame) -> None:
        for rf in self.resampler.resample(frame):
            for p in self.stream.encode(rf):
                self.dst.mux(p)

    def close(self) -> None:
        self._encode(None)
        for p in self.stream.encode():
            self.dst.mux(p)
