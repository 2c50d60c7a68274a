"""Procedural footage cut to a demo track, the way editors cut music videos to their song.

How the picture follows the music
---------------------------------
A clip is rendered from the track's plan (:class:`~training.demo_music.TrackSpec`) and its
audio, so every visual choice is a function of something audible:

- **Style → look.** Each style has a :class:`Look`: a hue, a saturation and the kinds of
  scene it is shot with (soft drifting blobs for ambient, tunnels and rings for techno,
  pixel grids for chiptune, spinning mandalas for Indian music ...). The key turns the hue a
  little and the mode sets the mood: minor is cooler and darker, major warmer and brighter.
- **Section → brightness and pace.** A shot's brightness, saturation and motion speed rise
  with the section's energy: a calm verse is dark and slow, the chorus bright and fast, the
  breakdown nearly black. Calm styles stay dimmer than energetic ones overall.
- **Bars → cuts.** Shots start on bar lines: every bar in a high-energy chorus, every two
  bars in a verse, every four in intros; every section change is a cut to a new palette.
- **Beats → flashes and pulses.** Energetic sections flash on the beat (harder on the
  downbeat); calm ones only pulse gently. Motion speed is proportional to the tempo.
- **Loudness → exposure.** The frame's exposure breathes with the audio's loudness.

The soundtrack of the clip is the track itself, from its start. Frames are computed with
numpy at half the output size on a coordinate grid (a few vectorised trigonometric fields per
frame), then scaled and converted to YUV by FFmpeg's swscale and encoded with x264.
"""

from __future__ import annotations

import colorsys
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from engine.jobs import CancelCheck, Job, Progress, check_cancel
from training.demo_music import STYLES, TrackSpec


@dataclass(frozen=True)
class Look:
    hue: float  # base hue in [0, 1)
    saturation: float
    scenes: tuple[str, ...]  # field names (see _Canvas.field)
    speed: float = 1.0  # motion per beat relative to other styles


LOOKS: dict[str, Look] = {
    "ambient": Look(0.55, 0.45, ("blobs", "waves", "plasma"), 0.4),
    "techno": Look(0.80, 0.85, ("tunnel", "rings", "plasma"), 1.4),
    "piano": Look(0.09, 0.35, ("blobs", "waves"), 0.5),
    "rock": Look(0.01, 0.80, ("rings", "plasma", "tunnel"), 1.3),
    "strings": Look(0.95, 0.55, ("waves", "blobs"), 0.6),
    "chiptune": Look(0.33, 0.95, ("pixels", "checker"), 1.2),
    "hiphop": Look(0.72, 0.70, ("bars", "plasma"), 0.9),
    "harpsichord": Look(0.13, 0.50, ("mandala", "waves"), 0.8),
    "folk": Look(0.22, 0.45, ("waves", "blobs"), 0.7),
    "indian": Look(0.06, 0.85, ("mandala", "rings"), 0.8),
}


@dataclass(frozen=True)
class Shot:
    start: float  # seconds
    end: float
    scene: str
    energy: float
    seed: int


def shot_plan(spec: TrackSpec, seconds: float, seed: int) -> list[Shot]:
    """Cuts on bar lines: every bar when energy >= 0.75, every 2 when >= 0.4, else every 4;
    always at a section change. Each shot draws its scene from the style's list."""
    rng = np.random.default_rng([seed, spec.index, 3])
    look = LOOKS[spec.style]
    shots: list[Shot] = []
    for sec in spec.sections:
        every = 1 if sec.energy >= 0.75 else 2 if sec.energy >= 0.4 else 4
        for b in range(0, sec.bars, every):
            start = (sec.start_bar + b) * spec.bar_seconds
            if start >= seconds:
                return shots
            end = min(seconds, (sec.start_bar + min(sec.bars, b + every)) * spec.bar_seconds)
            if sec is spec.sections[-1] and b + every >= sec.bars:
                end = seconds  # the last shot runs to the end (the reverb tail)
            shots.append(Shot(start, end, str(rng.choice(look.scenes)), sec.energy, int(rng.integers(2**31))))
    return shots


def loudness_envelope(audio: np.ndarray, sr: int, fps: float, frames: int) -> np.ndarray:
    """float32 [frames] in [0, 1]: RMS per video frame over the track's 95th percentile."""
    mono = np.asarray(audio, np.float32).reshape(-1, audio.shape[-1]).mean(axis=0)
    hop = sr / fps
    idx = (np.arange(frames) * hop).astype(int)
    csum = np.concatenate([[0.0], np.cumsum(mono.astype(np.float64) ** 2)])
    hi = np.minimum(idx + int(hop), len(mono))
    lo = np.minimum(idx, hi - 1)
    rms = np.sqrt((csum[hi] - csum[lo]) / np.maximum(1, hi - lo))
    return np.clip(rms / (np.percentile(rms, 95) + 1e-9), 0, 1).astype(np.float32)


class _Canvas:
    """Coordinate grids at work size and the scene fields drawn on them (values in [0, 1])."""

    def __init__(self, w: int, h: int) -> None:
        self.x = np.linspace(-w / h, w / h, w, dtype=np.float32)[None, :]
        self.y = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
        self.r = np.sqrt(self.x**2 + self.y**2)
        self.theta = np.arctan2(self.y, self.x)
        self.w, self.h = w, h

    def field(self, shot: Shot, p: float, beat: int, level: float) -> np.ndarray:
        """``p``: motion phase (grows with tempo and energy); ``beat``: beat index; ``level``:
        loudness now."""
        r = np.random.default_rng(shot.seed)
        a, b, c = r.uniform(0.5, 2.0, 3)
        ang = r.uniform(0, np.pi)
        x, y = self.x, self.y
        s = shot.scene
        if s == "waves":
            u = x * np.cos(ang) + y * np.sin(ang)
            v = np.sin(3 * a * u + 2 * np.pi * p + 0.8 * np.sin(2 * b * y + p))
        elif s == "rings":
            cx, cy = r.uniform(-0.6, 0.6, 2)
            v = np.sin(8 * a * np.sqrt((x - cx) ** 2 + (y - cy) ** 2) - 4 * np.pi * p)
        elif s == "blobs":
            v = np.zeros((self.h, self.w), np.float32) - 1
            for k in range(4):
                cx = 1.2 * np.sin(0.7 * p * a + k * 1.7 + c)
                cy = 0.7 * np.cos(0.5 * p * b + k * 2.3)
                v += 2.2 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (0.15 + 0.1 * k))
        elif s == "plasma":
            v = (np.sin(3 * a * x + 2 * p) + np.sin(3 * b * y - 1.3 * p) + np.sin(2 * c * (x + y) + 0.7 * p)) / 2
        elif s == "tunnel":
            v = np.sin(2.0 / (self.r + 0.15) + 6 * p) * np.sign(np.sin(6 * self.theta + p * a))
        elif s == "checker":
            v = np.sign(np.sin(6 * a * (x + 0.3 * p)) * np.sin(6 * a * (y + 0.2 * p)))
        elif s == "pixels":
            g = np.random.default_rng([shot.seed, beat]).random((9, 16)).astype(np.float32)
            v = 2 * g[(np.arange(self.h) * 9 // self.h)[:, None], (np.arange(self.w) * 16 // self.w)[None, :]] - 1
        elif s == "bars":
            heights = np.random.default_rng([shot.seed, beat]).random(12) * (0.3 + 0.7 * level)
            col = np.minimum(11, ((x + self.x.max()) / (2 * self.x.max()) * 12).astype(int))
            v = np.where((1 - y) / 2 < heights[col], 1.0, -0.6) * np.ones_like(y)
        elif s == "mandala":
            n = int(r.integers(5, 10))
            v = np.cos(n * self.theta + p) * np.cos(10 * a * self.r - 3 * p)
        else:
            raise ValueError(f"unknown scene {s!r}")
        return (0.5 + 0.5 * v).astype(np.float32)


_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _color(hue: float, sat: float, luma: float) -> np.ndarray:
    """RGB of a hue and saturation at a given luma (BT.601), so that brightness means the same
    for every palette: a saturated blue and a pale yellow of equal luma look equally bright."""
    rgb = np.array(colorsys.hsv_to_rgb(hue % 1.0, float(np.clip(sat, 0, 1)), 1.0), np.float32)
    luma = float(np.clip(luma, 0.0, 1.0))
    rgb *= luma / float(rgb @ _LUMA)
    if rgb.max() > 1.0:  # too bright for this hue: desaturate towards white
        rgb /= rgb.max()
        y = float(rgb @ _LUMA)
        rgb += (1.0 - rgb) * (luma - y) / (1.0 - y + 1e-9)
    return rgb


def palette(spec: TrackSpec, energy: float, shot_seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(dark colour, light colour, brightness) of a shot: hue from style, key and mode;
    brightness (luma of the light colour) and saturation from the section's energy, the
    style's intensity and the mode (major brighter, minor darker)."""
    look, st = LOOKS[spec.style], STYLES[spec.style]
    major = spec.mode == "major"
    hue = look.hue + 0.05 * (spec.key - 5.5) / 5.5 + (-0.02 if major else 0.06)
    hue += np.random.default_rng(shot_seed).uniform(-0.03, 0.03)
    bright = 0.12 + 0.55 * energy * (0.3 + 0.7 * st.intensity) + 0.15 * st.intensity + (0.04 if major else -0.04)
    sat = look.saturation * (0.6 + 0.4 * energy)
    return _color(hue, sat, 0.1 * bright), _color(hue + 0.1 * energy, 0.9 * sat, bright), float(bright)


_YUV = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]], np.float32)
_YUV_OFFSET = np.array([16.0, 128.0, 128.0], np.float32)


def render_frames(spec: TrackSpec, audio: np.ndarray, sr: int, seconds: float, size: tuple[int, int],
                  fps: float, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield the clip's frames as uint8 YUV 4:2:0 planes (Y [h, w], U and V [h/2, w/2], BT.601).

    Fields are computed at half size; each frame's 256-entry colour table (the shot's palette,
    exposure and flash) maps field values straight to Y, U and V, and Y is doubled up."""
    w, h = max(1, size[0] // 2), max(1, size[1] // 2)
    canvas = _Canvas(w, h)
    frames = int(round(seconds * fps))
    env = loudness_envelope(audio, sr, fps, frames)
    look, st = LOOKS[spec.style], STYLES[spec.style]
    shots = shot_plan(spec, seconds, seed)
    ramp = np.linspace(0, 1, 256, dtype=np.float32)[:, None]
    k, p = 0, 0.0
    dark, light, _ = palette(spec, shots[0].energy, shots[0].seed)
    for i in range(frames):
        t = i / fps
        while k + 1 < len(shots) and t >= shots[k + 1].start:
            k, p = k + 1, 0.0
            dark, light, _ = palette(spec, shots[k].energy, shots[k].seed)
        shot = shots[k]
        beats = t / spec.beat_seconds
        p += look.speed * (spec.bpm / 60.0) * (0.08 + 0.5 * shot.energy) / fps / 4
        idx = (canvas.field(shot, p, int(beats), float(env[i])) * 255).astype(np.uint8)
        since = (beats % 1.0) * spec.beat_seconds
        downbeat = int(beats) % spec.beats_per_bar == 0
        strength = max(0.0, shot.energy - 0.45) * 2 * st.intensity * (1.6 if downbeat else 1.0)
        flash = strength * np.exp(-since / 0.09)
        expo = (0.75 + 0.35 * env[i]) * (1 + 0.15 * np.exp(-since / 0.25))
        rgb = np.clip((dark + (light - dark) * ramp) * expo + 0.6 * flash, 0, 1)  # [256, 3]
        lut = np.clip(rgb @ _YUV.T + _YUV_OFFSET, 0, 255).astype(np.uint8)
        yp = lut[idx, 0]
        yield np.repeat(np.repeat(yp, 2, axis=0), 2, axis=1), lut[idx, 1], lut[idx, 2]


def _video_frame(planes, w: int, h: int) -> av.VideoFrame:
    frame = av.VideoFrame(w, h, "yuv420p")
    for plane, arr in zip(frame.planes, planes):
        view = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        view[:, : plane.width] = arr[: plane.height, : plane.width]
    return frame


def write_clip(path: str | os.PathLike[str], spec: TrackSpec, audio: np.ndarray, sr: int, seconds: float, *,
               size: tuple[int, int] = (640, 360), fps: float = 24.0, seed: int = 0, crf: int = 26,
               audio_rate: int | None = None, threads: int = 2,
               cancel: CancelCheck | None = None, frames_in: Iterable | None = None) -> Job[Path]:
    """Render and encode a clip (H.264 + AAC in MP4) of ``seconds`` from the track's start,
    with ``audio`` (float32 [2, n] at ``sr``) as its soundtrack (AAC at ``audio_rate``,
    default ``sr``; packets interleaved frame by frame). ``threads``: x264 frame threads.
    Writes ``path`` directly; the caller renames it into place. Yields progress every second
    of footage and checks ``cancel`` there. ``frames_in``: other YUV 4:2:0 planes to encode
    instead of :func:`render_frames`' (the starter world's footage)."""
    path = Path(path)
    w, h = size
    audio_rate = audio_rate or sr
    n_audio = int(round(seconds * sr))
    audio = np.ascontiguousarray(audio[:, :n_audio], np.float32)
    frames = int(round(seconds * fps))
    with av.open(str(path), "w", format="mp4") as c:
        vs = c.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001),
                          options={"crf": str(crf), "preset": "ultrafast", "g": str(int(2 * fps))})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        # x264 encodes frames in its own threads while numpy draws the next ones (1.5x faster on 2 cores)
        vs.codec_context.thread_type, vs.codec_context.thread_count = "FRAME", max(1, threads)
        aus = c.add_stream("aac", rate=audio_rate, options={"aac_coder": "fast"})
        aus.layout = "stereo"
        res = av.AudioResampler(format=aus.codec_context.format.name, layout="stereo", rate=audio_rate,
                                frame_size=aus.codec_context.frame_size or 1024)
        sent = 0
        source = frames_in if frames_in is not None else render_frames(spec, audio, sr, seconds, size, fps, seed)
        for i, planes in enumerate(source):
            frame = _video_frame(planes, w, h)
            frame.pts = i
            for pkt in vs.encode(frame):
                c.mux(pkt)
            upto = n_audio if i == frames - 1 else int((i + 1) / fps * sr)
            if upto > sent:  # interleave: the soundtrack up to the end of this frame
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, sent:upto]), format="fltp",
                                                layout="stereo")
                af.sample_rate, af.pts, sent = sr, sent, upto
                for rf in res.resample(af):
                    for pkt in aus.encode(rf):
                        c.mux(pkt)
            if i % int(fps) == 0:
                check_cancel(cancel)
                yield Progress("render", i, frames, message=path.name)
        for rf in res.resample(None):
            for pkt in aus.encode(rf):
                c.mux(pkt)
        for stream in (vs, aus):
            for pkt in stream.encode():
                c.mux(pkt)
    return path
