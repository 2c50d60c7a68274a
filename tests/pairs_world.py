"""A tiny world of music videos with known answers, for end-to-end tests of the recommender.

Pair p has a colour (hue) that goes with a pitch, and a sequence of states, one per 2 s
segment; a state is brightness in the picture and loudness + pulse rate in the music. So a
segment's picture says which song (by colour) and which part of it (by state).
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np

from training.synthmedia import write_audio, write_video

SEG = 2.0
FPS = 10
SR = 22050
SIZE = (96, 54)
PAIRS = 6
HUES = [0.0, 0.16, 0.33, 0.5, 0.66, 0.83]
PITCHES = [196.0, 261.6, 329.6, 392.0, 493.9, 659.3]


def states(p: int, n: int, seed: int = 0) -> list[int]:
    rng = np.random.default_rng(1000 * seed + p)
    return [int(x) for x in rng.integers(0, 3, n)]


def picture(p: int, state: int, i: int) -> np.ndarray:
    r, g, b = colorsys.hsv_to_rgb(HUES[p], 0.85, 0.25 + 0.35 * state)
    w, h = SIZE
    img = np.empty((h, w, 3), np.float32)
    img[:] = (r, g, b)
    x = (i * (2 + 3 * state)) % w  # a bar moving faster in livelier states
    img[:, x:x + 6] *= 0.5
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def sound(p: int, seq: list[int]) -> np.ndarray:
    out = []
    for s in seq:
        t = np.arange(int(SEG * SR)) / SR
        pulse = 0.5 + 0.5 * (np.sin(2 * np.pi * (1.0 + 2.0 * s) * t) > 0)
        tone = np.sin(2 * np.pi * PITCHES[p] * t) + 0.3 * np.sin(2 * np.pi * 2 * PITCHES[p] * t)
        out.append((0.08 + 0.12 * s) * pulse * tone)
    x = np.concatenate(out).astype(np.float32)
    return np.stack([x, x])


def write_pair(folder: Path, p: int, segments: int, start_segment: int = 0, seed: int = 0,
               with_video: bool = True, name: str | None = None) -> tuple[Path | None, Path]:
    """Write ``song_p.wav`` (the whole song) and ``video_p.mp4`` (its segments from
    ``start_segment`` on, with that part of the song as soundtrack)."""
    folder.mkdir(parents=True, exist_ok=True)
    seq = states(p, segments, seed)
    song = write_audio(folder / f"{name or f'song_{p}'}.wav", sound(p, seq), sample_rate=SR,
                       tags={"title": f"Song {p}", "artist": "Pairs"})
    video = None
    if with_video:
        part = seq[start_segment:]
        frames_per_seg = int(SEG * FPS)

        def frame(i: int) -> np.ndarray:
            return picture(p, part[min(i // frames_per_seg, len(part) - 1)], i)

        video = folder / f"{name or f'video_{p}'}.mp4"
        write_video(video, len(part) * SEG, size=SIZE, fps=FPS, gop=FPS, frames_fn=frame, audio=False)
        # put the matching part of the song under it, as a music video would have
        from engine.jobs import run
        from engine.media.writer import SoundtrackSpec, write_with_soundtrack

        run(write_with_soundtrack(video, SoundtrackSpec(str(song), music_offset=start_segment * SEG,
                                                        fade_in=0, fade_out=0), video))
    return video, song
