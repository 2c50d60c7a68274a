"""Tags of a music library (musicnn): what the library holds, and so what it can suggest.

Every track scanned with musicnn has per-segment tag probabilities in the catalog. Per
track: the mean over its segments; its genre is the most probable genre tag
(:data:`engine.features.musicnn.tags.GENRE_TAGS`). Over the library: the genre distribution (share of tracks)
and the mean probability of every tag. A library that is 80 % rock can only suggest rock,
whatever the footage: this is the bias users need to see.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .attributes import GENRE_TAGS
from .media import AnalysisError
from .plots import bars
from .report import Report


@dataclass
class TrackTags:
    item_id: int
    title: str
    genre: str | None
    top: list[tuple[str, float]]     # the most probable tags (mean over segments)


@dataclass
class TagSummary:
    tracks: list[TrackTags]
    genres: dict[str, float]         # genre -> % of tagged tracks, largest first
    mean_tags: dict[str, float]      # tag -> mean probability over tracks, largest first
    untagged: int = 0                # music items without tags (scanned without musicnn)
    extractor: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def dominant(self) -> tuple[str, float] | None:
        return next(iter(self.genres.items()), None)


def summarise(items: list[tuple[int, str, list[str], np.ndarray]], untagged: int = 0, extractor: str = "",
              top: int = 5) -> TagSummary:
    """``items``: (item id, title, tag names, values float [T, n_tags]) per tagged track."""
    tracks: list[TrackTags] = []
    means, names_all = [], None
    counts: dict[str, int] = {}
    for iid, title, names, values in items:
        v = np.asarray(values, dtype=np.float64)
        if v.size == 0:
            continue
        mean = v.mean(axis=0)  # [n_tags]
        if names_all is None:
            names_all = list(names)
        elif list(names) != names_all:
            raise AnalysisError("the library's tracks were tagged with different tag sets (mixed musicnn models)")
        gi = [i for i, n in enumerate(names) if n in GENRE_TAGS]
        genre = names[gi[int(np.argmax(mean[gi]))]] if gi else None
        if genre is not None:
            counts[genre] = counts.get(genre, 0) + 1
        order = np.argsort(-mean)[:top]
        tracks.append(TrackTags(int(iid), title, genre, [(names[i], round(float(mean[i]), 4)) for i in order]))
        means.append(mean)
    n = sum(counts.values())
    genres = {g: 100.0 * c / n for g, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}
    mean_tags: dict[str, float] = {}
    if means:
        m = np.mean(means, axis=0)
        mean_tags = {names_all[i]: float(m[i]) for i in np.argsort(-m)}
    return TagSummary(tracks, genres, mean_tags, untagged, extractor)


def library_tags(data_dir: str | os.PathLike[str]) -> TagSummary:
    """The summary of the music in the library at ``data_dir`` (the app's data folder)."""
    from engine.library.catalog import Catalog

    path = Path(data_dir) / "library" / "catalog.sqlite"
    if not path.exists():
        raise AnalysisError(f"{path}: no library catalog here (the app's data folder, or MVPT_DATA_DIR)")
    cat = Catalog(path)
    try:
        items, untagged, extractor = [], 0, ""
        for item in cat.items(kind="music"):
            t = cat.tags(item.id)
            if t is None:
                untagged += 1
                continue
            extractor = t.extractor_id
            items.append((item.id, item.title or Path(item.path).stem, t.names, t.values))
    finally:
        cat.close()
    s = summarise(items, untagged, extractor)
    if untagged:
        s.notes.append(f"{untagged} music items have no tags: they were scanned with an extractor other than "
                       "musicnn (rescan with musicnn to include them)")
    return s


def write_tags(summary: TagSummary, out: str | os.PathLike[str], source: str = "") -> Path:
    """``out/tags_genres.png``, ``out/tags_mean.png``, ``out/tags.json``, ``out/tags.md``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not summary.tracks:
        raise AnalysisError("no tagged tracks: scan the music with musicnn (mvpt library add --music-extractor musicnn)")
    bars(out / "tags_genres.png", list(summary.genres), list(summary.genres.values()),
         f"Genre of each track (musicnn), % of {len(summary.tracks)} tracks", unit=" %")
    mt = list(summary.mean_tags.items())[:25]
    bars(out / "tags_mean.png", [k for k, _ in mt], [100 * v for _, v in mt],
         "Mean tag probability over the library (%)", unit=" %")
    (out / "tags.json").write_text(json.dumps(asdict(summary), indent=1) + "\n")
    rep = Report("Tags of the music library")
    rep.para(f"{len(summary.tracks)} tagged tracks{' in ' + source if source else ''} (tags by `{summary.extractor}`). "
             "A track's genre is its most probable genre tag, averaged over its segments. The library's "
             "balance is what any suggestion can draw on: a genre the library lacks is never suggested.")
    if summary.dominant:
        g, p = summary.dominant
        rep.para(f"Most common genre: **{g}** ({p:.0f} % of tracks); {len(summary.genres)} genres in all.")
    rep.image("tags_genres.png", "genre distribution")
    rep.table(["genre", "% of tracks"], [[g, f"{p:.1f}"] for g, p in summary.genres.items()])
    rep.image("tags_mean.png", "mean tag probabilities")
    rep.heading("Per track")
    rep.table(["track", "genre", "top tags"],
              [[t.title, t.genre or "–", ", ".join(f"{n} {100 * v:.0f}%" for n, v in t.top)] for t in summary.tracks])
    if summary.notes:
        rep.bullets(summary.notes)
    return rep.write(out / "tags.md")
