"""``analyse``: a video (or a song) read once and through the model, streamed, cached.

    job = analyse(session, "clip.mp4", "visual", thumbnails=True)
    for event in job: event.data  # PartialAnalysis while scenes come in, then the result

Scenes are embedded as they are read, with the context read so far (``provisional``); when
the whole file is in, every scene is embedded again with its full context and the result is
cached per file content + checkpoint + segment length, so a re-opened file comes back at
once.

The speech in footage's own sound is not part of that pass: the suggestions do not use it,
only the mix's ducking at preview and export does. :func:`add_speech` hears it afterwards
(a front end starts it when the suggestions are out) and stores it with the analysis. On a
two-core machine the pass already keeps both cores busy decoding; hearing the sound beside
it made the suggestions wait ~15 % longer for a result nobody needed yet (bench/recommend.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.jobs import CancelCheck, Job, Progress, map_progress
from engine.media import NoAudioStream, NoVideoStream
from engine.media.grid import SegmentGrid
from engine.media.probe import MediaInfo, probe

from .read import SegmentsRead, read_media

ANALYSIS_VERSION = 2
"""Bump when what an analysis holds changes (v2: rhythm and speech lanes)."""
PARTIAL_EVERY = 0.25
"""Seconds between provisional updates while a file is read (the first comes at once)..."""
PARTIAL_SHARE = 5.0
"""...and at least this many times what the last one took."""
PROVISIONAL_TAIL = 4
"""Context lengths (the model's L segments) at the end that a provisional update re-reads."""


@dataclass(frozen=True)
class MediaAnalysis:
    """One video (or song) read by the model. Cached per file content + checkpoint."""
    path: str
    modality: str
    """"visual" for footage, "music" for a song."""
    checkpoint_id: str
    duration: float
    segment_seconds: float
    starts: np.ndarray
    """float64 [T] segment start times (s)."""
    ends: np.ndarray
    embeddings: np.ndarray
    """float32 [T, d]: per-segment outputs of the tower, with temporal context."""
    cls: np.ndarray
    """float32 [d]: the whole video/track."""
    attention: np.ndarray
    """float32 [T]: attention-rollout weight per segment (sums to 1)."""
    thumbnails: list[np.ndarray] = field(default_factory=list)
    """uint8 [h, w, 3] per segment (footage only)."""
    tags: np.ndarray | None = None
    """float32 [T, n_tags] music tags per segment (songs, with musicnn)."""
    tag_names: tuple[str, ...] = ()
    video_rhythm: object | None = None
    """:class:`engine.rhythm.video.VideoRhythm`: cuts, transitions, visual energy (footage)."""
    music_rhythm: object | None = None
    """:class:`engine.rhythm.music.MusicRhythm` (songs)."""
    speech: np.ndarray | None = None
    """float64 [n, 2] speech regions (s) in the footage's own sound; None when not analysed."""

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    @property
    def has_model(self) -> bool:
        """False when it was read without a model: shown, but nothing to search with."""
        return bool(self.embeddings.ndim == 2 and self.embeddings.shape[1] > 0)


@dataclass(frozen=True)
class PartialAnalysis:
    """The scenes read so far, embedded with the context read so far (they may change when the
    whole file is in): what a front end shows while the analysis runs."""
    path: str
    modality: str
    checkpoint_id: str
    done: int
    total: int
    starts: np.ndarray
    """float64 [done]"""
    ends: np.ndarray
    embeddings: np.ndarray
    """float32 [done, d]"""
    thumbnails: tuple[np.ndarray, ...] = ()

    def __len__(self) -> int:
        return self.done


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """torch on one CPU thread in this thread meanwhile (the OpenMP setting is per thread).

    The provisional encodes run while the decoder keeps both cores of a small machine busy:
    with two threads, torch's OpenMP worker spins between the model's many small ops and took
    ~40 % of the CPU during the decode (perf, bench/recommend.py's video); on one thread the
    small model is as fast on its own and the decoder keeps its core."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _provisional(loaded, modality: str, features: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """Embeddings [n, d] of the ``n`` scenes read so far (``features`` [n, D]), with the context
    read so far. Only the last PROVISIONAL_TAIL context lengths go through the model again:
    the scenes before keep what the last update (``shown`` [m, d]) gave them, with the context
    they had then, a window and more after them. The whole prefix each time made every update
    cost more than the one before (a 2-hour file: ~1,000 scenes) and left the process's heap
    ~23 MB an hour bigger (blocks of ever-growing sizes)."""
    n = features.shape[0]
    L = int(loaded.config.seq_len)
    start = max(0, n - PROVISIONAL_TAIL * L)
    start = min(start, max(0, shown.shape[0] - L))  # the kept rows had a window after them
    if start == 0:
        return loaded.encode(modality, features).segments
    tail = loaded.encode(modality, features[start:]).segments  # [n - start, d]
    # the tail's first window lacks what came before it: its rows come from the last update
    return np.concatenate([shown[:start + L], tail[L:]])


def cache_file(session, path: Path, modality: str, checkpoint_id: str) -> Path:
    from engine.features.cache import content_key
    from engine.rhythm.music import RHYTHM_VERSION
    from engine.rhythm.video import CUTS_VERSION

    # a new cut detector or beat tracker redoes stored analyses
    key = (f"{content_key(path)}|{checkpoint_id}|{modality}|{session.segment_seconds}|{ANALYSIS_VERSION}|"
           f"c{CUTS_VERSION}|r{RHYTHM_VERSION}")
    return session.data_dir / "analyses" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npz"


def analyse(session, path: str | os.PathLike[str], modality: str, *, thumbnails: bool = True,
            rhythm: bool = True, info: MediaInfo | None = None,
            cancel: CancelCheck | None = None) -> Job[MediaAnalysis]:
    """Job: the :class:`MediaAnalysis` of ``path`` (see module doc). ``session`` is an
    :class:`engine.session.EngineSession`; without a model the file is read (thumbnails,
    rhythm) but has no vectors. Its ``speech`` is None (see :func:`add_speech`), or what an
    earlier :func:`add_speech` stored with it. ``info``: the probe the caller already made."""
    from .cache import load_analysis, save_analysis

    path = Path(path)
    yield Progress("probe", 0, None, f"reading {path.name}")
    info = info or probe(path)
    if modality == "visual" and info.video is None:
        raise NoVideoStream(path, "has no video stream: footage is needed here (a song can be used "
                                  "the other way round, to find footage for it)")
    if modality == "music" and info.audio is None:
        raise NoAudioStream(path, "has no audio track; choose a song")
    loaded = session.model if session.has_model else None  # without a model: picture, rhythm, speech
    ck = loaded.checkpoint_id if loaded is not None else ""
    seconds = float(session.segment_seconds)
    target = cache_file(session, path, modality, ck)
    cached = load_analysis(target, path)
    if cached is not None and (cached.thumbnails or not thumbnails or modality != "visual"):
        yield Progress("done", 1, 1, "from cache")
        return cached
    grid = SegmentGrid(info.duration, seconds)
    encoder = session.extractor(modality) if loaded is not None else None
    starts = np.array([s.start for s in grid])
    ends = np.array([s.end for s in grid])
    reader = read_media(path, encoder, seconds, modality=modality, info=info, grid=grid,
                        thumbnails=thumbnails and modality == "visual",
                        rhythm=rhythm, cancel=cancel)
    next_at = [-1.0]  # monotonic time of the next provisional update (the first comes at once)
    shown = [np.zeros((0, 0), np.float32)]  # the last provisional embeddings [n, d]

    def provisional(ev: Progress) -> Progress:
        """The scenes read so far through the model (at most every PARTIAL_EVERY seconds)."""
        data = ev.data
        plain = Progress(ev.stage, ev.done, ev.total, ev.message)
        if not isinstance(data, SegmentsRead) or data.done >= data.total or loaded is None:
            return plain
        now = time.monotonic()
        if now < next_at[0]:
            return plain
        with _one_torch_thread():
            emb = shown[0] = _provisional(loaded, modality, data.features, shown[0])
        # the model's share of this thread stays small, however slow it runs here
        next_at[0] = now + max(PARTIAL_EVERY, PARTIAL_SHARE * (time.monotonic() - now))
        return Progress(ev.stage, ev.done, ev.total, ev.message,
                        PartialAnalysis(str(path), modality, ck, data.done, data.total, starts[:data.done],
                                        ends[:data.done], emb, data.thumbnails))

    read = yield from map_progress(reader, provisional)
    T = len(grid)
    if loaded is not None:
        yield Progress("model", 0, 1, "reading the whole sequence with the model")
        enc = loaded.encode(modality, read.features, need_weights=True)
        emb, cls, att = enc.segments, enc.cls, enc.attention
    else:  # no model: nothing to search with, but the file is read and shown
        emb, cls, att = np.zeros((T, 0), np.float32), np.zeros(0, np.float32), np.full(T, 1.0 / T, np.float32)
    analysis = MediaAnalysis(str(path), modality, ck, info.duration, seconds, starts, ends, emb, cls, att,
                             list(read.thumbnails), read.tags, tuple(read.tag_names),
                             read.video_rhythm, read.music_rhythm, None)
    save_analysis(target, analysis)
    yield Progress("done", 1, 1, "analysis ready")
    return analysis


def add_speech(session, analysis: MediaAnalysis, *, cancel: CancelCheck | None = None) -> Job[MediaAnalysis]:
    """Job: ``analysis`` (footage) with the speech regions of its own sound, stored with it in
    the cache, so a re-opened file has them at once. Returned as it is when it has them
    already (or is a song). The stored entry is replaced atomically: a cancel or a failure
    leaves the analysis stored as it was."""
    import dataclasses

    from .cache import save_analysis
    from .read import speech_regions

    if analysis.speech is not None or analysis.modality != "visual":
        return analysis
    path = Path(analysis.path)
    target = cache_file(session, path, analysis.modality, analysis.checkpoint_id)
    regions = yield from speech_regions(path, cancel=cancel)
    heard = dataclasses.replace(analysis, speech=regions)
    # stored only where it belongs: this session's segment length, and the file unchanged
    # since (its content is in the entry's name)
    if (analysis.segment_seconds == float(session.segment_seconds)
            and cache_file(session, path, analysis.modality, analysis.checkpoint_id) == target):
        save_analysis(target, heard)
    return heard
