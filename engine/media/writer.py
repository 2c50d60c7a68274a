"""Writing footage with a new soundtrack (preview and export).

The video stream is copied packet for packet when MP4 can hold its codec (no quality loss,
about 1.4 s per minute here); otherwise it is re-encoded to H.264. The music is decoded
from ``music_offset`` for the length of the video, shaped (gain, fade in/out), optionally
mixed with the original sound at ``original_level``, and encoded as AAC. The file is
written under a temporary name beside the target and renamed when complete, so a failed
or cancelled write never leaves a half file, and an existing file is replaced atomically.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from engine.jobs import CancelCheck, Job, Progress, check_cancel

from .audio import decode_audio
from .container import open_media, video_stream
from .errors import MediaError, NoVideoStream, OutputError, converted
from .limits import DEFAULT_LIMITS, Deadline, MediaLimits
from .probe import probe

MP4_COPY_CODECS = frozenset({"h264", "hevc", "mpeg4", "av1", "vp9", "mjpeg"})
MIX_RATE = 48000


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
    """The mixed soundtrack as float32 mono ``[round(duration*rate)]`` (silence past the song's end)."""
    n = int(round(duration * rate))
    music = decode_audio(spec.music_path, rate, start=max(0.0, spec.music_offset), duration=duration, limits=limits)
    out = np.zeros(n, np.float32)
    out[: min(n, music.size)] = music[:n]
    out *= np.float32(10 ** (spec.gain_db / 20.0))
    end = min(n, music.size)  # fade out where the music (or the video) ends
    fi = min(int(spec.fade_in * rate), end)
    if fi > 0:
        out[:fi] *= np.linspace(0.0, 1.0, fi, dtype=np.float32)
    fo = min(int(spec.fade_out * rate), end)
    if fo > 0:
        out[end - fo:end] *= np.linspace(1.0, 0.0, fo, dtype=np.float32)
    if original is not None and spec.original_level:
        m = min(n, original.size)
        out[:m] += np.float32(spec.original_level) * original[:m]
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 0.99:  # never clip: scale the whole mix down
        out *= np.float32(0.99 / peak)
    return out


def write_with_soundtrack(video_path: str | os.PathLike[str], spec: SoundtrackSpec,
                          out_path: str | os.PathLike[str], *, limits: MediaLimits = DEFAULT_LIMITS,
                          cancel: CancelCheck | None = None) -> Job[Path]:
    """Job: write ``out_path`` (MP4) = the video of ``video_path`` + the soundtrack of ``spec``."""
    video_path, out_path = Path(video_path), Path(out_path)
    info = probe(video_path, limits=limits)
    if info.video is None:
        raise NoVideoStream(video_path, "has no video stream; choose a video file to put music under")
    yield Progress("audio", 0, 3, "mixing the soundtrack")
    original = None
    if spec.original_level and info.audio is not None:
        original = decode_audio(video_path, MIX_RATE, limits=limits, cancel=cancel)
    mix = soundtrack_samples(spec, info.duration, original, MIX_RATE, limits)
    check_cancel(cancel)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.stem}.", suffix=".part.mp4", dir=out_path.parent)
        os.close(fd)
    except OSError as e:
        raise _output_error(e, out_path) from e
    tmp = Path(tmp_name)
    try:
        yield Progress("video", 1, 3, "writing video")
        yield from _mux(video_path, tmp, mix, info, limits, cancel)
        yield Progress("finish", 2, 3, "finishing")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out_path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        err = _output_error(e, out_path)
        if err is e:
            raise
        raise err from e
    yield Progress("done", 3, 3, str(out_path))
    return out_path


def _output_error(e: BaseException, out_path: Path) -> BaseException:
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _mux(video_path: Path, out: Path, mix: np.ndarray, info, limits: MediaLimits,
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
        aout = dst.add_stream("aac", rate=MIX_RATE)
        aout.layout = "mono"
        aout.bit_rate = 192_000
        total = max(1, info.video.frame_count)
        n = 0
        for packet in src.demux(vin):
            deadline.check()
            check_cancel(cancel)
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
                yield Progress("video", min(n, total), total, "writing video")
        if not copy:
            for p in vout.encode():
                dst.mux(p)
        _encode_mono(dst, aout, mix)


def _encode_mono(dst, stream, mix: np.ndarray) -> None:
    frame_size = stream.codec_context.frame_size or 1024
    resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono",
                                  rate=MIX_RATE, frame_size=frame_size)
    for start in range(0, mix.size, 8192):
        f = av.AudioFrame.from_ndarray(np.ascontiguousarray(mix[None, start:start + 8192]), format="flt", layout="mono")
        f.sample_rate = MIX_RATE
        f.pts = start
        for rf in resampler.resample(f):
            for p in stream.encode(rf):
                dst.mux(p)
    for rf in resampler.resample(None):
        for p in stream.encode(rf):
            dst.mux(p)
    for p in stream.encode():
        dst.mux(p)
