"""Music videos with a known cue, to check that the analyses see what a model learned.

Every segment of every video has a hidden state s in 0..K-1 (random per segment). In world
``"brightness-tempo"`` the picture shows s by its brightness (its hue is random) and the
music by its pulse rate (its pitch is random); in world ``"hue-pitch"`` the picture shows s
by its hue (brightness random) and the music by its pitch (pulse rate random). A model
trained on one world can only match segments through that world's cues, so:

- brightness x 0.5 should hurt a brightness-tempo model far more than a hue-pitch model;
- hue rotation should hurt the hue-pitch model; tempo x r the brightness-tempo model
  (and not the hue-pitch one, since the stretch keeps the pitch).

Pictures are tiny (64 x 36 by default) and short so a world is written in seconds.
"""

from __future__ import annotations

import colorsys
import json
from pathlib import Path

import av
import numpy as np

from training.synthmedia import encode_audio

WORLDS = ("brightness-tempo", "hue-pitch")
K = 4
BRIGHT = (0.3, 0.5, 0.7, 0.9)           # value (HSV V) per state
HUES = (0.0, 0.25, 0.5, 0.75)           # hue per state
RATES = (1.2, 1.8, 2.7, 4.05)           # pulses per second per state (x 1.5 apart: tempo x 1.5 = next state)
NUISANCE_RATES = (0.6, 6.0)             # pulse range when the pulse is the nuisance (covers x 0.5 .. x 1.5)
PITCHES = (220.0, 311.1, 440.0, 622.3)  # Hz per state (tritones apart: no shared harmonics)
SR = 16000


def states(seed: int, video: int, segments: int) -> np.ndarray:
    return np.random.default_rng([seed, video]).integers(0, K, segments)


def _nuisance(seed: int, video: int, segments: int, stream: int) -> np.ndarray:
    """Uniform [0, 1) per segment: the cue that carries no signal (``stream`` 0 for the
    picture, 1 for the music: independent, so the nuisances do not match each other)."""
    return np.random.default_rng([seed, video, 7, stream]).random(segments)


def frame(world: str, state: int, nuisance: float, i: int, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    if world == "brightness-tempo":
        hue, value = nuisance, BRIGHT[state]
    else:
        hue, value = HUES[state], 0.15 + 0.85 * nuisance  # wide: covers brightness x 0.5 .. x 1.5
    img = np.empty((h, w, 3), np.float32)
    img[:] = colorsys.hsv_to_rgb(hue, 0.8, value)
    x = (3 * i) % w
    img[:, x:x + 5] *= 0.6  # a moving bar, so frames are not flat
    return (img * 255).astype(np.uint8)


def music(world: str, seq: np.ndarray, nuisance: np.ndarray, seconds: float) -> np.ndarray:
    """float32 mono at ``SR``: one piece per segment."""
    out = []
    n = int(round(seconds * SR))
    t = np.arange(n) / SR
    for s, z in zip(seq, nuisance, strict=True):
        if world == "brightness-tempo":
            rate, pitch = RATES[s], PITCHES[int(z * K) % K]
        else:
            lo, hi = NUISANCE_RATES
            rate, pitch = lo * (hi / lo) ** z, PITCHES[s]
        env = np.exp(-(t % (1.0 / rate)) / 0.07)  # a struck note per pulse
        tone = np.sin(2 * np.pi * pitch * t) + 0.4 * np.sin(4 * np.pi * pitch * t)
        out.append(0.25 * env * tone)
    return np.concatenate(out).astype(np.float32)


def write_music_video(path: Path, frames: list[np.ndarray], fps: int, samples: np.ndarray) -> Path:
    """H.264 + AAC MP4 of uint8 frames and float32 mono samples at ``SR``."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=fps, options={"crf": "18", "preset": "ultrafast", "g": str(fps)})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        aus = c.add_stream("aac", rate=SR)
        aus.layout = "mono"
        for i, img in enumerate(frames):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            for pkt in vs.encode(f):
                c.mux(pkt)
        for pkt in vs.encode():
            c.mux(pkt)
        encode_audio(c, aus, samples[None], SR)
    return path


def write_world(out: str | Path, world: str, videos: int = 24, segments: int = 8, segment_seconds: float = 3.0,
                fps: int = 6, size: tuple[int, int] = (64, 36), seed: int = 0) -> Path:
    """Write ``videos`` music videos of ``world`` to ``out`` and ``out/states.json`` (the truth)."""
    if world not in WORLDS:
        raise ValueError(f"world must be one of {WORLDS}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    per_seg = int(round(segment_seconds * fps))
    truth = {}
    for v in range(videos):
        seq = states(seed, v, segments)
        zv, zm = _nuisance(seed, v, segments, 0), _nuisance(seed, v, segments, 1)
        frames = [frame(world, int(seq[i // per_seg]), float(zv[i // per_seg]), i, size)
                  for i in range(segments * per_seg)]
        name = f"{world}_{v:03d}"
        write_music_video(out / f"{name}.mp4", frames, fps, music(world, seq, zm, segment_seconds))
        truth[name] = [int(s) for s in seq]
    (out / "states.json").write_text(json.dumps({"world": world, "states": truth}))
    return out


def labels_by_item(media: str | Path) -> dict[str, list[str]]:
    """Item id (as ``mvpt dataset build`` names it) -> the state of each segment, "state<k>",
    from ``media/states.json``: labels for the attribute matrix."""
    from training.build import find_videos, item_id

    media = Path(media)
    truth = json.loads((media / "states.json").read_text())["states"]
    return {item_id(media, p): [f"state{s}" for s in truth[p.stem]] for p in find_videos(media)}


def build_trained(root: str | Path, world: str, videos: int = 20, segments: int = 8, segment_seconds: float = 3.0,
                  fps: int = 4, epochs: int = 100, seed: int = 0) -> dict[str, Path]:
    """Media -> ``mvpt dataset build`` (classic + classic-music features) -> a tiny MVPt.
    Returns {"media", "data", "run", "labels"} (labels: :func:`labels_by_item` as JSON).
    About 15 s on two busy cores with the defaults."""
    import torch

    from engine.jobs import run
    from training.build import BuildConfig, build_dataset
    from training.train import TrainConfig, train

    root = Path(root)
    media = write_world(root / "media", world, videos=videos, segments=segments, segment_seconds=segment_seconds,
                        fps=fps, seed=seed)
    run(build_dataset(BuildConfig(str(media), str(root / "data"), workers=1, segment_seconds=segment_seconds,
                                  visual="classic", music="classic-music", seed=seed, val_fraction=0.15,
                                  test_fraction=0.3)))
    torch.manual_seed(seed)
    cfg = TrainConfig(data=str(root / "data"), out=str(root / "run"), epochs=epochs, batch_size=8, lr=2e-3,
                      seq_len=segments, d_model=32, n_layers=1, n_heads=2, ff_dim=64, out_dim=32, dropout=0.0,
                      device="cpu", threads=1, val_pool=100, warmup_epochs=2, seed=seed)
    run(train(cfg))
    (root / "labels.json").write_text(json.dumps(labels_by_item(media)))
    return {"media": media, "data": root / "data", "run": root / "run", "labels": root / "labels.json"}


def write_image_set(out: str | Path, world: str, per_class: int = 10, size: tuple[int, int] = (64, 36),
                    seed: int = 0) -> Path:
    """A labelled image set, a folder per state: ``<out>/<cue><k>/*.png`` where the pictures
    show state k by ``world``'s visual cue (brightness or hue) and the other cue at random."""
    from PIL import Image

    out = Path(out)
    cue = "brightness" if world == "brightness-tempo" else "hue"
    rng = np.random.default_rng(seed)
    for s in range(K):
        d = out / f"{cue}{s}"
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = frame(world, s, float(rng.random()), int(rng.integers(0, 64)), size)
            Image.fromarray(img).save(d / f"{i:03d}.png")
    return out
