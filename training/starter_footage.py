"""Footage for the starter world: places, cameras and film, edited to the music with noise.

The demo's footage (:mod:`training.demo_footage`) is flat trigonometric fields. The starter's
is closer to what cameras record, while staying procedural, seeded and free of people:

- **Places** (:data:`SCENES`): skies with horizons and hills, sea, forest, snow, desert,
  roads, cities by day and by night (lit windows, drifting lights), interiors (warm walls, a
  bright window, a lamp), concert stages (beams in haze), a studio backdrop and out-of-focus
  colour. Surfaces are 1/f ("pink") noise, the spectrum of natural images, in colours drawn
  around natural references (sky blues, foliage greens, earth browns, sodium and neon light).
- **Camera**: each shot frames a crop of a larger plate and pans and zooms across it
  (slowly for calm music, faster for energetic), with handheld shake for some styles.
- **Film**: a per-clip colour grade (temperature, tint, contrast, saturation), vignetting,
  grain, and H.264 compression at a per-clip quality.
- **Editing** (:func:`plan_shots`): cuts mostly on beats, not always (off by a fraction of a
  beat, or anywhere); shot length follows the section's energy and the style's pace, some
  shots run long; section changes are usually cuts; some dissolves, some fades.

How the picture follows the music (what a model can learn here): the style sets the places
an editor picks, the grade, the camera and the pace (:data:`LOOKS`); a section's energy sets
exposure, saturation, camera speed and cut rate; beats set most cuts and the light pulses of
stages and clubs. And with noise: one clip in ten is shot in another style's look (taste
varies), and one shot in seven comes from another style's places.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from training.demo_footage import _YUV, _YUV_OFFSET, loudness_envelope
from training.demo_music import TrackSpec

SCENES = ("landscape", "sea", "forest", "snow", "desert", "road", "city_day", "city_night", "interior",
          "concert", "studio", "bokeh")


@dataclass(frozen=True)
class Look:
    scenes: tuple[str, ...]   # places this style is cut to
    temp: float               # colour temperature of the grade: >0 warm, <0 cool
    contrast: float
    saturation: float
    camera: float             # pan/zoom speed, relative
    shake: float              # handheld shake, fraction of the frame
    grain: float              # grain standard deviation
    pace: float               # cut rate, relative (1: a cut every 4 beats at mid energy)
    on_beat: float            # share of cuts exactly on a beat


LOOKS: dict[str, Look] = {
    "ambient": Look(("landscape", "sea", "snow", "bokeh"), -0.05, 0.85, 0.8, 0.4, 0.0, 0.015, 0.35, 0.5),
    "techno": Look(("city_night", "concert", "bokeh"), -0.08, 1.25, 1.3, 1.3, 0.004, 0.02, 1.6, 0.9),
    "piano": Look(("interior", "snow", "sea", "landscape"), 0.06, 0.85, 0.75, 0.35, 0.0, 0.02, 0.4, 0.6),
    "rock": Look(("concert", "road", "city_day", "desert"), 0.03, 1.3, 1.0, 1.2, 0.012, 0.04, 1.4, 0.8),
    "strings": Look(("landscape", "forest", "sea", "snow"), 0.02, 1.05, 0.9, 0.5, 0.0, 0.02, 0.5, 0.6),
    "chiptune": Look(("city_night", "bokeh", "studio"), 0.0, 1.2, 1.5, 1.0, 0.0, 0.005, 1.5, 0.95),
    "hiphop": Look(("city_night", "city_day", "road"), -0.02, 1.2, 0.9, 0.9, 0.01, 0.03, 1.0, 0.85),
    "harpsichord": Look(("interior", "forest", "landscape"), 0.1, 0.95, 0.8, 0.5, 0.0, 0.025, 0.7, 0.7),
    "folk": Look(("forest", "landscape", "desert", "road"), 0.08, 1.0, 0.95, 0.6, 0.006, 0.03, 0.7, 0.7),
    "indian": Look(("desert", "interior", "landscape"), 0.12, 1.1, 1.25, 0.7, 0.003, 0.025, 0.8, 0.75),
    "house": Look(("concert", "city_night", "sea"), 0.0, 1.15, 1.2, 1.0, 0.004, 0.02, 1.3, 0.9),
    "dnb": Look(("road", "city_night", "concert"), -0.06, 1.3, 1.1, 1.6, 0.012, 0.03, 1.9, 0.85),
    "jazz": Look(("interior", "city_night", "studio"), 0.09, 0.95, 0.8, 0.5, 0.004, 0.035, 0.7, 0.6),
    "lofi": Look(("interior", "city_night", "studio"), 0.05, 0.8, 0.6, 0.4, 0.003, 0.05, 0.5, 0.6),
}

# natural reference colours (sRGB in [0, 1]) the places are painted from
SKY = {"day": ((0.35, 0.55, 0.85), (0.75, 0.85, 0.95)), "golden": ((0.45, 0.5, 0.7), (0.98, 0.75, 0.45)),
       "dusk": ((0.12, 0.14, 0.3), (0.85, 0.45, 0.35)), "overcast": ((0.55, 0.58, 0.62), (0.78, 0.8, 0.82)),
       "night": ((0.01, 0.02, 0.06), (0.06, 0.07, 0.14))}
GROUND = {"grass": (0.25, 0.42, 0.15), "earth": (0.42, 0.32, 0.2), "sand": (0.85, 0.68, 0.45),
          "rock": (0.45, 0.43, 0.42), "snow": (0.9, 0.92, 0.96), "water": (0.1, 0.28, 0.4),
          "foliage": (0.12, 0.3, 0.1), "asphalt": (0.22, 0.22, 0.24)}
LIGHTS = ((1.0, 0.62, 0.25), (1.0, 0.85, 0.55), (0.3, 0.6, 1.0), (1.0, 0.2, 0.6), (0.2, 1.0, 0.8), (0.7, 0.3, 1.0))


def pink_noise(h: int, w: int, rng: np.random.Generator, beta: float = 2.0, aspect: float = 1.0) -> np.ndarray:
    """float32 [h, w] in [0, 1]: noise with a 1/f^(beta/2) amplitude spectrum (natural images:
    beta ~ 2). ``aspect`` > 1 stretches it horizontally (waves, strata)."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :] * aspect
    f = np.sqrt(fx**2 + fy**2)
    f[0, 0] = 1.0
    spec = (rng.standard_normal(f.shape) + 1j * rng.standard_normal(f.shape)) / f ** (beta / 2)
    spec[0, 0] = 0
    x = np.fft.irfft2(spec, s=(h, w)).astype(np.float32)
    x -= x.min()
    return x / (x.max() + 1e-9)


def _jitter(c, rng: np.random.Generator, amount: float = 0.06) -> np.ndarray:
    return np.clip(np.asarray(c, np.float32) + rng.normal(0, amount, 3).astype(np.float32), 0, 1)


def _gradient(h: int, w: int, top, bottom, upto: float = 1.0) -> np.ndarray:
    t = np.clip(np.linspace(0, 1, h, dtype=np.float32) / max(upto, 1e-3), 0, 1)[:, None, None]
    return np.broadcast_to((1 - t) * np.asarray(top, np.float32) + t * np.asarray(bottom, np.float32),
                           (h, w, 3)).copy()


def _textured(base, tex: np.ndarray, amount: float) -> np.ndarray:
    return np.asarray(base, np.float32) * (1 - amount + 2 * amount * tex[..., None])


def _horizon(h: int, w: int, rng: np.random.Generator, level: float, rough: float) -> np.ndarray:
    """bool [h, w]: below a ridge line at ``level`` (fraction of the height) roughened by 1-D 1/f noise."""
    ridge = pink_noise(1, w, rng, 2.2)[0] if w > 1 else np.zeros(1, np.float32)
    line = (level + rough * (ridge - 0.5)) * h
    return np.arange(h, dtype=np.float32)[:, None] > line[None, :]


def plate(scene: str, h: int, w: int, rng: np.random.Generator) -> tuple[np.ndarray, list[tuple]]:
    """A place: float32 RGB [h, w, 3] in [0, 1], and its moving lights
    ``[(x, y, radius, rgb, vx, vy)]`` in fractions of the plate."""
    tex = pink_noise(h, w, rng)
    lights: list[tuple] = []
    tod = str(rng.choice(["day", "golden", "overcast", "dusk"]))
    if scene in ("landscape", "sea", "snow", "desert", "road"):
        img = _gradient(h, w, _jitter(SKY[tod][0], rng), _jitter(SKY[tod][1], rng), 0.55)
        img = _textured(img, pink_noise(h, w, rng, 2.6, 3.0), 0.08)  # clouds
        ground = {"landscape": ("grass", "earth", "rock"), "sea": ("water",), "snow": ("snow",),
                  "desert": ("sand",), "road": ("grass", "earth")}[scene]
        below = _horizon(h, w, rng, rng.uniform(0.38, 0.62), 0.0 if scene == "sea" else rng.uniform(0.05, 0.3))
        g = _jitter(GROUND[str(rng.choice(ground))], rng, 0.05)
        aspect = 4.0 if scene in ("sea", "desert") else 1.0
        shade = 0.75 + 0.35 * np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        img = np.where(below[..., None], _textured(g, pink_noise(h, w, rng, 2.0, aspect), 0.35) * shade, img)
        if scene == "road":  # a road running to a vanishing point, with centre dashes
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            hz = h * 0.5
            half = np.maximum(0, (yy - hz)) / h * w * 0.9
            on = (np.abs(xx - w / 2) < half) & (yy > hz)
            img[on] = _textured(GROUND["asphalt"], tex, 0.2)[on]
            dash = on & (np.abs(xx - w / 2) < half * 0.03 + 0.5) & (np.sin(60 * np.log1p(np.maximum(yy - hz, 0))) > 0.3)
            img[dash] = (0.9, 0.88, 0.8)
        if scene == "snow":
            img = 0.6 * img + 0.4 * img.mean(axis=2, keepdims=True)
    elif scene == "forest":
        img = _textured(_jitter(GROUND["foliage"], rng), tex, 0.5)
        trunks = pink_noise(1, w, rng, 0.6)[0] > rng.uniform(0.6, 0.75)
        img[:, trunks] = _textured(_jitter(GROUND["earth"], rng) * 0.5, tex, 0.3)[:, trunks]
        img += (np.asarray(SKY["day"][1]) * (tex > 0.8)[..., None] * 0.5).astype(np.float32)  # sky through leaves
    elif scene in ("city_day", "city_night"):
        night = scene == "city_night"
        img = _gradient(h, w, SKY["night" if night else tod][0], SKY["night" if night else tod][1], 0.7)
        x = 0
        while x < w:
            bw, top = int(rng.integers(w // 14, w // 5)), int(rng.uniform(0.1, 0.55) * h)
            bw = min(bw, w - x)
            wall = _jitter((0.05, 0.05, 0.07) if night else (0.55, 0.52, 0.48), rng, 0.08)
            img[top:, x:x + bw] = _textured(wall, tex[top:, x:x + bw], 0.2)
            win = rng.random(((h - top) // 6 + 1, bw // 5 + 1)) < (0.35 if night else 0.9)
            cells = np.kron(win, np.ones((6, 5)))[: h - top, :bw].astype(bool)
            grid = (np.arange(h - top)[:, None] % 6 > 1) & (np.arange(bw)[None, :] % 5 > 0)
            lit = np.asarray(LIGHTS[int(rng.integers(2))], np.float32) if night else np.float32((0.2, 0.25, 0.3))
            img[top:, x:x + bw][cells & grid] = lit * rng.uniform(0.6, 1.0)
            x += bw + int(rng.integers(0, w // 30 + 1))
        if night:
            lights = [(rng.uniform(0, 1), rng.uniform(0.55, 1), rng.uniform(0.02, 0.06), LIGHTS[int(rng.integers(6))],
                       rng.normal(0, 0.04), 0.0) for _ in range(int(rng.integers(3, 8)))]
    elif scene == "interior":
        wall = _jitter((0.62, 0.5, 0.38), rng, 0.1)
        img = _textured(wall, tex, 0.15) * _gradient(h, w, (0.8,) * 3, (0.5,) * 3)
        floor = int(rng.uniform(0.65, 0.8) * h)
        img[floor:] = _textured(_jitter((0.35, 0.22, 0.12), rng), pink_noise(h - floor, w, rng, 2, 5), 0.3)
        x0, y0 = int(rng.uniform(0.1, 0.6) * w), int(rng.uniform(0.1, 0.3) * h)
        img[y0:y0 + h // 3, x0:x0 + w // 4] = _jitter(SKY["day"][1], rng) * 1.1  # a window
        for _ in range(int(rng.integers(2, 5))):  # furniture
            fw, fh = int(rng.uniform(0.08, 0.25) * w), int(rng.uniform(0.1, 0.3) * h)
            fx = int(rng.uniform(0, 1) * (w - fw))
            img[floor - fh:floor, fx:fx + fw] = _textured(_jitter((0.25, 0.18, 0.12), rng, 0.1), tex[:fh, :fw], 0.2)
        lights = [(rng.uniform(0.1, 0.9), rng.uniform(0.2, 0.5), rng.uniform(0.08, 0.15), LIGHTS[1], 0.0, 0.0)]
    elif scene == "concert":
        img = _textured(np.float32((0.02, 0.02, 0.03)), tex, 0.5)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        for _ in range(int(rng.integers(3, 7))):  # beams from the rig, in haze
            sx, ang, spread = rng.uniform(0, w), rng.uniform(-0.6, 0.6), rng.uniform(0.05, 0.15)
            d = np.abs(np.arctan2(xx - sx, yy + 1) - ang)
            beam = np.exp(-(d / spread) ** 2) * (0.4 + 0.6 * tex)
            img += beam[..., None] * np.asarray(LIGHTS[int(rng.integers(2, 6))], np.float32) * 0.6
        stage = int(0.8 * h)
        img[stage:] *= 0.3
        lights = [(rng.uniform(0, 1), rng.uniform(0, 0.3), rng.uniform(0.03, 0.08), LIGHTS[int(rng.integers(6))],
                   rng.normal(0, 0.1), 0.0) for _ in range(int(rng.integers(2, 6)))]
    elif scene == "studio":
        img = _textured(_jitter((0.7, 0.7, 0.7), rng, 0.1), pink_noise(h, w, rng, 3.0), 0.1)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        for _ in range(int(rng.integers(1, 4))):  # objects on the sweep
            cx, cy, r = rng.uniform(0.2, 0.8) * w, rng.uniform(0.5, 0.8) * h, rng.uniform(0.06, 0.18) * h
            inside = ((xx - cx) ** 2 + ((yy - cy) * 1.3) ** 2) < r**2
            img[inside] = _textured(_jitter(LIGHTS[int(rng.integers(6))], rng, 0.2) * 0.7, tex, 0.3)[inside]
    elif scene == "bokeh":
        img = _textured(_jitter((0.08, 0.06, 0.1), rng, 0.05), pink_noise(h, w, rng, 4.0), 0.6)
        lights = [(rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.04, 0.12), LIGHTS[int(rng.integers(6))],
                   rng.normal(0, 0.03), rng.normal(0, 0.02)) for _ in range(int(rng.integers(5, 12)))]
    else:
        raise ValueError(f"unknown scene {scene!r}")
    return np.clip(img, 0, 1).astype(np.float32), lights


@dataclass(frozen=True)
class Shot:
    start: float        # seconds in the clip
    end: float
    scene: str
    energy: float       # the section's energy at the shot's start
    seed: int
    dissolve: float     # seconds of crossfade from the previous shot (0: a hard cut)


def plan_shots(spec: TrackSpec, offset: float, seconds: float, look: Look, styles: tuple[str, ...],
               rng: np.random.Generator) -> list[Shot]:
    """The edit of a clip that uses the track from ``offset`` for ``seconds``: cuts on the
    beat grid (most exactly on a beat, the rest off by a fraction of a beat or anywhere),
    shots shorter in energetic sections and for fast-paced styles, some long ones, most
    section changes cut."""
    beat = spec.beat_seconds
    bounds = {round(s.start_bar * spec.bar_seconds - offset, 3) for s in spec.sections[1:]}
    shots: list[Shot] = []
    t = 0.0
    while t < seconds - 0.5:
        sec = spec.section_at(offset + t)
        want = 4.0 / (look.pace * (0.5 + sec.energy))  # beats per shot
        want *= float(rng.choice([0.5, 1, 1, 2, 2, 4])) if rng.random() < 0.7 else 1.0
        if rng.random() < 0.08:
            want = max(want, rng.uniform(8, 20) / beat)  # a long take
        n_beats = max(1, int(round(want)))
        end = (np.floor((offset + t) / beat + 1e-6) + n_beats) * beat - offset
        nxt = [b for b in bounds if t + 0.5 < b < end]
        if nxt and rng.random() < 0.8:
            end = min(nxt)  # cut at the section change
        r = rng.random()
        if r > look.on_beat:  # off the beat: a little (late/early) or anywhere
            end += rng.normal(0, 0.25 * beat) if r < look.on_beat + 0.6 * (1 - look.on_beat) \
                else rng.uniform(-0.5, 0.5) * beat
        end = float(np.clip(end, t + 0.5, seconds))
        if seconds - end < 0.5:
            end = seconds
        pool = look.scenes if rng.random() > 1 / 7 else LOOKS[str(rng.choice(styles))].scenes
        dissolve = float(rng.uniform(0.3, 1.0)) if shots and rng.random() < 0.08 else 0.0
        shots.append(Shot(round(t, 4), round(end, 4), str(rng.choice(pool)), sec.energy,
                          int(rng.integers(2**31)), dissolve))
        t = end
    return shots


class _ShotRenderer:
    """One shot's plate, its camera path and its lights: :meth:`frame` at a time in the shot."""

    MARGIN = 1.5  # the plate is this much larger than the frame: room to pan and zoom

    def __init__(self, shot: Shot, size: tuple[int, int], look: Look, tempo: float) -> None:
        self.shot, self.w, self.h = shot, size[0], size[1]
        rng = np.random.default_rng(shot.seed)
        self.ph, self.pw = int(self.h * self.MARGIN), int(self.w * self.MARGIN)
        pl, self.lights = plate(shot.scene, self.ph, self.pw, rng)
        self.image = Image.fromarray((pl * 255 + 0.5).astype(np.uint8))  # PIL frames it (bilinear, in C)
        speed = look.camera * (0.4 + 0.9 * shot.energy) * (tempo / 110.0) ** 0.5
        dur = max(0.5, shot.end - shot.start)
        self.z0 = rng.uniform(0.72, 0.95)  # crop of the plate (1: all of it)
        self.z1 = float(np.clip(self.z0 * (1 + rng.choice([-1, 1]) * min(0.25, 0.04 * speed * dur)), 0.6, 1.0))
        room = 1 - max(self.z0, self.z1)
        a = rng.uniform(0, room, 2)
        d = rng.normal(0, 1, 2)
        self.p0 = a
        self.p1 = np.clip(a + d / (np.linalg.norm(d) + 1e-9) * min(room, 0.05 * speed * dur), 0, room)
        self.shake = look.shake * (0.5 + shot.energy)
        self.phase = rng.uniform(0, 2 * np.pi, 4)
        self.dur = dur

    def frame(self, t: float) -> np.ndarray:
        """float32 RGB [h, w, 3]: the plate framed at time ``t`` (seconds into the shot)."""
        u = min(1.0, max(0.0, t / self.dur))
        u = u * u * (3 - 2 * u) * 0.3 + 0.7 * u  # eased a little at the ends
        z = self.z0 + (self.z1 - self.z0) * u
        px, py = self.p0 + (self.p1 - self.p0) * u
        if self.shake:
            ph = self.phase
            px += self.shake * (np.sin(2.1 * t + ph[0]) + 0.5 * np.sin(5.3 * t + ph[1]))
            py += self.shake * (np.sin(1.7 * t + ph[2]) + 0.5 * np.sin(4.1 * t + ph[3]))
        room = 1 - z
        px, py = float(np.clip(px, 0, room)), float(np.clip(py, 0, room))
        sx, sy = z * (self.pw - 1) / self.w, z * (self.ph - 1) / self.h  # plate pixels per frame pixel
        out = self.image.transform((self.w, self.h), Image.Transform.AFFINE,
                                   (sx, 0.0, px * (self.pw - 1), 0.0, sy, py * (self.ph - 1)),
                                   resample=Image.Resampling.BILINEAR)
        img = np.asarray(out, np.float32) * np.float32(1 / 255)               # [h, w, 3]
        if self.lights:  # gaussian glows, all at once: (Gy * rgb) @ Gx per channel
            L = np.asarray([(lx + vx * t, ly + vy * t) for lx, ly, _, _, vx, vy in self.lights]) % 1.0  # [n, 2]
            rad = np.asarray([light[2] for light in self.lights]) * self.h / z                       # [n]
            cx, cy = (L[:, 0] - px) / z * self.w, (L[:, 1] - py) / z * self.h
            gx = np.exp(-((np.arange(self.w)[None, :] - cx[:, None]) / rad[:, None]) ** 2)           # [n, w]
            gy = np.exp(-((np.arange(self.h)[:, None] - cy[None, :]) / rad[None, :]) ** 2)           # [h, n]
            rgb = np.asarray([light[3] for light in self.lights])                                    # [n, 3]
            glow = np.stack([(gy * (0.8 * rgb[:, c])) @ gx for c in range(3)], axis=-1)              # [h, w, 3]
            img += glow.astype(np.float32)
        return img


def _grade(look: Look, rng: np.random.Generator) -> tuple[np.ndarray, float, float, float]:
    """Per clip: a colour gain (temperature and tint), contrast, saturation and grain."""
    temp = look.temp + rng.normal(0, 0.05)
    tint = rng.normal(0, 0.02)
    gain = np.float32((1 + temp, 1 + tint, 1 - temp))
    return gain, look.contrast * rng.uniform(0.9, 1.1), look.saturation * rng.uniform(0.85, 1.15), \
        look.grain * rng.uniform(0.6, 1.4)


def render_starter_frames(spec: TrackSpec, audio: np.ndarray, sr: int, offset: float, seconds: float,
                          size: tuple[int, int], fps: float, look: Look, shots: list[Shot],
                          rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """uint8 YUV 4:2:0 planes (Y [h, w], U and V [h/2, w/2], BT.601) of the clip, frame by
    frame; ``audio`` float32 [2, n] is the clip's soundtrack (from ``offset``)."""
    w, h = size
    frames = int(round(seconds * fps))
    env = loudness_envelope(audio, sr, fps, frames)
    gain, contrast, sat, grain = _grade(look, rng)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    vignette = (1 - 0.35 * (((xx / w - 0.5) * 1.6) ** 2 + ((yy / h - 0.5) * 1.6) ** 2))[..., None]
    fade_in = rng.uniform(0.3, 1.5) if rng.random() < 0.3 else 0.0
    fade_out = rng.uniform(0.5, 2.0) if rng.random() < 0.5 else 0.0
    pulse = look.pace > 1.0  # stages and clubs flash on the beat
    cache: dict[int, _ShotRenderer] = {}
    k = 0
    for i in range(frames):
        t = i / fps
        while k + 1 < len(shots) and t >= shots[k + 1].start:
            k += 1
        for j in [j for j in cache if j < k - 1]:
            del cache[j]
        shot = shots[k]
        if k not in cache:
            cache[k] = _ShotRenderer(shot, size, look, spec.bpm)
        img = cache[k].frame(t - shot.start)
        if shot.dissolve and k > 0 and t - shot.start < shot.dissolve:
            if k - 1 not in cache:
                cache[k - 1] = _ShotRenderer(shots[k - 1], size, look, spec.bpm)
            a = (t - shot.start) / shot.dissolve
            img = a * img + (1 - a) * cache[k - 1].frame(t - shots[k - 1].start)
        since = ((offset + t) % spec.beat_seconds)
        expo = (0.55 + 0.6 * shot.energy) * (0.92 + 0.16 * env[i])
        if pulse and shot.scene in ("concert", "city_night", "bokeh"):
            expo *= 1 + 0.35 * shot.energy * np.exp(-since / 0.12)
        if fade_in and t < fade_in:
            expo *= t / fade_in
        if fade_out and seconds - t < fade_out:
            expo *= max(0.0, (seconds - t) / fade_out)
        img = img * (gain * expo)
        luma = img @ np.float32((0.299, 0.587, 0.114))
        img = luma[..., None] + (sat * (0.75 + 0.5 * shot.energy)) * (img - luma[..., None])
        img = (img - 0.45) * contrast + 0.45
        img = img * vignette + grain * rng.standard_normal((h, w, 1), dtype=np.float32)
        yield _planes(np.clip(img, 0, 1))


def _planes(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float RGB [h, w, 3] in [0, 1] -> uint8 Y [h, w], U, V [h/2, w/2] (chroma averaged 2x2)."""
    yp = np.clip(rgb @ _YUV[0] + _YUV_OFFSET[0], 0, 255).astype(np.uint8)
    h, w = rgb.shape[:2]
    half = rgb[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    uv = np.clip(half @ _YUV[1:].T + _YUV_OFFSET[1:], 0, 255).astype(np.uint8)
    return yp, np.ascontiguousarray(uv[..., 0]), np.ascontiguousarray(uv[..., 1])
