"""Per-video project state: the cue sheet and the attribute slider weights an editor left on
a video, and which video was open last, so reopening a video (or the app) restores them.

One JSON file per video in ``<data dir>/projects/``, named by a hash of the video's resolved
path; written atomically (temp file + ``os.replace``), so a crash never loses what was
stored. A damaged file is set aside as ``*.damaged`` and an empty project is used: the
video still opens.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.mix.cuesheet import CueSheet

log = logging.getLogger(__name__)
FORMAT = "mvpt-project"
VERSION = 1
LAST_FILE = "last.json"


@dataclass(frozen=True)
class Project:
    video: str
    """The video's resolved path."""
    sheet: CueSheet = field(default_factory=CueSheet)
    weights: tuple[tuple[str, float], ...] = ()
    """Attribute slider positions, (name, -1..1), sorted by name."""

    @property
    def weight_map(self) -> dict[str, float]:
        return dict(self.weights)


def projects_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    from engine.paths import data_dir as default_data_dir

    d = Path(data_dir) if data_dir else default_data_dir()
    d = d / "projects"
    d.mkdir(parents=True, exist_ok=True)
    return d


def project_file(video: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None) -> Path:
    key = hashlib.sha256(str(Path(video).resolve()).encode()).hexdigest()[:20]
    return projects_dir(data_dir) / f"{Path(video).stem[:40]}-{key}.json"


def _write_json(path: Path, obj: dict) -> Path:
    from engine.atomic import atomic_write_text

    return atomic_write_text(path, json.dumps(obj, indent=1))


def save_project(project: Project, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Store ``project`` (atomically) and remember its video as the last one opened."""
    video = str(Path(project.video).resolve())
    path = _write_json(project_file(video, data_dir), {
        "format": FORMAT, "version": VERSION, "video": video, "sheet": project.sheet.to_dict(),
        "weights": {n: float(w) for n, w in project.weights}})
    remember_last(video, data_dir)
    return path


def load_project(video: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None) -> Project:
    """The stored project of ``video``, or an empty one (never raises for a damaged file)."""
    resolved = str(Path(video).resolve())
    path = project_file(resolved, data_dir)
    if not path.exists():
        return Project(resolved)
    try:
        d = json.loads(path.read_text())
        if d.get("format") != FORMAT:
            raise ValueError("not a project file")
        weights = tuple(sorted((str(n), max(-1.0, min(1.0, float(w)))) for n, w in d.get("weights", {}).items()))
        return Project(resolved, CueSheet.from_dict(d.get("sheet") or {"format": "mvpt-cuesheet"}), weights)
    except (ValueError, TypeError, AttributeError, OSError) as e:
        log.warning("the project of %s is damaged (%s); it was set aside as %s.damaged", video, e, path.name)
        os.replace(path, path.with_name(path.name + ".damaged"))
        return Project(resolved)


def remember_last(video: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None) -> None:
    _write_json(projects_dir(data_dir) / LAST_FILE, {"video": str(Path(video).resolve())})


def last_video(data_dir: str | os.PathLike[str] | None = None) -> str | None:
    """The video opened last (None when none was, or it is gone)."""
    try:
        video = json.loads((projects_dir(data_dir) / LAST_FILE).read_text()).get("video")
    except (OSError, ValueError, AttributeError):
        return None
    return video if video and Path(video).is_file() else None
