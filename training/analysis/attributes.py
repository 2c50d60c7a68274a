"""Attribute retrieval matrix (paper Sec. 5): which images a music segment retrieves.

A labelled, class-balanced image set (a folder per class: scenes, instruments, colours, ...)
is the candidate pool. Every image goes through the checkpoint's visual base-feature
extractor and then f_v as a single-segment sequence, as the paper does. Music segments with
a genre label are the queries (embedded by f_m in context); each retrieves its top-1 image
by cosine similarity, and the matrix counts genre x class, normalised per genre (each row
sums to 100 %). Because the image set is balanced, a model with no preference would give
every class 100 / C %; cells far from that are the model's associations.

Genre labels come from musicnn's tags (the genre tags of MTT / MSD, per segment, as the
paper used musicnn; from a library scanned with musicnn) or from labels in the dataset
(``--labels`` JSON, or a ``genre`` array in the items' npz files).

"Far from uniform": a two-sided binomial test per cell (n = the genre's queries,
p = 1 / C), Bonferroni-corrected over all cells, at ``alpha`` (default 0.01).

The paper ran this on gender and race attributes (FairFace) to expose bias. Such data is
not shipped here; see the caution in the report.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.attributes import IMAGE_EXTENSIONS, top1_matrix  # noqa: F401 - top1_matrix: part of the analysis API
from engine.features.musicnn.tags import GENRE_TAGS
from engine.jobs import CancelCheck, Job, Progress, check_cancel

from .media import AnalysisError
from .plots import heatmap
from .report import Report

CAUTION = (
    "Caution (the paper, Sec. 5-6): attribute sets of people — gender, race, age — measure how the model "
    "associates music genres with people, and the associations it learned from its training videos "
    "(\"hip-hop\" with black people, \"country\" with white people, male images with \"heavy metal\"). "
    "Such a matrix describes a bias of the data and the model; it is not a fact about music or people, and "
    "over-simple categories of gender and race are themselves a problem. Use such sets only to expose and "
    "discuss bias, never to recommend or filter by a person's attributes. This project ships no such data."
)


@dataclass(frozen=True)
class ImageSet:
    images: list[np.ndarray]     # uint8 [H, W, 3] each
    labels: np.ndarray           # (N,) class index
    classes: list[str]
    counts_found: dict[str, int]  # images per class before balancing


def load_image_set(folder: str | os.PathLike[str], per_class: int | None = None, seed: int = 0,
                   max_side: int = 448) -> ImageSet:
    """A folder per class -> a balanced set (every class cut to the smallest class's count,
    or ``per_class``, by a seeded random choice). Images are RGB, long side <= ``max_side``."""
    from PIL import Image

    root = Path(folder)
    if not root.is_dir():
        raise AnalysisError(f"{root}: not a folder (expected one subfolder of images per class)")
    files: dict[str, list[Path]] = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        fs = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."))
        if fs:
            files[d.name] = fs
    if len(files) < 2:
        raise AnalysisError(f"{root}: needs at least two class subfolders with images (found {len(files)})")
    n = min(len(v) for v in files.values())
    if per_class is not None:
        n = min(n, per_class)
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for c, fs in enumerate(files.values()):
        for i in sorted(rng.choice(len(fs), size=n, replace=False)):
            with Image.open(fs[i]) as im:
                im = im.convert("RGB")
                im.thumbnail((max_side, max_side))
                images.append(np.asarray(im, dtype=np.uint8))
            labels.append(c)
    return ImageSet(images, np.asarray(labels), list(files), {k: len(v) for k, v in files.items()})


def genre_labels(tag_values: np.ndarray, tag_names: list[str], min_prob: float = 0.0) -> list[str | None]:
    """Per segment, the most probable genre tag (None when no genre tag reaches ``min_prob``).
    ``tag_values``: float [T, n_tags]."""
    idx = [i for i, n in enumerate(tag_names) if n in GENRE_TAGS]
    if not idx:
        raise AnalysisError("these tags hold no genre tags (musicnn MTT/MSD genres expected)")
    v = np.asarray(tag_values, dtype=np.float32)[:, idx]  # [T, G]
    best = v.argmax(axis=1)
    return [tag_names[idx[b]] if v[t, b] >= min_prob else None for t, b in enumerate(best)]


def embed_images(model, visual_extractor, images: list[np.ndarray], batch: int = 256) -> np.ndarray:
    """Images -> base features -> f_v as single-segment sequences: float32 [N, d], unit norm."""
    from engine.model.windows import encode_many

    feats = np.asarray(visual_extractor.encode_images(images), dtype=np.float32)  # [N, Dv]
    out = []
    for a in range(0, len(feats), batch):
        seqs = [torch.from_numpy(f[None]) for f in feats[a:a + batch]]  # each (1, Dv)
        out += [o.segments[0].numpy() for o in encode_many(model.visual, seqs)]
    return np.stack(out).astype(np.float32)


def _log_binom_pmf(k: np.ndarray, n: int, p: float) -> np.ndarray:
    k = np.asarray(k, dtype=np.float64)
    return (math.lgamma(n + 1) - np.vectorize(math.lgamma)(k + 1) - np.vectorize(math.lgamma)(n - k + 1)
            + k * math.log(p) + (n - k) * math.log1p(-p))


def binomial_two_sided(k: int, n: int, p: float) -> float:
    """P(a count at least as unlikely as ``k``) under Binomial(n, p) (the exact two-sided test)."""
    if n == 0:
        return 1.0
    pmf = np.exp(_log_binom_pmf(np.arange(n + 1), n, p))
    return float(min(1.0, pmf[pmf <= pmf[k] * (1 + 1e-7)].sum()))


def far_from_uniform(counts: np.ndarray, alpha: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """(p-values [G, C], marks [G, C] bool): cells whose count differs from n_g / C beyond
    chance, Bonferroni over all cells."""
    G, C = counts.shape
    p = np.ones((G, C))
    for g in range(G):
        n = int(counts[g].sum())
        for c in range(C):
            p[g, c] = binomial_two_sided(int(counts[g, c]), n, 1.0 / C)
    return p, p < alpha / max(1, G * C)


@dataclass(frozen=True)
class AttributesConfig:
    checkpoint: str
    images: str                              # folder of class folders
    data: str | None = None                  # music segments from a feature dataset ...
    split: str = "test"
    labels: str | None = None                # ... with labels from this JSON (else npz "genre")
    library: str | None = None               # ... or from a library data dir (musicnn tags)
    per_class: int | None = None
    min_queries: int = 1                     # genres with fewer labelled segments are left out
    alpha: float = 0.01
    seed: int = 0
    device: str = "cpu"


@dataclass
class AttributesResult:
    config: dict[str, Any]
    genres: list[str]
    classes: list[str]
    counts: list[list[int]]                  # [G][C] top-1 counts
    percent: list[list[float]]               # [G][C] per genre, rows sum to 100
    pvalues: list[list[float]]
    marked: list[list[bool]]
    images_per_class: int
    images_found: dict[str, int]
    label_source: str
    notes: list[str] = field(default_factory=list)

    def matrix(self) -> np.ndarray:
        return np.asarray(self.percent, dtype=np.float64)


def _dataset_queries(model, cfg: AttributesConfig) -> tuple[np.ndarray, list[str], str]:
    from engine.model.windows import encode_many

    from ..dataset import open_store

    store = open_store(cfg.data)
    split = store.split(cfg.split)
    given = json.loads(Path(cfg.labels).read_text()) if cfg.labels else None
    vecs, labs = [], []
    for k, iid in enumerate(split.ids):
        _, m = split.item(k)
        T = len(m)
        if given is not None:
            lab = given.get(iid)
            per = [lab] * T if isinstance(lab, str) else (list(lab) if lab is not None else [None] * T)
        else:
            with np.load(Path(cfg.data) / "items" / f"{iid}.npz", allow_pickle=False) as z:
                g = np.asarray(z["genre"]).astype(str) if "genre" in z else None
            per = [None] * T if g is None else ([str(g)] * T if g.ndim == 0 else [str(x) for x in g])
        if len(per) != T:
            raise AnalysisError(f"{iid}: {len(per)} labels for {T} segments")
        out = encode_many(model.music, [torch.from_numpy(np.array(m, dtype=np.float32))])[0]
        for t in range(T):
            if per[t]:
                vecs.append(out.segments[t].numpy())
                labs.append(str(per[t]))
    src = f"labels from {cfg.labels}" if cfg.labels else "the 'genre' arrays of the dataset's items"
    return (np.stack(vecs) if vecs else np.zeros((0, 1), np.float32)), labs, f"{cfg.data} [{cfg.split}], {src}"


def _library_queries(loaded, cfg: AttributesConfig) -> tuple[np.ndarray, list[str], str]:
    from engine.library.catalog import Catalog
    from engine.library.embed import checkpoint_id

    path = Path(cfg.library) / "library" / "catalog.sqlite"
    if not path.exists():
        raise AnalysisError(f"{path}: no library catalog here (the app's data folder, or MVPT_DATA_DIR)")
    cat = Catalog(path)
    try:
        emb = cat.embeddings(checkpoint_id(loaded), "music", "segment")
        if len(emb) == 0:
            raise AnalysisError(f"{cfg.library}: no music embedded for this checkpoint (mvpt library embed)")
        vecs, labs = [], []
        for item in np.unique(emb.item_ids):
            tags = cat.tags(int(item))
            if tags is None:
                continue
            genres = genre_labels(tags.values, tags.names)
            rows = np.flatnonzero(emb.item_ids == item)
            for r in rows:
                s = int(emb.segments[r])
                if s < len(genres) and genres[s]:
                    vecs.append(emb.vectors[r])
                    labs.append(genres[s])
    finally:
        cat.close()
    return (np.stack(vecs) if vecs else np.zeros((0, 1), np.float32)), labs, f"musicnn genre tags of {cfg.library}"


def attribute_matrix(cfg: AttributesConfig, cancel: CancelCheck | None = None) -> Job[AttributesResult]:
    from engine.features.registry import extractor_for_id
    from engine.model.checkpoint import load_checkpoint

    if (cfg.data is None) == (cfg.library is None):
        raise AnalysisError("give the music segments either from a dataset (--data) or a library (--library)")
    loaded = load_checkpoint(cfg.checkpoint, device=cfg.device)
    yield Progress("attributes", 0, 3, "reading the image set")
    images = load_image_set(cfg.images, cfg.per_class, cfg.seed)
    check_cancel(cancel)
    yield Progress("attributes", 1, 3, f"embedding {len(images.images)} images")
    visual = extractor_for_id(loaded.config.visual_id, cfg.device)
    cand = embed_images(loaded.model, visual, images.images)
    check_cancel(cancel)
    yield Progress("attributes", 2, 3, "embedding the music segments")
    if cfg.data is not None:
        q, labs, source = _dataset_queries(loaded.model, cfg)
    else:
        q, labs, source = _library_queries(loaded, cfg)
    if not labs:
        raise AnalysisError(f"no labelled music segments in {source}")
    notes = []
    kinds, n = np.unique(labs, return_counts=True)
    rare = {str(g) for g, c in zip(kinds, n, strict=True) if c < cfg.min_queries}
    if rare:
        notes.append(f"left out (< {cfg.min_queries} segments): {', '.join(sorted(rare))}")
        keep = [i for i, g in enumerate(labs) if g not in rare]
        q, labs = q[keep], [labs[i] for i in keep]
    genres, counts = top1_matrix(q, labs, cand, images.labels, len(images.classes))
    pct = 100.0 * counts / np.maximum(1, counts.sum(axis=1, keepdims=True))
    pv, marks = far_from_uniform(counts, cfg.alpha)
    yield Progress("attributes", 3, 3, "done")
    per_class = len(images.images) // len(images.classes)
    if len(set(images.counts_found.values())) > 1:
        notes.append(f"classes were balanced to {per_class} images each (found: "
                     + ", ".join(f"{k} {v}" for k, v in images.counts_found.items()) + ")")
    return AttributesResult(asdict(cfg), genres, images.classes, counts.tolist(), pct.round(2).tolist(),
                            pv.tolist(), marks.tolist(), per_class, images.counts_found, source, notes)


def write_attributes(result: AttributesResult, out: str | os.PathLike[str]) -> Path:
    """``out/attributes.png`` (genre x class, % per genre; red outlines: far from uniform),
    ``out/attributes.json`` and ``out/attributes.md``; returns the .md."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    m = result.matrix()
    C = len(result.classes)
    counts = np.asarray(result.counts)
    rows = [f"{g} ({int(counts[i].sum())})" for i, g in enumerate(result.genres)]
    heatmap(out / "attributes.png", m, rows, result.classes,
            f"Top-1 retrieved image class per music genre (% per genre; uniform = {100 / C:.1f} %)",
            marks=np.asarray(result.marked), vmax=100.0)
    (out / "attributes.json").write_text(json.dumps(asdict(result), indent=1) + "\n")
    rep = Report("Attribute retrieval: music genre x image class")
    rep.para(f"Checkpoint `{result.config['checkpoint']}`; images `{result.config['images']}`: "
             f"{C} classes x {result.images_per_class} images (balanced), each through the visual base "
             f"features and f_v as a one-segment sequence. Queries: music segments, {source_line(result)}. "
             f"Each query retrieves its most similar image (cosine); rows are normalised per genre.")
    rep.image("attributes.png", "genre x class matrix")
    rep.table(["genre (queries)"] + result.classes,
              [[r] + [f"{x:.1f}" for x in m[i]] for i, r in enumerate(rows)])
    far = [(result.genres[g], result.classes[c], m[g, c], result.pvalues[g][c])
           for g in range(len(result.genres)) for c in range(C) if result.marked[g][c]]
    rep.heading("Cells far from uniform")
    if far:
        rep.para(f"Two-sided binomial test per cell against {100 / C:.1f} %, Bonferroni over "
                 f"{len(result.genres) * C} cells, alpha {result.config['alpha']}:")
        rep.table(["genre", "class", "%", "p", "direction"],
                  [[g, c, f"{x:.1f}", f"{p:.2g}", "more than uniform" if x > 100 / C else "less than uniform"]
                   for g, c, x, p in sorted(far, key=lambda t: t[3])])
    else:
        rep.para("None: no cell differs from uniform beyond chance at this sample size.")
    if result.notes:
        rep.bullets(result.notes)
    rep.heading("Caution")
    rep.para(CAUTION)
    return rep.write(out / "attributes.md")


def source_line(result: AttributesResult) -> str:
    return f"{sum(sum(r) for r in result.counts)} labelled segments ({result.label_source})"
