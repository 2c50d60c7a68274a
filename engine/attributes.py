"""Attributes: directions in the shared space, defined by examples, added or removed.

The paper (Sec. 5): the representation y_a of an attribute is the mean representation of
an example set — images (through f_v as one-segment sequences), music (through f_m), or,
here, text prompts (CLIP's text tower lands in CLIP's image space, so a prompt is read by
f_v like an image). With a domain set D (e.g. "all my footage" for "bright"), the corrected
y'_a = y_a − mean(f(D)) keeps what distinguishes the examples and drops what every example
of that domain shares. Conditioning is y' = y + Σ wᵢ·y'_aᵢ.

We store y'_a as computed; :func:`direction` gives its unit direction, and the sliders'
weights (−1…+1) scale that, so weights mean the same for every attribute.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.features.musicnn.tags import GENRE_TAGS
from engine.jobs import CancelCheck, Job, Progress, check_cancel
from engine.media import MediaError
from engine.media.container import MEDIA_EXTENSIONS_AUDIO, MEDIA_EXTENSIONS_VIDEO
from engine.session import EngineSession

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
MAX_IMAGE_SIDE = 1024


class AttributeError_(ValueError):
    """An attribute cannot be made from what was given; the message says why."""


@dataclass(frozen=True)
class ExampleVectors:
    """What the model makes of an example set: per-segment outputs and one [CLS] output per
    example (an image, a prompt: a one-segment sequence; a song: its whole sequence)."""
    segments: np.ndarray  # [N_segments, d]
    tracks: np.ndarray    # [N_examples, d]


def direction(attribute, level: str = "segment") -> np.ndarray:
    """Unit direction of an attribute at ``level``: per-segment outputs and [CLS] outputs live
    in different parts of the shared space, so whole-video queries move along the attribute's
    [CLS] vector (attributes defined before it existed fall back to the segment vector)."""
    track = attribute.meta.get("track_vector") if level == "track" else None
    v = np.asarray(track if track is not None else attribute.vector, np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-8 else v


def top1_matrix(queries: np.ndarray, query_labels: list[str], candidates: np.ndarray,
                candidate_labels: np.ndarray, n_classes: int) -> tuple[list[str], np.ndarray]:
    """The paper's attribute matrix: for each query (a music segment with a genre), the class of
    its nearest candidate (a labelled image) by cosine. Returns the genres (sorted) and
    counts [G, C]. ``queries`` [n, d], ``candidates`` [N, d]; ``candidate_labels`` int [N]."""
    genres = sorted(set(query_labels))
    q = np.asarray(queries, np.float32)
    c = np.asarray(candidates, np.float32)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    c = c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    top = (q @ c.T).argmax(axis=1)  # [n]
    counts = np.zeros((len(genres), n_classes), dtype=np.int64)
    row = {g: i for i, g in enumerate(genres)}
    for lab, j in zip(query_labels, top, strict=True):
        counts[row[lab], int(candidate_labels[j])] += 1
    return genres, counts


def _files(folder: str | os.PathLike[str], exts: frozenset[str]) -> list[Path]:
    root = Path(folder)
    if not root.is_dir():
        raise AttributeError_(f"{root} is not a folder")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts)


def load_image(path: Path) -> np.ndarray:
    """uint8 [H, W, 3], at most MAX_IMAGE_SIDE on the long side (EXIF rotation applied)."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        im.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
        return np.asarray(im, dtype=np.uint8)


def _visual_outputs(session: EngineSession, base: np.ndarray) -> ExampleVectors:
    """Base features [N, Dv] -> f_v outputs [N, d] (segment and [CLS]), each row read as a
    one-segment sequence."""
    outs = session.model.encode_many("visual", [np.asarray(b, np.float32)[None] for b in base])
    return ExampleVectors(np.stack([o.segments[0] for o in outs]), np.stack([o.cls for o in outs]))


def image_set_vectors(session: EngineSession, folder, cancel: CancelCheck | None = None) -> Job[ExampleVectors]:
    """f_v outputs for the images (or video frames) in ``folder``."""
    files = _files(folder, IMAGE_EXTENSIONS)
    if not files:
        raise AttributeError_(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in {folder}")
    extractor = session.extractor("visual")
    images, skipped = [], []
    for i, f in enumerate(files):
        check_cancel(cancel)
        try:
            images.append(load_image(f))
        except Exception as e:  # noqa: BLE001 - a bad example is skipped and reported
            skipped.append(f"{f.name}: {e}")
        yield Progress("images", i + 1, len(files), f.name)
    if not images:
        raise AttributeError_(f"none of the images in {folder} could be read ({skipped[0]})")
    base = extractor.encode_images(images)  # [N, Dv]
    return _visual_outputs(session, base)


def text_vectors(session: EngineSession, prompts: list[str]) -> ExampleVectors:
    extractor = session.extractor("visual")
    if not hasattr(extractor, "encode_text"):
        raise AttributeError_("text attributes need the CLIP visual extractor, and the active one is "
                              f"'{extractor.id}' (no text tower); define this attribute with example images "
                              "instead, or add CLIP weights (`mvpt models`)")
    base = extractor.encode_text([p for p in prompts if p.strip()])  # [n, Dv] in CLIP image space
    return _visual_outputs(session, base)


def audio_set_vectors(session: EngineSession, folder, cancel: CancelCheck | None = None) -> Job[ExampleVectors]:
    """f_m outputs for the songs in ``folder``: every segment, and each song's [CLS].

    Songs already in the music library are not decoded again: their stored vectors for the
    active model (or their stored base features) are used."""
    from engine.analysis.read import read_media

    files = _files(folder, MEDIA_EXTENSIONS_AUDIO | MEDIA_EXTENSIONS_VIDEO)
    if not files:
        raise AttributeError_(f"no audio files in {folder}")
    loaded = session.model
    catalog = session.library.catalog
    extractor_id = loaded.config.music_id
    rows, tracks, errors = [], [], []
    for i, f in enumerate(files):
        check_cancel(cancel)
        yield Progress("audio", i, len(files), f.name)
        stored = _stored_song(catalog, f, loaded.checkpoint_id, extractor_id, float(session.segment_seconds))
        if isinstance(stored, tuple):
            rows.append(stored[0])
            tracks.append(stored[1])
            continue
        try:
            if stored is None:
                read = yield from read_media(f, session.extractor("music"), session.segment_seconds, cancel=cancel)
                stored = read.features
        except MediaError as e:
            errors.append(str(e))
            continue
        out = loaded.encode("music", stored)
        rows.append(out.segments)
        tracks.append(out.cls)
    if not rows:
        raise AttributeError_(f"no song in {folder} could be read" + (f" ({errors[0]})" if errors else ""))
    return ExampleVectors(np.concatenate(rows), np.stack(tracks))


def _stored_song(catalog, path: Path, checkpoint_id: str, extractor_id: str, segment_seconds: float):
    """What the library already knows of ``path`` (unchanged since it was scanned): its vectors
    (segments [T, d], cls [d]) for this model, else its base features [T, D], else None."""
    item = catalog.item_by_path(path)
    if item is None or item.status != "ok":
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    if (item.size, item.mtime_ns) != (st.st_size, st.st_mtime_ns):
        return None  # changed since the scan
    pair = catalog.item_embeddings(item.id, checkpoint_id)
    if pair is not None:
        return np.asarray(pair[0], np.float32), np.asarray(pair[1], np.float32)
    if abs(float(item.segment_seconds) - segment_seconds) > 1e-6:
        return None
    return catalog.base_features(item.id, extractor_id)


def create_attribute(session: EngineSession, name: str, *, images: str | None = None, audio: str | None = None,
                     text: str | list[str] | None = None, domain: str | None = None,
                     cancel: CancelCheck | None = None) -> Job[np.ndarray]:
    """Define (or redefine) attribute ``name`` for the active model; returns y'_a [d]."""
    name = name.strip()
    if not name:
        raise AttributeError_("an attribute needs a name")
    if sum(x is not None for x in (images, audio, text)) != 1:
        raise AttributeError_("define an attribute from exactly one of: a folder of images, a folder of "
                              "audio, or text prompts")
    if images is not None:
        modality = "visual"
        vecs = yield from image_set_vectors(session, images, cancel)
        source = {"images": str(images)}
    elif audio is not None:
        modality = "music"
        vecs = yield from audio_set_vectors(session, audio, cancel)
        source = {"audio": str(audio)}
    else:
        prompts = [text] if isinstance(text, str) else list(text)
        modality = "visual"
        vecs = text_vectors(session, prompts)
        source = {"text": prompts}
    y_a = vecs.segments.mean(axis=0)  # [d]: per-segment queries move along this
    y_t = vecs.tracks.mean(axis=0)    # [d]: whole-video ([CLS]) queries along this
    meta = {**source, "examples": int(len(vecs.tracks)), "segments": int(len(vecs.segments))}
    if domain is not None:
        if modality == "visual" and _files(domain, IMAGE_EXTENSIONS):
            d = yield from image_set_vectors(session, domain, cancel)
        else:
            d = yield from audio_set_vectors(session, domain, cancel)
        y_a = y_a - d.segments.mean(axis=0)
        y_t = y_t - d.tracks.mean(axis=0)
        meta.update(domain=str(domain), domain_examples=int(len(d.tracks)))
    meta["norm"] = float(np.linalg.norm(y_a))
    meta["track_vector"] = [round(float(x), 7) for x in y_t]
    session.library.catalog.save_attribute(name, session.checkpoint_id, modality, y_a.astype(np.float32), meta)
    yield Progress("done", 1, 1, f"attribute '{name}' saved")
    return y_a.astype(np.float32)


# -- the attribute matrix (the Insights view; `mvpt analyze attributes` has the report form) --

@dataclass(frozen=True)
class AttributeMatrix:
    folder: str
    genres: tuple[str, ...]
    classes: tuple[str, ...]
    counts: np.ndarray          # int [G, C] top-1 image class per genre
    images_per_class: int

    @property
    def percent(self) -> np.ndarray:
        """float [G, C], each row sums to 100."""
        return 100.0 * self.counts / np.maximum(1, self.counts.sum(axis=1, keepdims=True))


def load_image_classes(folder: Path, max_side: int = 448) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """Images of every class subfolder, cut to the smallest class's count (first files by name)."""
    from PIL import Image

    classes = {d.name: sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
               for d in sorted(folder.iterdir()) if d.is_dir() and not d.name.startswith(".")}
    classes = {k: v for k, v in classes.items() if v}
    if len(classes) < 2:
        raise AttributeError_(f"{folder} needs at least two subfolders of images, one per class")
    n = min(len(v) for v in classes.values())
    images, labels = [], []
    for c, files in enumerate(classes.values()):
        for f in files[:n]:
            with Image.open(f) as im:
                im = im.convert("RGB")
                im.thumbnail((max_side, max_side))
                images.append(np.asarray(im, dtype=np.uint8))
            labels.append(c)
    return images, np.asarray(labels), list(classes)


def attribute_matrix_job(session, folder: str, cancel: CancelCheck | None = None) -> Job[AttributeMatrix]:
    """The library's music segments (genre = their most probable musicnn genre tag) against a
    labelled image set, top-1 by cosine through the current model (runs on a worker)."""
    yield Progress("attributes", 0, 3, "reading the images")
    images, labels, classes = load_image_classes(Path(folder))
    check_cancel(cancel)
    yield Progress("attributes", 1, 3, f"embedding {len(images)} images")
    feats = np.asarray(session.extractor("visual").encode_images(images), dtype=np.float32)  # [N, Dv]
    cand = _visual_outputs(session, feats).segments  # [N, d], one-segment sequences
    check_cancel(cancel)
    yield Progress("attributes", 2, 3, "music segments")
    catalog = session.library.catalog
    emb = catalog.embeddings(session.checkpoint_id, "music", "segment")
    queries, genres = [], []
    for item in np.unique(emb.item_ids):
        tags = catalog.tags(int(item))
        if tags is None:
            continue
        gi = [i for i, n in enumerate(tags.names) if n in GENRE_TAGS]
        if not gi:
            continue
        for r in np.flatnonzero(emb.item_ids == item):
            s = int(emb.segments[r])
            if s < len(tags.values):
                queries.append(emb.vectors[r])
                genres.append(tags.names[gi[int(np.argmax(tags.values[s][gi]))]])
    if not queries:
        raise AttributeError_("no music in the library has musicnn tags for this model: add the music folder "
                         "again with musicnn features to see genres")
    names, counts = top1_matrix(np.stack(queries), genres, cand, labels, len(classes))
    yield Progress("attributes", 3, 3, "done")
    return AttributeMatrix(str(folder), tuple(names), tuple(classes), counts, len(images) // len(classes))
