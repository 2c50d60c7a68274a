"""Analyses on disk: one ``.npz`` per file content + checkpoint + segment length (no pickle).

The rhythm lanes are frozen dataclasses of arrays, numbers and tuples of small dataclasses;
they are stored field by field (arrays as arrays, the rest as JSON) and rebuilt by their
class, so a stored analysis never executes code when it is read. A damaged entry is a miss.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import numpy as np

from engine.atomic import atomic_path

from .pipeline import MediaAnalysis


def lane_to_arrays(prefix: str, obj) -> dict[str, np.ndarray]:
    """A rhythm dataclass -> ``{prefix.field: array}`` plus one JSON entry for the rest."""
    arrays: dict[str, np.ndarray] = {}
    rest: dict[str, object] = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, np.ndarray):
            arrays[f"{prefix}.{f.name}"] = v
        else:
            rest[f.name] = _plain(v)
    arrays[f"{prefix}.json"] = np.array(json.dumps(rest))
    return arrays


def lane_from_arrays(prefix: str, cls, z) -> object | None:
    key = f"{prefix}.json"
    if key not in z.files:
        return None
    rest = json.loads(str(z[key]))
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f"{prefix}.{f.name}" in z.files:
            kwargs[f.name] = z[f"{prefix}.{f.name}"]
        elif f.name in rest:
            kwargs[f.name] = _rebuild(rest[f.name], hints.get(f.name))
    return cls(**kwargs)


def _plain(v):
    if dataclasses.is_dataclass(v):
        return {f.name: _plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _rebuild(v, hint):
    """JSON value -> the field's type: tuples of dataclasses become tuples of those again."""
    args = typing.get_args(hint)
    if isinstance(v, list) and args:
        inner = args[0]
        if dataclasses.is_dataclass(inner):
            return tuple(inner(**x) for x in v)
        return tuple(v)
    return v


def save_analysis(file: Path, a: MediaAnalysis) -> None:
    arrays = {"starts": a.starts, "ends": a.ends, "embeddings": a.embeddings, "cls": a.cls,
              "attention": a.attention, "meta": np.array([a.modality, a.checkpoint_id, str(a.duration),
                                                          str(a.segment_seconds)])}
    for i, t in enumerate(a.thumbnails):
        arrays[f"thumb_{i}"] = t
    if a.tags is not None:
        arrays["tags"] = a.tags
        arrays["tag_names"] = np.array(a.tag_names)
    if a.speech is not None:
        arrays["speech"] = np.asarray(a.speech, np.float64).reshape(-1, 2)
    if a.video_rhythm is not None:
        arrays.update(lane_to_arrays("video_rhythm", a.video_rhythm))
    if a.music_rhythm is not None:
        arrays.update(lane_to_arrays("music_rhythm", a.music_rhythm))
    try:
        # straight to the file, array by array: built in memory first, the archive (thumbnails
        # and all) and its copy for the write were held beside the analysis, ~2 x 23 MB an hour
        with atomic_path(file) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
    except OSError:  # a cache that cannot be written only costs time next time
        pass


def load_analysis(file: Path, path: Path) -> MediaAnalysis | None:
    if not file.exists():
        return None
    from engine.rhythm.music import MusicRhythm
    from engine.rhythm.video import VideoRhythm

    try:
        with np.load(file, allow_pickle=False) as z:
            modality, ck, duration, seconds = (str(x) for x in z["meta"])
            n = z["starts"].shape[0]
            thumbs = [z[f"thumb_{i}"] for i in range(n) if f"thumb_{i}" in z.files]
            tags = z["tags"] if "tags" in z.files else None
            names = tuple(str(x) for x in z["tag_names"]) if "tag_names" in z.files else ()
            speech = z["speech"] if "speech" in z.files else None
            return MediaAnalysis(str(path), modality, ck, float(duration), float(seconds), z["starts"],
                                 z["ends"], z["embeddings"], z["cls"], z["attention"], thumbs, tags, names,
                                 lane_from_arrays("video_rhythm", VideoRhythm, z),
                                 lane_from_arrays("music_rhythm", MusicRhythm, z), speech)
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        file.unlink(missing_ok=True)  # damaged cache entry: recompute
        return None
