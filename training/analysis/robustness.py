"""Robustness curves (paper Sec. 5): segment-level R@10 against a perturbation factor r.

For every item of a split of a dataset built from media, the video is decoded again and
perturbed *before* the base features (:mod:`.perturb`, :mod:`.media`): frame brightness x r,
hue rotated by (r - 1) x 180°, or the music's tempo x r (pitch kept). The other modality
keeps its stored features. Retrieval is then evaluated exactly as ``mvpt eval`` does
(:func:`training.evaluate.evaluate`, pools of N, both directions); the curve is the average
of the two directions' segment-level R@10.

The paper (YT8M-MusicVideo, CLIP + DeepSim features): brightness barely matters
(42.37 -> 41.24 at r in {0.7, 1.3}), tempo does (-> 36.96); hue lies between.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.jobs import CancelCheck, Job, Progress, check_cancel

from ..dataset import FeatureStore, Split, open_store
from ..evaluate import chance, evaluate
from .media import AnalysisError, audio_encoder, frame_encoder, media_grid, source_files
from .perturb import KINDS, hue_angle, perturb_frames, stretch_on_grid
from .plots import line_plot
from .report import Report

DEFAULT_FACTORS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5)
PAPER = {"brightness": "42.37 -> 41.24 at r in {0.7, 1.3}", "tempo": "42.37 -> 36.96 at r in {0.7, 1.3}",
         "hue": "more than brightness, not crucial (curve in the paper's Appx. C.3)"}


@dataclass(frozen=True)
class RobustnessConfig:
    checkpoint: str                         # checkpoint folder or run folder
    data: str                               # feature dataset built from media (mvpt dataset build)
    kinds: tuple[str, ...] = KINDS          # brightness, hue, tempo
    factors: tuple[float, ...] = DEFAULT_FACTORS
    split: str = "test"
    media: str | None = None                # the videos' folder, when not where the manifest says
    pool: int = 2000                        # N, as the paper
    pools: int = 5
    seed: int = 0
    seq_len: int | None = None              # L (default: the model's)
    device: str = "cpu"
    max_items: int | None = None            # only the first n items of the split (quick looks)


@dataclass
class RobustnessResult:
    config: dict[str, Any]
    extractors: dict[str, str]              # modality -> extractor id used for the re-extraction
    items: int
    segments: int
    pool: int                               # effective pool size
    pools_used: int                         # pools evaluated (1 when the split is smaller than a pool)
    stored: dict[str, Any]                  # evaluation on the dataset's stored features
    curves: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # kind -> [{"r": r, "avg_R@10": x, "v2m": {...}, "m2v": {...}}] (segment level)

    def r10(self, kind: str) -> dict[float, float]:
        return {row["r"]: row["avg_R@10"] for row in self.curves[kind]}

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)


def _in_memory_split(store: FeatureStore, split: Split, visual: np.ndarray, music: np.ndarray) -> Split:
    """A split whose items are ``visual`` / ``music`` rows, item by item as ``split``'s."""
    lengths = split.lengths().astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    mem = FeatureStore(store.root, store.manifest, split.ids, offsets, lengths, visual, music)
    return Split(mem, split.name, np.arange(len(lengths)))


def robustness(cfg: RobustnessConfig, cancel: CancelCheck | None = None) -> Job[RobustnessResult]:
    """The curves of every kind in ``cfg.kinds`` (a job: progress per video, then per r)."""
    from engine.features.registry import extractor_for_id
    from engine.model.checkpoint import load_checkpoint

    bad = [k for k in cfg.kinds if k not in KINDS]
    if bad:
        raise AnalysisError(f"unknown perturbation {bad[0]!r}; choose from {', '.join(KINDS)}")
    loaded = load_checkpoint(cfg.checkpoint, device=cfg.device)
    store = open_store(cfg.data)
    split = store.split(cfg.split)
    if cfg.max_items is not None:
        split = Split(store, split.name, split.rows[:cfg.max_items])
    if len(split) == 0:
        raise AnalysisError(f"{cfg.data}: the {cfg.split} split is empty")
    ex = store.manifest.get("extractors") or {}
    for mod, want in (("visual", loaded.config.visual_id), ("music", loaded.config.music_id)):
        have = (ex.get(mod) or {}).get("id")
        if have != want:
            raise AnalysisError(f"{cfg.data} holds {mod} features {have!r} but the model was trained on {want!r}")
    files = source_files(cfg.data, store.manifest, cfg.media)
    missing = [i for i in split.ids if i not in files]
    if missing:
        raise AnalysisError(f"{missing[0]} (and {len(missing) - 1} more) of the {cfg.split} split: no such video "
                            "in the source folder; pass --media FOLDER")
    frame_kinds = [k for k in cfg.kinds if k in ("brightness", "hue")]
    venc = frame_encoder(extractor_for_id(loaded.config.visual_id, cfg.device)) if frame_kinds else None
    aenc = audio_encoder(extractor_for_id(loaded.config.music_id, cfg.device)) if "tempo" in cfg.kinds else None
    factors = sorted({float(r) for r in cfg.factors} | {1.0})

    # per (kind, r): the perturbed modality's features, item by item
    parts: dict[tuple[str, float], list[np.ndarray]] = {(k, r): [] for k in cfg.kinds for r in factors}
    yield Progress("robustness", 0, len(split), "re-reading the media")
    for k, iid in enumerate(split.ids):
        check_cancel(cancel)
        path = files[iid]
        grid = media_grid(path, store.segment_seconds)
        T = int(split.lengths()[k])
        if len(grid) != T:
            raise AnalysisError(f"{path}: {len(grid)} segments now, {T} when the dataset was built (file changed?)")
        if venc is not None:
            frames = venc.read(path, grid)
            base = venc.features(frames, lambda f: f)
            for kind in frame_kinds:
                for r in factors:
                    parts[(kind, r)].append(base if r == 1.0 else
                                            venc.features(frames, lambda f, kind=kind, r=r: perturb_frames(kind, f, r)))
            del frames
        if aenc is not None:
            samples = aenc.read(path)
            for r in factors:
                check_cancel(cancel)
                parts[("tempo", r)].append(aenc.features(stretch_on_grid(samples, aenc.sample_rate, grid, r), grid))
        yield Progress("robustness", k + 1, len(split), path.name)

    stored_v = np.concatenate([split.item(k)[0] for k in range(len(split))]).astype(np.float32)
    stored_m = np.concatenate([split.item(k)[1] for k in range(len(split))]).astype(np.float32)
    dev = torch.device(cfg.device)
    with torch.no_grad():
        ref = evaluate(loaded.model, split, pool=cfg.pool, pools=cfg.pools, seed=cfg.seed, L=cfg.seq_len, device=dev)
    result = RobustnessResult(
        config={**asdict(cfg), "kinds": list(cfg.kinds), "factors": factors},
        extractors={"visual": venc.extractor.id if venc else loaded.config.visual_id,
                    "music": aenc.extractor.id if aenc else loaded.config.music_id},
        items=len(split), segments=int(len(stored_v)), pool=int(ref.effective["segment"]),
        pools_used=int(ref.effective["segment_pools"]),
        stored=ref.result["segment"])
    n_eval, done = len(cfg.kinds) * len(factors), 0
    for kind in cfg.kinds:
        rows = []
        for r in factors:
            check_cancel(cancel)
            x = np.concatenate(parts[(kind, r)]).astype(np.float32)
            v, m = (stored_v, x) if kind == "tempo" else (x, stored_m)
            with torch.no_grad():
                rep = evaluate(loaded.model, _in_memory_split(store, split, v, m), pool=cfg.pool, pools=cfg.pools,
                               seed=cfg.seed, L=cfg.seq_len, device=dev)
            seg = rep.result["segment"]
            rows.append({"r": r, "avg_R@10": seg["avg_R@10"], "v2m": seg["v2m"], "m2v": seg["m2v"]})
            done += 1
            yield Progress("evaluate", done, n_eval, f"{kind} x {r:g}")
        result.curves[kind] = rows
    return result


def write_robustness(result: RobustnessResult, out: str | os.PathLike[str]) -> Path:
    """``out/robustness.png``, ``out/robustness.json`` and ``out/robustness.md``; returns the .md."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    series = {kind: ([row["r"] for row in rows], [row["avg_R@10"] for row in rows])
              for kind, rows in result.curves.items()}
    ch = chance(result.pool)["R@10"]
    line_plot(out / "robustness.png", series, "Segment-level R@10 under perturbation", "factor r",
              "avg R@10 (%)", hlines={f"chance (pool {result.pool})": ch,
                                      "stored features": result.stored["avg_R@10"]})
    (out / "robustness.json").write_text(result.to_json() + "\n")
    rep = Report("Robustness: R@10 against brightness, hue and tempo")
    c = result.config
    rep.para(f"Checkpoint `{c['checkpoint']}` on `{c['data']}` [{c['split']}]: {result.items} videos, "
             f"{result.segments} segments; pool {result.pool} x {result.pools_used} pools (the paper: 2000); chance "
             f"R@10 {ch:.2f} %. Stored features: avg R@10 {result.stored['avg_R@10']:.2f} %."
             + (f" Note: the {c['split']} split holds videos the model may have trained on; curves on held-out "
                "videos (test) say more." if c["split"] != "test" else ""))
    rep.para(f"Base features re-extracted from the decoded media with the checkpoint's own extractors: "
             f"visual `{result.extractors['visual']}`, music `{result.extractors['music']}`. The perturbation "
             "is applied to the decoded frames / audio, before the base features; the other modality keeps "
             "its stored features.")
    rep.bullets([
        "brightness: RGB x r, clipped to 0..255.",
        "hue: rotation about the grey axis of RGB by (r - 1) x 180° "
        + "(" + ", ".join(f"r {r:g} = {hue_angle(r):+.0f}°" for r in (0.5, 0.7, 1.3, 1.5)) + ").",
        "tempo: music time-stretched by r (tempo x r, pitch kept) with ffmpeg's atempo filter (PyAV); "
        "each segment gets the stretched music around its own centre, so segments stay paired.",
    ])
    rep.image("robustness.png", "avg R@10 against r")
    factors = c["factors"]
    header = ["r"] + list(result.curves)
    table = [[f"{r:g}"] + [f"{result.r10(kind)[r]:.2f}" for kind in result.curves] for r in factors]
    rep.table(header, table)
    rows = []
    for kind in result.curves:
        r10 = result.r10(kind)
        base = r10[1.0]
        near = [r10[r] for r in (0.7, 1.3) if r in r10]
        worst = min(r10.values())
        rows.append([kind, f"{base:.2f}", f"{np.mean(near):.2f}" if near else "–", f"{base - worst:.2f}",
                     PAPER.get(kind, "")])
    rep.heading("Drop from r = 1")
    rep.table(["perturbation", "R@10 at r=1", "mean at r in {0.7, 1.3}", "largest drop", "the paper"], rows)
    return rep.write(out / "robustness.md")
