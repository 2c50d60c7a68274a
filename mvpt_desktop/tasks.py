"""The work the GUI asks of the engine, as plain functions and jobs (no Qt here).

Each runs on a worker thread (:mod:`mvpt_desktop.workers`) and returns frozen data that the
Qt models display: nothing here touches a widget, and the GUI thread never calls these.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.jobs import CancelCheck, Job, Progress, check_cancel, map_progress
from engine.recommend import (
    Conditioning,
    MediaAnalysis,
    NotMediaError,
    PartialAnalysis,
    SegmentSuggestion,
    TrackSuggestion,
    analyse_media,
    best_soundtracks,
    hear_speech,  # noqa: F401 - the controller hears the footage's speech through tasks
    preload,
    probe,
    recommend_segments,
    snap_to_beat,
    track_rhythm,
)
from engine.session import EngineSession

from .cue_rhythm import CueRhythm, CutRow, cue_rhythm, mmss, place_rhythm, video_cuts  # noqa: F401 - callers use tasks.*

TAGS_SHOWN = 3
COHORT = 100
"""Per scene, the best segment of up to this many tracks of the library: the spread that a
suggestion's score is judged against (its confidence)."""
MIN_COHORT = 8
"""Fewer tracks than this: too few to say whether one stands out (no verdict)."""
GOOD_Z = 2.5
"""A robust z above this is above 99 % of a (normal) library's tracks for the scene: "good".
Below it for every suggestion, the scene says that no track fits it well."""


def stands_out_z(n: int) -> float:
    """The robust z (:func:`confidence`) that the best of ``n`` tracks reaches by chance alone,
    with a margin: √(2 ln n) + 0.6 + 4/√n, ≈ the 97th–99th percentile of the best of ``n``
    normal scores (simulated: 4.0 for 10 tracks where the 99th is 5.8, 3.9 for 20 (4.4), 3.9
    for 40 (4.1), 4.0 for 100 (4.05)). A suggestion above it stands out even from what
    chance gives the best of ``n`` tracks: "strong"."""
    n = max(2, n)
    return float(np.sqrt(2.0 * np.log(n)) + 0.6 + 4.0 / np.sqrt(n))


@dataclass(frozen=True)
class SuggestionRow:
    """One suggestion for one segment, with what the list shows beside it."""
    suggestion: SegmentSuggestion
    tags: tuple[str, ...] = ()
    """The track's top musicnn tags (empty without musicnn, or for footage)."""
    confidence: float | None = None
    """How far the score stands above the library's scores for this scene, in standard
    deviations (see :func:`confidence`); None when the library is too small to say."""
    bar: float | None = None
    """The z that chance alone reaches with this many tracks (:func:`stands_out_z`)."""
    beat_start: float | None = None
    """The suggested start snapped to the track's nearest beat (s, track time); None when
    the track has no steady beat (or no stored rhythm)."""

    @property
    def track_start(self) -> float:
        """Where the music starts when this suggestion is used: on the beat when there is one."""
        return self.suggestion.start if self.beat_start is None else self.beat_start

    @property
    def verdict(self) -> str:
        z, bar = self.confidence, self.bar
        if z is None or bar is None:
            return ""
        return "strong" if z >= max(bar, GOOD_Z) else "good" if z >= GOOD_Z else "weak"

    @property
    def name(self) -> str:
        s = self.suggestion
        return _display_name(s.title, s.artist, s.path)


def _display_name(title: str | None, artist: str | None, path: str) -> str:
    """Title first: in a narrow column the end is elided, and the title is what tells tracks
    of one artist apart."""
    title = title or Path(path).name
    return f"{title} – {artist}" if artist else title


@dataclass(frozen=True)
class TrackRow:
    track: TrackSuggestion
    tags: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        t = self.track
        return _display_name(t.title, t.artist, t.path)


@dataclass(frozen=True)
class Results:
    """Everything the lists show for one analysis under one conditioning."""
    per_segment: tuple[tuple[SuggestionRow, ...], ...]
    whole: tuple[TrackRow, ...]
    weights: tuple[tuple[str, float], ...] = ()

    def fits_well(self, scene: int) -> bool | None:
        """Whether some track stands out for ``scene`` (None: the library is too small to say)."""
        rows = self.per_segment[scene] if 0 <= scene < len(self.per_segment) else ()
        verdicts = [r.verdict for r in rows if r.verdict]
        return None if not verdicts else any(v != "weak" for v in verdicts)


@dataclass(frozen=True)
class AttributeInfo:
    name: str
    modality: str
    source: str


@dataclass(frozen=True)
class Opened:
    """A file read by the model, with its first results."""
    analysis: MediaAnalysis
    results: Results
    attributes: tuple[AttributeInfo, ...] = ()
    strip: np.ndarray | None = None
    """The timeline's picture (:func:`thumbnail_strip`), made in the worker."""
    provisional: bool = False
    """True while the file is still being read: only the first scenes are in, embedded with
    the context read so far; the final :class:`Opened` replaces it."""
    total: int = 0
    """Scenes the whole file will have (for a provisional one)."""

    @property
    def is_music(self) -> bool:
        return self.analysis.modality == "music"


@dataclass(frozen=True)
class EngineStatus:
    model: str
    extractors: str
    demo: bool = False
    has_model: bool = False
    clip_active: bool = False
    """True when the visual extractor has a text tower (text attributes possible)."""
    attributes: tuple[AttributeInfo, ...] = ()
    checkpoint_id: str | None = None
    counts: dict = field(default_factory=dict)
    checkpoint_path: str | None = None
    """The active model's folder ("Teach it your style" starts from it)."""
    kind: str = "none"
    """"demo", "starter", "model" or "none" (engine.session.SessionStatus.kind)."""
    short: str = ""
    """The status bar's line (engine.session.SessionStatus.short); the full lines go to its tooltip."""


def engine_status(session: EngineSession) -> EngineStatus:
    """Load the model (the slow part, once), import what the first analysis needs
    (:func:`engine.recommend.preload`), and describe what is active."""
    st = session.status()
    has_model = session.has_model
    try:
        clip = hasattr(session.extractor("visual"), "encode_text")
    except Exception:  # noqa: BLE001 - no extractor: no text attributes, said in the status line
        clip = False
    preload()
    return EngineStatus(st.model, st.extractors, st.demo, has_model, clip,
                        attribute_infos(session) if has_model else (),
                        session.checkpoint_id if has_model else None, kind=st.kind,
                        checkpoint_path=str(session.model.path) if has_model else None, short=st.short)


def attribute_infos(session: EngineSession) -> tuple[AttributeInfo, ...]:
    out = []
    for a in session.library.catalog.attributes(session.checkpoint_id):
        src = next((f"{k}: {a.meta[k]}" for k in ("text", "images", "audio") if k in a.meta), "")
        out.append(AttributeInfo(a.name, a.modality, src))
    return tuple(out)


PROVISIONAL_EVERY = 1.0
"""Seconds between provisional updates of the window while a file is read (the first at once)."""


def open_media(session: EngineSession, path: str, k: int, weights: dict[str, float],
               cancel: CancelCheck | None = None) -> Job[Opened]:
    """Analyse ``path`` as footage (or as a song when it has no picture) and rank.

    While the file is read, progress events carry a provisional :class:`Opened` (``data``):
    the scenes read so far with their suggestions, embedded with the context read so far.
    Without a model the file is read and shown (scenes, thumbnails, cuts), with no suggestions."""
    import time

    p = Path(path)
    if not p.is_file():
        raise NotMediaError(p, "is not a file; drop a video or a song")
    info = probe(p)
    has_model = session.has_model
    attrs = attribute_infos(session) if has_model else ()
    known = {a.name for a in attrs}
    weights = {n: w for n, w in weights.items() if n in known}
    job = analyse_media(session, p, info=info, cancel=cancel)
    last = [-1.0]

    def provisional(ev: Progress) -> Progress:
        data = None
        if isinstance(ev.data, PartialAnalysis) and time.monotonic() - last[0] >= PROVISIONAL_EVERY:
            last[0] = time.monotonic()
            data = _provisional(session, ev.data, info.duration, k, weights, attrs)
        return Progress(ev.stage, ev.done, ev.total, ev.message, data)

    analysis = yield from map_progress(job, provisional)
    check_cancel(cancel)
    yield Progress("rank", 0, 1, "finding suggestions")
    results = rank(session, analysis, k, weights) if analysis.has_model else _no_results(len(analysis))
    strip = thumbnail_strip(analysis.thumbnails, analysis.starts, analysis.ends, analysis.duration)
    return Opened(analysis, results, attrs, strip)


def _no_results(n: int) -> Results:
    return Results(tuple(() for _ in range(n)), ())


def _provisional(session: EngineSession, part, duration: float, k: int, weights: dict[str, float],
                 attrs) -> Opened:
    """The scenes read so far as an :class:`Opened` (``provisional``): per-scene lists only; the
    whole-video list needs the whole video."""
    n = part.done
    analysis = MediaAnalysis(part.path, part.modality, part.checkpoint_id, duration, float(session.segment_seconds),
                             part.starts, part.ends, part.embeddings, np.zeros(part.embeddings.shape[1], np.float32),
                             np.full(n, 1.0 / max(1, n), np.float32), list(part.thumbnails))
    results = rank(session, analysis, k, weights, whole=False)
    strip = thumbnail_strip(analysis.thumbnails, analysis.starts, analysis.ends, duration)
    return Opened(analysis, results, attrs, strip, provisional=True, total=part.total)


def confidence(scores: np.ndarray) -> np.ndarray | None:
    """Robust z-scores of one scene's best-per-track scores (up to :data:`COHORT` tracks):
    (score − median) / (1.4826 · MAD), so a few tracks that fit together (four ambient pieces
    for an ambient scene) do not widen the spread they are judged by. Cosine scores of one
    model bunch in a narrow band (0.33–0.46 was seen), so a raw score says little; how far a
    track stands above what the library offers for this scene does, judged against
    :func:`stands_out_z`. None for fewer than :data:`MIN_COHORT` tracks.

    With more than ``COHORT`` tracks the cohort is the best ``COHORT`` of them, whose spread
    is narrower than the library's: the z-scores then run high (an optimistic verdict)."""
    x = np.asarray(scores, dtype=np.float64)
    if x.size < MIN_COHORT:
        return None
    med = float(np.median(x))
    spread = max(1.4826 * float(np.median(np.abs(x - med))), 1e-4)
    return (x - med) / spread


def rank(session: EngineSession, analysis: MediaAnalysis, k: int, weights: dict[str, float], *,
         whole: bool = True) -> Results:
    """Per-segment and whole-video suggestions under the given attribute weights, each scene's
    with its confidence against the library's spread (:func:`confidence`)."""
    cond = Conditioning(dict(weights))
    per_seg = recommend_segments(session, analysis, max(k, COHORT), cond)
    whole = best_soundtracks(session, analysis, k, cond) if whole else []
    tags = _TagCache(session, enabled=analysis.modality == "visual")
    beats = _BeatCache(session, enabled=analysis.modality == "visual")
    rows = []
    for row in per_seg:
        z = confidence(np.array([s.score for s in row]))
        bar = stands_out_z(len(row))
        rows.append(tuple(SuggestionRow(s, tags(s.item_id), None if z is None else float(z[i]),
                                        None if z is None else bar, beats(s.item_id, s.start))
                          for i, s in enumerate(row[:k])))
    rows = tuple(rows)
    tracks = tuple(TrackRow(t, tags(t.item_id)) for t in whole)
    return Results(rows, tracks, tuple(sorted(cond.active.items())))


class _TagCache:
    def __init__(self, session: EngineSession, enabled: bool) -> None:
        self.catalog = session.library.catalog
        self.enabled = enabled
        self.cache: dict[int, tuple[str, ...]] = {}

    def __call__(self, item_id: int) -> tuple[str, ...]:
        if not self.enabled:
            return ()
        if item_id not in self.cache:
            t = self.catalog.tags(item_id)
            self.cache[item_id] = tuple(name for name, _ in t.top(TAGS_SHOWN)) if t is not None else ()
        return self.cache[item_id]


SNAP_TOLERANCE = 1.0
"""A per-scene start moves to a beat at most this far (s): past the track's last beat it stays."""


class _BeatCache:
    """Each track's stored rhythm, read once per ranking: the beat-aligned starts."""

    def __init__(self, session: EngineSession, enabled: bool) -> None:
        self.session = session
        self.enabled = enabled
        self.cache: dict[int, object] = {}

    def __call__(self, item_id: int, start: float) -> float | None:
        if not self.enabled:
            return None
        if item_id not in self.cache:
            self.cache[item_id] = track_rhythm(self.session, item_id)
        r = self.cache[item_id]
        if r is None or not getattr(r, "steady", False) or not len(r.beats):
            return None
        return float(snap_to_beat(start, r, SNAP_TOLERANCE))


def preview_path(video: str, music: str, offset: float, original_level: float | None,
                 fade_in: float, fade_out: float) -> Path:
    """Where the muxed preview of this choice lives (in the rebuildable cache)."""
    from engine.paths import cache_dir

    st = os.stat(video)
    key = f"{video}|{st.st_size}|{st.st_mtime_ns}|{music}|{offset:.3f}|{original_level}|{fade_in}|{fade_out}"
    d = cache_dir() / "previews"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{Path(video).stem[:40]}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.mp4"


def audition_source(path: str, start: float, seconds: float) -> tuple[str, float]:
    """(file, start) the app's player can play for an audition (:func:`engine.export.playable_audio`)."""
    from engine.export import playable_audio
    from engine.paths import cache_dir

    return playable_audio(path, start, seconds, cache_dir() / "auditions")


def make_preview(video: str, spec, out: Path, cancel: CancelCheck | None = None) -> Job[Path]:
    """The footage with the chosen music muxed in (kept when it exists already)."""
    from engine.export import write_with_soundtrack

    if out.exists() and out.stat().st_size > 0:
        yield Progress("done", 1, 1, "preview ready")
        return out
    return (yield from write_with_soundtrack(video, spec, out, cancel=cancel))


# -- the cue sheet's preview ------------------------------------------------------------------------

def sheet_preview_path(video: str, sheet, settings) -> Path:
    """Where the preview of this cue sheet under these mix settings lives (rebuildable cache)."""
    from dataclasses import asdict

    from engine.paths import cache_dir

    st = os.stat(video)
    key = f"{video}|{st.st_size}|{st.st_mtime_ns}|{sheet.to_json()}|{sorted(asdict(settings).items())}"
    d = cache_dir() / "previews"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{Path(video).stem[:40]}-sheet-{hashlib.sha256(key.encode()).hexdigest()[:16]}.mp4"


def sheet_rhythms(session: EngineSession, sheet) -> dict:
    """{music path: its stored MusicRhythm} for the sheet's tracks that the library analysed,
    so the mix puts crossfades and fades on downbeats (plain ones for the others)."""
    out: dict = {}
    for cue in sheet.cues:
        if cue.item_id is None or cue.music_path in out:
            continue
        try:
            r = session.library.catalog.rhythm(int(cue.item_id))
        except Exception:  # noqa: BLE001 - no rhythm: plain fades, never a failed preview
            r = None
        if r is not None:
            out[cue.music_path] = r
    return out


def make_sheet_preview(video: str, sheet, settings, cancel: CancelCheck | None = None,
                       session: EngineSession | None = None, speech=None) -> Job[Path]:
    """The footage with the cue sheet mixed as it will be exported (the engine's preview job,
    fades on the stored downbeats when ``session``'s library has them), kept in the cache
    when it exists already."""
    from .export import preview_sheet_job

    out = sheet_preview_path(video, sheet, settings)
    if out.exists() and out.stat().st_size > 0:
        yield Progress("done", 1, 1, "preview ready")
        return out
    rhythms = sheet_rhythms(session, sheet) if session is not None else None
    # speech: the regions the analysis pass found (None: the job listens itself)
    return (yield from preview_sheet_job(video, sheet, settings, out=out, rhythms=rhythms or None, speech=speech,
                                         cancel=cancel))


# -- the library -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LibraryOverview:
    folders: tuple[tuple[str, str], ...]
    """(kind, path)"""
    counts: dict
    """{kind: {"ok": n, "failed": m}}"""
    failures: tuple[tuple[str, str], ...]
    """(path, reason)"""
    embedded: dict
    """{kind: items with vectors for the active model}"""


def library_overview(session: EngineSession) -> LibraryOverview:
    cat = session.library.catalog
    embedded = {}
    if session.has_model:
        embedded = {k: v["items"] for k, v in cat.embedding_counts(session.checkpoint_id).items()}
    return LibraryOverview(tuple((f.kind, f.path) for f in cat.folders()),
                           {k: cat.status_counts(k) for k in ("music", "footage")},
                           tuple(cat.failures()), embedded)


def scan_job(session: EngineSession, folder: str, kind: str, cancel: CancelCheck | None = None):
    """Scan a folder with the extractor and segment length the model was trained with."""
    return (yield from session.library.scan(folder, kind, workers=1, cancel=cancel, **session.scan_options(kind)))


# -- the timeline's picture --------------------------------------------------------------------

STRIP_HEIGHT = 90
STRIP_MAX_WIDTH = 16384


def thumbnail_strip(thumbnails, starts, ends, duration: float) -> np.ndarray | None:
    """One uint8 [h, w, 3] picture of the whole timeline: each segment's thumbnail stretched
    over its time span (x ∝ seconds), a dark line between segments. One image instead of one
    item per segment keeps showing a long video cheap for the GUI thread."""
    if not len(thumbnails) or duration <= 0:
        return None
    per_seg = max(1, min(160, STRIP_MAX_WIDTH // max(1, len(thumbnails))))
    pps = per_seg / max(1e-6, float(np.median(np.asarray(ends) - np.asarray(starts))))
    width = max(1, int(round(duration * pps)))
    strip = np.full((STRIP_HEIGHT, width, 3), 24, np.uint8)
    for img, a, b in zip(thumbnails, starts, ends):
        x0, x1 = int(round(a * pps)), min(width, int(round(b * pps)))
        if x1 - x0 < 3 or img is None or img.size == 0:
            continue
        h, w = img.shape[:2]
        rows = (np.arange(STRIP_HEIGHT) * h // STRIP_HEIGHT).clip(0, h - 1)
        cols = (np.arange(x1 - x0 - 2) * w // max(1, x1 - x0 - 2)).clip(0, w - 1)
        strip[:, x0 + 1:x1 - 1] = img[rows][:, cols, :3]
    return strip
