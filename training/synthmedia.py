"""Small real media files written in code (PyAV encodes them), for tests, benchmarks and the demo.

Pictures are simple but not trivial: a moving gradient with a bouncing block, so encoders
produce realistic P/B frames and sampled frames differ over time. Audio is a tone with a
pulse, so decoders and resamplers have something to chew on.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def _frame_rgb(i: int, fps: float, w: int, h: int, hue: float = 0.0) -> np.ndarray:
    t = i / fps
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    r = 0.5 + 0.5 * np.sin(2 * np.pi * (x + 0.1 * t + hue))
    g = 0.5 + 0.5 * np.sin(2 * np.pi * (y + 0.07 * t))
    b = np.broadcast_to(0.5 + 0.5 * np.cos(2 * np.pi * (0.05 * t + hue)), (h, w))
    img = np.stack([np.broadcast_to(r, (h, w)), np.broadcast_to(g, (h, w)), b], axis=-1)
    bw, bh = max(1, w // 6), max(1, h // 6)
    bx = int((0.5 + 0.5 * np.sin(t * 1.3)) * (w - bw))
    by = int((0.5 + 0.5 * np.cos(t * 0.9)) * (h - bh))
    img[by:by + bh, bx:bx + bw] = 1.0
    return (img * 255).astype(np.uint8)


def tone(duration: float, sample_rate: int = 44100, freq: float = 440.0, channels: int = 1,
         bpm: float = 120.0) -> np.ndarray:
    """float32 [channels, N]: a tone with a beat-rate amplitude pulse."""
    t = np.arange(int(round(duration * sample_rate)), dtype=np.float64) / sample_rate
    env = 0.6 + 0.4 * (np.sin(2 * np.pi * (bpm / 60.0) * t) > 0)
    x = (0.3 * env * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(x[None, :], channels, axis=0)


def write_video(path: str | os.PathLike[str], duration: float = 4.0, *, size: tuple[int, int] = (160, 90),
                fps: float = 25.0, gop: int | None = None, codec: str = "libx264",
                audio: bool = True, audio_rate: int = 44100, audio_freq: float = 440.0,
                rotation: int = 0, vfr: bool = False, hue: float = 0.0, crf: int = 28,
                preset: str = "ultrafast", frames_fn=None, x264_params: str | None = None) -> Path:
    """Write an H.264 (by default) MP4/MKV with optional AAC audio. Returns the path.

    ``gop``: keyframe interval in frames (None: the encoder's default, 250 for x264).
    ``rotation``: display rotation (degrees counter-clockwise) stored as a display matrix.
    ``vfr``: timestamps jitter between 0.5 and 1.5 frame durations (variable frame rate).
    ``frames_fn(i) -> uint8 [h, w, 3]``: custom pictures (default: moving gradient).
    ``x264_params``: extra libx264 settings, e.g. ``"bframes=0"`` (phones' and cameras' encoders).
    """
    path = Path(path)
    w, h = size
    n = int(round(duration * fps))
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as c:
        opts = {"crf": str(crf), "preset": preset} if codec == "libx264" else {}
        if gop is not None:
            opts["g"] = str(gop)
            opts["keyint_min"] = str(gop)
            opts["sc_threshold"] = "0"
        if x264_params and codec == "libx264":
            opts["x264-params"] = x264_params
        rate = Fraction(fps).limit_denominator(1001)
        vs = c.add_stream(codec, rate=rate, options=opts)
        vs.width, vs.height = w, h
        vs.pix_fmt = "yuv420p"
        if vfr:
            vs.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            vs.set_display_rotation(rotation)
        aus = None
        if audio:
            aus = c.add_stream("aac", rate=audio_rate)
            aus.layout = "stereo"
        t_ms = 0.0
        for i in range(n):
            img = frames_fn(i) if frames_fn else _frame_rgb(i, fps, w, h, hue)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            if vfr:
                frame.pts = int(t_ms)
                frame.time_base = Fraction(1, 1000)
                t_ms += 1000.0 / fps * rng.uniform(0.5, 1.5)
            else:
                frame.pts = i
            for pkt in vs.encode(frame):
                c.mux(pkt)
        for pkt in vs.encode():
            c.mux(pkt)
        if aus is not None:
            encode_audio(c, aus, tone(duration, audio_rate, audio_freq, channels=2), audio_rate)
    return path


def write_audio(path: str | os.PathLike[str], samples: np.ndarray | None = None, *, duration: float = 3.0,
                sample_rate: int = 44100, codec: str | None = None, freq: float = 440.0,
                channels: int = 2, tags: dict[str, str] | None = None) -> Path:
    """Write audio in the container implied by the extension (mp3, m4a, ogg, opus, flac, wav, aiff)."""
    path = Path(path)
    if samples is None:
        samples = tone(duration, sample_rate, freq, channels=channels)
    samples = np.atleast_2d(np.asarray(samples, np.float32))
    ext = path.suffix.lower()
    codec = codec or {".mp3": "libmp3lame", ".m4a": "aac", ".aac": "aac", ".ogg": "libopus",
                      ".opus": "libopus", ".flac": "flac", ".wav": "pcm_s16le",
                      ".aif": "pcm_s16be", ".aiff": "pcm_s16be", ".mka": "flac"}[ext]
    sample_rate_out = 48000 if codec == "libopus" else sample_rate
    fmt = {".m4a": "mp4", ".aif": "aiff", ".aiff": "aiff", ".opus": "ogg"}.get(ext)
    with av.open(str(path), "w", format=fmt) as c:
        aus = c.add_stream(codec, rate=sample_rate_out)
        aus.layout = "stereo" if samples.shape[0] == 2 else "mono"
        for k, v in (tags or {}).items():
            c.metadata[k] = v
        encode_audio(c, aus, samples, sample_rate)
    return path


def encode_audio(c, aus, samples: np.ndarray, src_rate: int) -> None:
    """Encode float32 [channels, N] at ``src_rate`` through a resampler into the stream's format."""
    rate = aus.codec_context.sample_rate
    layout = "stereo" if samples.shape[0] == 2 else "mono"
    frame_size = aus.codec_context.frame_size or 1024
    if aus.codec_context.codec.name.startswith("pcm"):
        frame_size = 4096
    resampler = av.AudioResampler(format=aus.codec_context.format.name, layout=aus.layout.name, rate=rate,
                                  frame_size=frame_size)
    pts = 0
    for start in range(0, samples.shape[1], frame_size):
        chunk = np.ascontiguousarray(samples[:, start:start + frame_size])
        f = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        f.sample_rate = src_rate
        f.pts = pts
        pts += chunk.shape[1]
        for rf in resampler.resample(f):
            for pkt in aus.encode(rf):
                c.mux(pkt)
    for rf in resampler.resample(None):
        for pkt in aus.encode(rf):
            c.mux(pkt)
    for pkt in aus.encode():
        c.mux(pkt)
