"""A synthetic music-video benchmark whose correspondences *require* temporal context.

Generative story (all draws seeded, numpy only)
-----------------------------------------------
A "music video" ``i`` of ``T_i`` segments (12..48, ~30 on average, like 3-4 minute videos cut
at t = 6.7 s) is generated from latent variables that the two modalities share, seen through
two different fixed random non-linear "base-feature" maps, plus nuisance that they do not
share:

1. **Genre and style.** The video belongs to one of ``G`` genres; its style ``z_i`` is the
   genre centroid plus individual variation (the artist's look and sound).
2. **Song structure.** The song is a sequence of sections (intro, verse, chorus, ...): ``K``
   section types, a genre-dependent preference over them, lengths of 1-8 segments. The editor
   cuts the video to the music, so section boundaries are the same in both modalities.
3. **Section instances.** Each section of this video has its own latent ``c_{i,k}`` = type
   prototype + instance variation (this chorus of this song, and what is on screen during it),
   shared by both modalities and constant over the section.
4. **Segment events.** Each segment has a small event vector ``e_{i,t}`` (a drop in the music
   and the flash cut that goes with it), shared by both modalities, new in every segment.
5. **Observation.** visual ``x^v_{i,t} = F_v(z_i, c_{i,k(t)}, e_{i,t}) + n^v_i + σ ε`` and
   music ``x^m_{i,t} = F_m(...) + n^m_i + σ ε'`` where ``F_v``, ``F_m`` are different random
   two-layer tanh networks (the frozen base-feature models), ``n^v_i``, ``n^m_i`` are
   per-video offsets that exist in one modality only and are constant over the video
   (colour grade, camera; mix and mastering), and ``ε`` is per-segment noise (shots,
   instrumentation).

Why context is required
-----------------------
- One segment alone is ambiguous: its shared signal is weak against the per-segment noise
  and against the video's own offset ``n_i``, and dozens of segments in any pool share its
  genre and section type.
- Averaging features over the track (the track-level baseline) does not help: the offset
  ``n_i`` does not average out, it is constant over the video and unrelated across modalities.
- With the sequence, the shared latents become legible: ``c`` repeats over the segments of a
  section (so it can be averaged), the offset is the same in every segment (so comparing a
  segment with its context cancels it), and the pattern of sections and their boundaries is
  a signature of the video that both modalities share.

A contextual model (MVPt) can therefore match far better than per-segment or track-mean MLPs,
at segment and at track level. Sizes: ``--videos 64`` for tests, ``--videos 2000`` (the
default) for the benchmark of ``docs/training.md``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from engine.atomic import atomic_path, atomic_write_text
from engine.jobs import CancelCheck, Job, Progress, check_cancel

SYNTH_VISUAL_ID = "synth:visual:v1"
SYNTH_MUSIC_ID = "synth:music:v1"


@dataclass(frozen=True)
class SynthConfig:
    videos: int = 2000              # music videos to generate
    seed: int = 0                   # everything below is drawn from this seed
    visual_dim: int = 512           # visual base-feature dim (CLIP-like)
    music_dim: int = 256            # music base-feature dim
    min_segments: int = 12          # shortest video, in segments
    max_segments: int = 48          # longest video, in segments
    genres: int = 10                # G
    section_types: int = 12         # K
    style_dim: int = 16             # dim of z (genre + artist style)
    section_dim: int = 16           # dim of c (section instance)
    event_dim: int = 8              # dim of e (per-segment event)
    style_spread: float = 0.8       # artist variation around the genre centroid
    instance_spread: float = 0.9    # section-instance variation around the type prototype
    style_gain: float = 0.6         # how strongly z, c, e drive the features
    section_gain: float = 1.0
    event_gain: float = 0.8
    offset_scale: float = 1.0       # per-video, per-modality offset n_i (not shared)
    noise: float = 4.0              # per-segment noise σ
    segment_seconds: float = 6.7    # recorded in the manifest
    val_fraction: float = 0.1
    test_fraction: float = 0.1


class _RandomMap:
    """A fixed random two-layer tanh network: the stand-in for a frozen base-feature model."""

    def __init__(self, rng: np.random.Generator, d_in: int, d_out: int, hidden: int = 256) -> None:
        self.w1 = rng.normal(0, 1 / np.sqrt(d_in), (d_in, hidden)).astype(np.float32)
        self.b1 = rng.normal(0, 0.3, hidden).astype(np.float32)
        self.w2 = rng.normal(0, 1 / np.sqrt(hidden * 0.4), (hidden, d_out)).astype(np.float32)

    def __call__(self, u: np.ndarray) -> np.ndarray:
        return np.tanh(u @ self.w1 + 1.5 * self.b1) @ self.w2


@dataclass
class SynthVideo:
    visual: np.ndarray      # (T, Dv) float32
    music: np.ndarray       # (T, Dm) float32
    genre: int
    sections: np.ndarray    # (T,) section type of each segment
    boundaries: np.ndarray  # (T,) 1 where a new section starts


class SynthWorld:
    """The fixed parts of the story (maps, genres, prototypes), shared by every video."""

    def __init__(self, cfg: SynthConfig) -> None:
        self.cfg = cfg
        rng = np.random.default_rng([cfg.seed, 1])
        d_lat = cfg.style_dim + cfg.section_dim + cfg.event_dim
        self.f_visual = _RandomMap(rng, d_lat, cfg.visual_dim)
        self.f_music = _RandomMap(rng, d_lat, cfg.music_dim)
        self.genre_centroids = rng.normal(0, 1, (cfg.genres, cfg.style_dim)).astype(np.float32)
        self.prototypes = rng.normal(0, 1, (cfg.section_types, cfg.section_dim)).astype(np.float32)
        self.genre_pref = rng.dirichlet(np.full(cfg.section_types, 0.5), cfg.genres)  # (G, K)

    def video(self, rng: np.random.Generator) -> SynthVideo:
        cfg = self.cfg
        T = int(rng.integers(cfg.min_segments, cfg.max_segments + 1))
        g = int(rng.integers(cfg.genres))
        z = self.genre_centroids[g] + cfg.style_spread * rng.normal(size=cfg.style_dim)
        types, starts, inst = [], [], []
        t, prev = 0, -1
        while t < T:
            p = self.genre_pref[g].copy()
            if prev >= 0:
                p[prev] = 0.0  # a new section is a different type
            k = int(rng.choice(cfg.section_types, p=p / p.sum()))
            n = min(1 + int(rng.poisson(3.0)), 8, T - t)
            c = self.prototypes[k] + cfg.instance_spread * rng.normal(size=cfg.section_dim)
            types += [k] * n
            starts += [1] + [0] * (n - 1)
            inst += [c] * n
            t, prev = t + n, k
        c_t = np.asarray(inst, dtype=np.float32)                       # (T, section_dim)
        e_t = rng.normal(size=(T, cfg.event_dim)).astype(np.float32)   # (T, event_dim)
        z_t = np.broadcast_to(z, (T, cfg.style_dim))                   # (T, style_dim)
        u = np.concatenate([cfg.style_gain * z_t, cfg.section_gain * c_t, cfg.event_gain * e_t], axis=1)
        visual = self.f_visual(u) + cfg.offset_scale * rng.normal(size=cfg.visual_dim)
        music = self.f_music(u) + cfg.offset_scale * rng.normal(size=cfg.music_dim)
        visual = visual + cfg.noise * rng.normal(size=visual.shape)
        music = music + cfg.noise * rng.normal(size=music.shape)
        return SynthVideo(visual.astype(np.float32), music.astype(np.float32), g,
                          np.asarray(types, dtype=np.int16), np.asarray(starts, dtype=np.int8))


def split_ids(ids: list[str], val_fraction: float, test_fraction: float, seed: int) -> dict[str, list[str]]:
    """Split by video, reproducibly: shuffle the sorted ids with ``seed``."""
    order = sorted(ids)
    np.random.default_rng([seed, 7]).shuffle(order)
    n = len(order)
    # a split asked for gets at least one video (when there are 3); a fraction of 0 gets none
    n_test = max(1, int(round(n * test_fraction))) if n >= 3 and test_fraction > 0 else 0
    n_val = max(1, int(round(n * val_fraction))) if n >= 3 and val_fraction > 0 else 0
    return {"train": sorted(order[n_val + n_test:]), "val": sorted(order[:n_val]),
            "test": sorted(order[n_val:n_val + n_test])}


def generate(out: str | os.PathLike[str], cfg: SynthConfig = SynthConfig(),
             cancel: CancelCheck | None = None) -> Job[Path]:
    """Write the benchmark to ``out`` in the feature-dataset format (see training.dataset)."""
    root = Path(out)
    (root / "items").mkdir(parents=True, exist_ok=True)
    world = SynthWorld(cfg)
    ids = [f"synth{i:05d}" for i in range(cfg.videos)]
    for i, vid in enumerate(ids):
        check_cancel(cancel)
        v = world.video(np.random.default_rng([cfg.seed, 2, i]))
        with atomic_path(root / "items" / f"{vid}.npz", suffix=".npz", fsync=False) as tmp, open(tmp, "wb") as f:
            np.savez(f, visual=v.visual, music=v.music, genre=np.int16(v.genre),
                     sections=v.sections, boundaries=v.boundaries)
        if i % 50 == 0 or i == len(ids) - 1:
            yield Progress("synth", i + 1, len(ids), f"video {i + 1}/{len(ids)}")
    manifest = {
        "format": "mvpt-features", "version": 1, "segment_seconds": cfg.segment_seconds,
        "splits": split_ids(ids, cfg.val_fraction, cfg.test_fraction, cfg.seed),
        "extractors": {"visual": {"id": SYNTH_VISUAL_ID, "dim": cfg.visual_dim},
                       "music": {"id": SYNTH_MUSIC_ID, "dim": cfg.music_dim}},
        "source": {"generator": "training.synth", "config": asdict(cfg)},
    }
    atomic_write_text(root / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return root


def synth_dataset(out: str | os.PathLike[str], videos: int = 2000, seed: int = 0,
                  on_progress: Callable[[Progress], None] | None = None, **overrides) -> Path:
    """Convenience wrapper: generate and return the folder."""
    from engine.jobs import run

    return run(generate(out, SynthConfig(videos=videos, seed=seed, **overrides)), on_progress)
