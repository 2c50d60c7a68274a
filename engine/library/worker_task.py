"""What a scan worker process does with one file: probe, segment, decode, extract features.

Runs inside :class:`~engine.library.workers.IsolatedPool` workers only (never in the app's
process): :func:`init` builds the extractor once per process, :func:`process_file` analyses a
file and returns a :class:`~engine.library.records.ProcessedFile`, or raises (a
``MediaError``'s reason becomes the failure recorded in the catalog). Nothing here touches
the database.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .records import ProcessedFile, Tags

_STATE: dict[str, Any] = {}


def init(kind: str, extractor_name: str, segment_seconds: float, threads: int = 1,
         device: str = "cpu") -> dict[str, Any]:
    """Build the extractor for ``kind`` once; returns ``{"extractor_id", "dim"}``."""
    import sys

    from engine.features.registry import create_extractor

    extractor = create_extractor(extractor_name, device)
    torch = sys.modules.get("torch")  # only when the extractor needs it: importing it costs seconds
    if torch is not None:
        torch.set_num_threads(max(1, int(threads)))
    want = "music" if kind == "music" else "visual"
    if extractor.modality != want:
        raise ValueError(f"extractor {extractor_name!r} reads {extractor.modality}, a {kind} library needs {want}")
    _STATE.update(kind=kind, extractor=extractor, segment_seconds=float(segment_seconds))
    if kind == "music":
        _warm_rhythm()
    return {"extractor_id": extractor.id, "dim": int(extractor.dim), "name": extractor_name}


def process_file(path: str, mode: str = "full") -> ProcessedFile | Any:
    """Analyse one file (see module doc). Raises on any failure.

    ``mode="rhythm"``: only the music rhythm of a file whose features are stored and current
    (its stored rhythm is from an older analysis): decode, analyse, return the
    :class:`~engine.rhythm.music.MusicRhythm`; no extractor runs.
    """
    if mode == "rhythm":
        return _rhythm_only(path)
    from engine.features.cache import content_key
    from engine.jobs import run
    from engine.media.errors import CorruptMedia, NoAudioStream, NoVideoStream
    from engine.media.grid import SegmentGrid
    from engine.media.probe import probe

    extractor = _STATE["extractor"]
    kind = _STATE["kind"]
    before = os.stat(path)
    content = content_key(path)
    info = probe(path)
    if kind == "music" and info.audio is None:
        raise NoAudioStream(path, "has no audio track; it cannot be used as music")
    if kind == "footage" and info.video is None:
        raise NoVideoStream(path, "has no video stream; it cannot be used as footage")
    grid = SegmentGrid(info.duration, _STATE["segment_seconds"])
    from engine.analysis.read import read_media

    # the one pass: for music, one decode feeds the features and the rhythm (beats, sections,
    # energy); footage is read for its features only (a library's clips need no cut lane yet)
    read = run(read_media(path, extractor, grid.segment_seconds, info=info, grid=grid, rhythm=kind == "music"))
    feats, rhythm, tags = read.features, read.music_rhythm, None
    if read.tags is not None and len(read.tag_names):
        tags = Tags(extractor.id, list(read.tag_names), np.asarray(read.tags, np.float32))
    feats = np.asarray(feats, dtype=np.float32)
    if feats.shape != (len(grid), extractor.dim):
        raise CorruptMedia(path, f"the extractor returned {feats.shape} features for {len(grid)} segments")
    if not np.isfinite(feats).all():
        raise CorruptMedia(path, "the features hold invalid numbers (NaN/inf); the audio or picture is damaged")
    after = os.stat(path)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise CorruptMedia(path, "the file changed while it was analysed; scan again once it is written")
    return ProcessedFile(path=path, size=int(before.st_size), mtime_ns=int(before.st_mtime_ns), content_hash=content,
                         duration=float(info.duration), title=info.tags.get("title") or None,
                         artist=info.artist, segments=[(s.start, s.end) for s in grid],
                         features={extractor.id: feats}, tags=tags, rhythm=rhythm)


def _warm_rhythm() -> None:
    """Run the rhythm analysis once on 8 s of generated drums: librosa's beat tracker is
    compiled by numba on its first call (1-2 s, ~15 s the first time after an install), which
    belongs to the worker's start, not to the first file's time limit.

    Compiled by one process at a time (:mod:`engine.rhythm.jit`): scan workers start
    together, and numba's cache is not safe when two processes compile the same gufuncs."""
    from engine.rhythm.music import analyse_rhythm
    from engine.rhythm.music_synth import synth_track

    t = synth_track("straight", seed=0, duration=8.0)
    analyse_rhythm(t.samples, t.rate)


def _rhythm_only(path: str) -> Any:
    from engine.media.audio import decode_audio
    from engine.media.errors import CorruptMedia
    from engine.rhythm.music import ANALYSIS_RATE, analyse_rhythm

    before = os.stat(path)
    rhythm = analyse_rhythm(decode_audio(path, ANALYSIS_RATE), ANALYSIS_RATE)
    after = os.stat(path)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise CorruptMedia(path, "the file changed while it was analysed; scan again once it is written")
    return rhythm
