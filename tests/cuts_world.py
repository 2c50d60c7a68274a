"""Footage with known edits, for tests/test_rhythm_video.py and bench/cuts.py.

Shots are crops of a large textured picture (octaves of smooth noise, hard-edged blocks,
a tint per shot) with a moving camera (the crop pans steadily over the picture tiled with
its mirror image),
film grain, and a libx264 encode. Between shots: hard cuts, fades through black and
dissolves (linear blends); inside shots: flashes (a few frames washed towards white that
return to the same shot) and fast pans (no cut). The truth is known to the frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from training.synthmedia import write_video

WORLD_VERSION = 2
"""Changes whenever the pictures would (benchmarks cache their files under it)."""


@dataclass(frozen=True)
class Shot:
    frames: int
    """Frames shown in full (transitions add to it)."""
    seed: int
    pan: tuple[float, float] = (1.0, 0.3)
    """Camera speed (vx, vy) in output pixels per frame."""
    flashes: tuple[int, ...] = ()
    """Local frame indices where a 2-frame flash starts."""


@dataclass(frozen=True)
class Edit:
    kind: str
    """"cut", "fade" (through black) or "dissolve"."""
    frames: int = 0
    """Length of a fade (out + in) or a dissolve, in frames."""


@dataclass
class Footage:
    shots: list[Shot]
    edits: list[Edit]
    size: tuple[int, int] = (160, 90)
    fps: float = 25.0
    grain: float = 3.0
    cuts: list[int] = field(default_factory=list)
    """Frame index of the first frame of each new shot after a hard cut."""
    transitions: list[tuple[int, int, str]] = field(default_factory=list)
    """(first frame of the transition, first frame after it, kind)."""
    flashes: list[int] = field(default_factory=list)
    """Global frame index of each flash."""
    transition_shots: list[tuple[int, int]] = field(default_factory=list)
    """(outgoing shot, incoming shot) of each transition, in the order of ``transitions``."""

    def __post_init__(self) -> None:
        assert len(self.edits) == len(self.shots) - 1
        w, h = self.size
        self._tex = [_texture(s.seed, w, h) for s in self.shots]
        rng = np.random.default_rng(7)
        self._grain = [rng.normal(0, self.grain, (h, w, 1)).astype(np.float32) for _ in range(6)]
        # Timeline: per output frame, a list of (shot, local frame, weight) layers and a flash.
        self._recipe: list[tuple[list[tuple[int, int, float]], bool]] = []
        k_start = 0  # local frame where the current shot starts being shown in full
        for s, shot in enumerate(self.shots):
            flash_set = set(shot.flashes)
            k_end = k_start + shot.frames  # shown in full for `frames` frames
            for k in range(k_start, k_end):
                if k in flash_set or (k - 1) in flash_set:
                    if k in flash_set:
                        self.flashes.append(len(self._recipe))
                    self._recipe.append(([(s, k, 1.0)], True))
                else:
                    self._recipe.append(([(s, k, 1.0)], False))
            if s == len(self.edits):
                break
            e, nxt = self.edits[s], s + 1
            i0 = len(self._recipe)
            if e.kind == "cut":
                self.cuts.append(i0)
                k_start = 0
            elif e.kind == "fade":
                n_out = e.frames // 2
                n_in = e.frames - n_out
                for j in range(n_out):  # 1 -> 0 (the last is black)
                    self._recipe.append(([(s, k_end + j, 1.0 - (j + 1) / n_out)], False))
                for j in range(n_in):  # 0 -> 1 (not reaching 1)
                    self._recipe.append(([(nxt, j, j / n_in)], False))
                k_start = n_in
                self.transitions.append((i0, len(self._recipe), "fade"))
                self.transition_shots.append((s, nxt))
            elif e.kind == "dissolve":
                for j in range(e.frames):
                    a = (j + 1) / (e.frames + 1)
                    self._recipe.append(([(s, k_end + j, 1.0 - a), (nxt, j, a)], False))
                k_start = e.frames
                self.transitions.append((i0, len(self._recipe), "dissolve"))
                self.transition_shots.append((s, nxt))
            else:
                raise ValueError(e.kind)

    def __len__(self) -> int:
        return len(self._recipe)

    @property
    def duration(self) -> float:
        return len(self) / self.fps

    def _shot_frame(self, s: int, k: int) -> np.ndarray:
        tex = self._tex[s]
        w, h = self.size
        vx, vy = self.shots[s].pan
        rows = _mirrored(3 + vy * k, h, tex.shape[0])
        cols = _mirrored(5 + vx * k, w, tex.shape[1])
        return tex[np.ix_(rows, cols)].astype(np.float32)

    def frame(self, i: int) -> np.ndarray:
        """uint8 [h, w, 3] picture of output frame ``i``."""
        layers, flash = self._recipe[i]
        img = sum(wt * self._shot_frame(s, k) for s, k, wt in layers)
        img = img + self._grain[i % len(self._grain)] * max(wt for _, _, wt in layers)
        if flash:
            img = img + 0.8 * (255.0 - img)
        return np.clip(img, 0, 255).astype(np.uint8)

    def write(self, path: str | Path, *, crf: int = 23, preset: str = "ultrafast", **kw) -> Path:
        return write_video(path, len(self) / self.fps, size=self.size, fps=self.fps, frames_fn=self.frame,
                           audio=False, crf=crf, preset=preset, **kw)

    def fast(self, shot: int, per_frame: float = 0.02) -> bool:
        """True when the camera of ``shot`` moves more than ``per_frame`` of the width per frame."""
        return float(np.hypot(*self.shots[shot].pan)) > per_frame * self.size[0]

    def cut_times(self) -> np.ndarray:
        return np.array(self.cuts, np.float64) / self.fps

    def transition_times(self) -> list[tuple[float, float, str]]:
        return [(a / self.fps, b / self.fps, kind) for a, b, kind in self.transitions]


def _mirrored(pos: float, n: int, size: int) -> np.ndarray:
    """Indices of ``n`` pixels from ``pos`` in the picture tiled with its mirror image (period
    2 x size): the camera keeps moving one way however far it pans."""
    m = (int(round(pos)) + np.arange(n)) % (2 * size)
    return np.where(m < size, m, 2 * size - 1 - m)


def _texture(seed: int, w: int, h: int) -> np.ndarray:
    """uint8 [~1.6h, ~2.5w, 3]: octaves of smooth noise, some hard blocks, a tint."""
    rng = np.random.default_rng(seed)
    big_w, big_h = int(w * 2.5), int(h * 1.6)
    acc = np.zeros((big_h, big_w, 3), np.float32)
    for cells, amp in ((3, 1.0), (8, 0.6), (24, 0.35), (70, 0.2)):
        small = rng.normal(0, 1, (max(2, cells * big_h // big_w), cells, 3)).astype(np.float32)
        for c in range(3):
            im = Image.fromarray(small[..., c], mode="F").resize((big_w, big_h), Image.BICUBIC)
            acc[..., c] += amp * np.asarray(im)
    acc = acc / (acc.std() + 1e-6)
    for _ in range(12):  # hard-edged blocks: edges for motion, structure for the eye
        bw, bh = rng.integers(big_w // 20, big_w // 6), rng.integers(big_h // 15, big_h // 4)
        x, y = rng.integers(0, big_w - bw), rng.integers(0, big_h - bh)
        acc[y:y + bh, x:x + bw] += rng.normal(0, 1.5, 3).astype(np.float32)
    mix = rng.normal(0, 1, (3, 3)).astype(np.float32) * 0.5 + np.eye(3, dtype=np.float32)
    base = rng.uniform(80, 180) + rng.normal(0, 20, 3)
    img = base + 50.0 * (acc @ mix.T) / 1.5
    return np.clip(img, 0, 255).astype(np.uint8)


def standard(fps: float = 25.0, size: tuple[int, int] = (160, 90), scale: float = 1.0) -> Footage:
    """The test reel: 12 shots, 7 hard cuts, 2 fades, 2 dissolves, 2 flashes, a fast pan.

    ``scale`` stretches every shot and transition in time (bench: longer reels)."""
    f = lambda sec: max(2, int(round(sec * fps * scale)))  # noqa: E731
    shots = [
        Shot(f(1.6), 1),
        Shot(f(1.2), 2, pan=(0.0, 0.0)),                        # static camera
        Shot(f(2.0), 3, pan=(size[0] * 0.06, 0.5), flashes=(f(0.8),)),  # fast pan + a flash
        Shot(f(1.0), 4, pan=(-1.5, 0.0)),
        Shot(f(1.4), 5),
        Shot(f(0.8), 6, pan=(0.5, -0.5)),
        Shot(f(1.6), 7, flashes=(f(0.6),)),
        Shot(f(1.2), 8, pan=(2.0, 1.0)),
        Shot(f(1.0), 9),
        Shot(f(1.5), 10, pan=(-1.0, 0.5)),
        Shot(f(1.2), 11, pan=(size[0] * 0.04, 0.0)),
        Shot(f(1.5), 12),
    ]
    edits = [Edit("cut"), Edit("cut"), Edit("fade", f(0.8)), Edit("cut"), Edit("dissolve", f(0.6)),
             Edit("cut"), Edit("cut"), Edit("dissolve", f(1.2)), Edit("cut"), Edit("fade", f(1.2)),
             Edit("cut")]
    return Footage(shots, edits, size=size, fps=fps)


def random_reel(seed: int, shots: int = 16, fps: float = 25.0, size: tuple[int, int] = (160, 90)) -> Footage:
    """A reel with random shot lengths (0.6-3 s), cameras (still, slow, fast pans), edits
    (70 % cuts, 15 % fades 0.4-1.6 s, 15 % dissolves 0.3-2 s) and flashes (1 shot in 5)."""
    rng = np.random.default_rng(seed)
    w = size[0]
    out_shots, edits = [], []
    for k in range(shots):
        kind = rng.choice(["still", "slow", "fast"], p=[0.2, 0.6, 0.2])
        speed = {"still": 0.0, "slow": rng.uniform(0.3, 2.5), "fast": rng.uniform(0.03, 0.08) * w}[kind]
        ang = rng.uniform(0, 2 * np.pi)
        n = int(rng.uniform(0.6, 3.0) * fps)
        flashes = (int(rng.integers(3, max(4, n - 3))),) if rng.random() < 0.2 and n > 12 else ()
        out_shots.append(Shot(n, 1000 * seed + k, pan=(speed * np.cos(ang), speed * np.sin(ang)), flashes=flashes))
        if k < shots - 1:
            e = rng.choice(["cut", "fade", "dissolve"], p=[0.7, 0.15, 0.15])
            if e == "fade":
                edits.append(Edit("fade", int(rng.uniform(0.4, 1.6) * fps)))
            elif e == "dissolve":
                edits.append(Edit("dissolve", int(rng.uniform(0.3, 2.0) * fps)))
            else:
                edits.append(Edit("cut"))
    return Footage(out_shots, edits, size=size, fps=fps)
