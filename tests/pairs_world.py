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
SEGMENTS = 12


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


def build_trained_world(root: Path) -> dict:
    """The whole pipeline on the pairs world: songs in ``music/``, videos in ``footage/``,
    an excerpt of pair 2 from its 4th segment in ``queries/``, a feature dataset, a small
    MVPt trained on it (seconds), and a session whose library has both folders indexed.
    Returns {"session", "music", "footage", "queries", "root", "checkpoint"}."""
    import json

    import torch

    from engine.features.registry import create_extractor
    from engine.jobs import run
    from engine.media.grid import SegmentGrid
    from engine.media.probe import probe
    from engine.session import EngineSession
    from engine.settings import EngineSettings
    from training.train import TrainConfig, train

    music, footage, queries, data = root / "music", root / "footage", root / "queries", root / "dataset"
    music.mkdir(parents=True, exist_ok=True)
    footage.mkdir(parents=True, exist_ok=True)
    for p in range(PAIRS):
        video, song = write_pair(root / "pairs", p, SEGMENTS)
        song.rename(music / song.name)
        video.rename(footage / video.name)
    write_pair(queries, 2, SEGMENTS, start_segment=3, name="excerpt_2")
    # the feature dataset (the README's interchange format), from the real extractors
    vis, mus = create_extractor("classic"), create_extractor("classic-music")
    (data / "items").mkdir(parents=True)
    ids = []
    for p in range(PAIRS):
        video = footage / f"video_{p}.mp4"
        grid = SegmentGrid(probe(video).duration, SEG)
        v = run(vis.extract(video, grid))
        m = run(mus.extract(video, grid))  # the soundtrack of the music video
        np.savez(data / "items" / f"pair{p}.npz", visual=v, music=m)
        np.savez(data / "items" / f"val{p}.npz", visual=v, music=m)  # splits are disjoint by id
        ids.append(f"pair{p}")
    (data / "manifest.json").write_text(json.dumps({
        "format": "mvpt-features", "version": 1, "segment_seconds": SEG,
        "splits": {"train": ids, "val": [i.replace("pair", "val") for i in ids], "test": []},
        "extractors": {"visual": {"id": vis.id, "dim": vis.dim}, "music": {"id": mus.id, "dim": mus.dim}}}))
    torch.manual_seed(0)
    cfg = TrainConfig(data=str(data), out=str(root / "run"), epochs=40, batch_size=PAIRS, lr=2e-3,
                      seq_len=SEGMENTS, d_model=64, n_layers=2, n_heads=4, ff_dim=128, out_dim=64,
                      dropout=0.0, device="cpu", threads=2, val_pool=100, warmup_epochs=5)
    result = run(train(cfg))
    checkpoint = str(result.run / "best")
    settings = EngineSettings(checkpoint=checkpoint, data_dir=str(root / "appdata"), device="cpu")
    session = EngineSession(settings)
    lib = session.library
    run(lib.scan(music, "music", music_extractor_name="classic-music", segment_seconds=SEG, workers=1))
    run(lib.scan(footage, "footage", visual_extractor_name="classic", segment_seconds=SEG, workers=1))
    run(lib.embed(session.model, "music", session.checkpoint_id))
    run(lib.embed(session.model, "footage", session.checkpoint_id))
    return {"session": session, "music": music, "footage": footage, "queries": queries, "root": root,
            "checkpoint": checkpoint}
