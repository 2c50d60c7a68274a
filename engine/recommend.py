"""The one API front ends call: analyse media, suggest music per segment and for the whole
video, fit a track's start offset, find footage for music, condition on attributes.

Shapes: T segments of the query; d the shared embedding size; all vectors unit norm.

    analysis = run(analyse_video(session, "clip.mp4"))       # slow once, then cached
    per_seg  = recommend_segments(session, analysis, k=5)    # [T][k] SegmentSuggestion
    whole    = best_soundtracks(session, analysis, k=5)      # track + offset + score
    per_seg  = recommend_segments(session, analysis, 5, Conditioning({"drums": +0.7}))

Re-ranking with other attribute weights never recomputes the video: only the query
vectors change (y' = y + Σ wᵢ·âᵢ, renormalised) and the index is searched again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.analysis import MediaAnalysis, PartialAnalysis, add_speech, analyse
from engine.jobs import CancelCheck, Job, run
from engine.media import MediaError, NotMediaError
from engine.media.grid import clock
from engine.media.probe import probe
from engine.session import EngineSession
from engine.track_rhythm import (
    downbeat_within_a_beat,
    fit_track_to_video,
    next_fitting_start,
    slip_cue,
    snap_to_beat,
    stored_rhythm,
    sync_cue,
    synced_start,
    track_rhythm,
    with_sync_followers,
)


@dataclass(frozen=True)
class SegmentSuggestion:
    item_id: int
    path: str
    title: str
    artist: str | None
    segment: int
    """Segment index in the suggested track (or footage)."""
    start: float
    """Where in the track (or footage) to start, in seconds."""
    score: float
    """Cosine similarity, −1…1."""


@dataclass(frozen=True)
class TrackSuggestion:
    item_id: int
    path: str
    title: str
    artist: str | None
    score: float
    """Whole-video match (CLS cosine), or the combined score for best_soundtracks."""
    offset: float | None = None
    """Start offset into the track (s) that best fits the whole video."""
    coverage: float | None = None
    """Fraction of the video the track covers from that offset."""
    fit_score: float | None = None
    model_score: float | None = None
    """The model's part of ``score`` (CLS and per-segment fit, counted by coverage)."""
    sync: object | None = None
    """:class:`engine.rhythm.sync.SyncFit` of the video's cuts and energy on this track, when
    both have a rhythm analysis (``sync.reason`` says when it carried no information)."""
    on_downbeat: bool = False
    """The offset starts the track on a downbeat."""
    note: str = ""
    """Why the offset is what it is, in words (shown in the app and the CLI)."""

    @property
    def sync_label(self) -> str:
        """A few words on the sync of this start for a list's cell (:func:`~engine.rhythm.sync.sync_summary`)."""
        from engine.rhythm.sync import sync_summary

        return sync_summary(self.sync)


@dataclass(frozen=True)
class SoundtrackFit:
    item_id: int
    offset_segments: int
    offset: float
    score: float
    """Mean per-segment similarity over the whole video (uncovered segments count 0)."""
    coverage: float
    scores: np.ndarray
    """[n_offsets] the score at every offset (for plots)."""
    similarity: np.ndarray | None = field(default=None, repr=False)
    """[T_v, T_m] the scenes' cosine with the track's segments (:func:`content_curve` reads it)."""
    segments: tuple = field(default=(), repr=False)
    """The track's catalogued (start, end) segment times."""


@dataclass(frozen=True)
class Conditioning:
    """Signed attribute weights, e.g. ``{"drums": 0.8, "vocals": -0.5}``."""
    weights: Mapping[str, float] = field(default_factory=dict)

    @property
    def active(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.weights.items() if abs(float(v)) > 1e-6}


# -- analysis ----------------------------------------------------------------------------

PRELOAD = ("scipy.fft", "scipy.signal", "PIL.Image", "numpy.ma", "engine.analysis.pipeline", "engine.rhythm.video",
           "engine.rhythm.sync", "engine.attributes")
"""What the first analysis and ranking of a file import lazily (the sync's cross-correlation,
thumbnails, cut detection); :func:`preload` also loads the speech detector."""


def preload() -> None:
    """Import :data:`PRELOAD` now. An import holds the interpreter's lock while the extension
    modules load (scipy.fft alone ~0.4 s on a busy 2-core machine): done lazily inside the
    first analysis, it froze a front end's GUI thread for up to 100 ms at a time just as the
    first scenes came in. A front end calls this once in a worker at start-up."""
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    from engine.mix.speech import preload as preload_speech

    preload_speech()  # the footage's speech is heard right after every analysis


def analyse_video(session: EngineSession, path: str | os.PathLike[str], *, thumbnails: bool = True,
                  cancel: CancelCheck | None = None) -> Job[MediaAnalysis]:
    """Segments, thumbnails, contextualised embeddings, CLS, attention and cuts of a video,
    in one pass over the file (:func:`engine.analysis.analyse`); progress events carry
    the scenes read so far (:class:`engine.analysis.PartialAnalysis`)."""
    return analyse(session, path, "visual", thumbnails=thumbnails, cancel=cancel)


hear_speech = add_speech
"""Job: the footage's analysis with the speech in its own sound (where the mix ducks the
music), stored with it; a front end asks once the suggestions are out."""


def analyse_music(session: EngineSession, path: str | os.PathLike[str], *,
                  cancel: CancelCheck | None = None) -> Job[MediaAnalysis]:
    """The same for a song (the query of "footage for music")."""
    return analyse(session, path, "music", thumbnails=False, cancel=cancel)


def analyse_media(session: EngineSession, path: str | os.PathLike[str], *, info=None,
                  cancel: CancelCheck | None = None) -> Job[MediaAnalysis]:
    """A video as footage, a file without picture as a song (``info``: the caller's probe)."""
    from engine.media.probe import probe

    info = info or probe(path)
    modality = "visual" if info.video is not None else "music"
    return analyse(session, path, modality, thumbnails=modality == "visual", info=info, cancel=cancel)


# -- conditioning --------------------------------------------------------------------------

def attribute_directions(session: EngineSession, level: str = "segment") -> dict[str, np.ndarray]:
    """Unit direction of each attribute of the active checkpoint, for per-segment queries or
    for whole-video ([CLS], ``level="track"``) ones."""
    from engine.attributes import direction

    return {a.name: direction(a, level) for a in session.library.catalog.attributes(session.checkpoint_id)}


def condition(queries: np.ndarray, conditioning: Conditioning | None,
              directions: Mapping[str, np.ndarray]) -> np.ndarray:
    """y' = normalise(y + Σ wᵢ·âᵢ) for ``queries`` [n, d] (or [d])."""
    q = np.asarray(queries, np.float32)
    if conditioning is None or not conditioning.active:
        return q
    shift = np.zeros(q.shape[-1], np.float32)
    for name, w in conditioning.active.items():
        if name not in directions:
            raise KeyError(f"no attribute named {name!r} for this model; see `mvpt attribute list`")
        shift += np.float32(w) * directions[name]
    out = q + shift
    return (out / np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), 1e-8)).astype(np.float32)


# -- search ------------------------------------------------------------------------------

def _searchable(analysis) -> bool:
    """Read with a model (a file opened before any model exists has no vectors)."""
    e = analysis.embeddings
    return bool(e.ndim == 2 and e.shape[1] > 0 and len(e))


def _target_kind(modality: str) -> str:
    return "music" if modality == "visual" else "footage"


def recommend_segments(session: EngineSession, analysis: MediaAnalysis, k: int = 10,
                       conditioning: Conditioning | None = None) -> list[list[SegmentSuggestion]]:
    """For each query segment, the top-``k`` segments of the other modality, one per item."""
    kind = _target_kind(analysis.modality)
    if not _searchable(analysis):
        return [[] for _ in range(len(analysis))]
    index = session.library.index(analysis.checkpoint_id, kind, "segment")
    if len(index) == 0:
        return [[] for _ in range(len(analysis))]
    q = condition(analysis.embeddings, conditioning, attribute_directions(session) if conditioning else {})
    catalog = session.library.catalog
    meta = _ItemMeta(catalog)
    starts: dict[int, dict[int, float]] = {}
    out: list[list[SegmentSuggestion]] = []
    from engine.library.records import unpack_ids

    wide = min(len(index), max(4 * k, k + 32))
    scores, ids = index.search(q, wide)
    for row in range(len(analysis)):
        while True:
            picks = _distinct_items(scores[row], *unpack_ids(ids[row]), k, meta, starts, catalog)
            if len(picks) == k or wide >= len(index):
                break
            # many hits from the same tracks: look further down this row's ranking
            wide = min(len(index), 4 * wide)
            scores, ids = index.search(q, wide)
        out.append(picks)
    return out


def _distinct_items(scores, items, segs, k: int, meta, starts, catalog) -> list[SegmentSuggestion]:
    seen: set[int] = set()
    picks: list[SegmentSuggestion] = []
    for s, item, seg in zip(scores, items, segs):
        item, seg = int(item), int(seg)
        if item < 0 or item in seen:
            continue
        seen.add(item)
        it = meta(item)
        if it is None:
            continue
        if item not in starts:
            starts[item] = {i: a for i, (a, _) in enumerate(catalog_segments(catalog, item))}
        picks.append(SegmentSuggestion(item, it.path, it.title or Path(it.path).stem, it.artist, seg,
                                       float(starts[item].get(seg, 0.0)), float(s)))
        if len(picks) == k:
            break
    return picks


def catalog_segments(catalog, item_id: int) -> list[tuple[float, float]]:
    return [(s.start, s.end) for s in catalog.segments(item_id)]


class _ItemMeta:
    def __init__(self, catalog) -> None:
        self.catalog = catalog
        self.cache: dict[int, object] = {}

    def __call__(self, item_id: int):
        if item_id not in self.cache:
            self.cache[item_id] = self.catalog.item(item_id)
        return self.cache[item_id]


def recommend_tracks(session: EngineSession, analysis: MediaAnalysis, k: int = 10,
                     conditioning: Conditioning | None = None) -> list[TrackSuggestion]:
    """Whole-video ranking of tracks by their [CLS] vectors."""
    kind = _target_kind(analysis.modality)
    if not _searchable(analysis):
        return []
    index = session.library.index(analysis.checkpoint_id, kind, "track")
    if len(index) == 0:
        return []
    q = condition(analysis.cls[None], conditioning, attribute_directions(session, "track") if conditioning else {})
    scores, ids = index.search(q, min(k, len(index)))
    from engine.library.records import unpack_ids

    items, _ = unpack_ids(ids)
    meta = _ItemMeta(session.library.catalog)
    out = []
    for s, item in zip(scores[0], items[0]):
        it = meta(int(item))
        if it is not None:
            out.append(TrackSuggestion(int(item), it.path, it.title or Path(it.path).stem, it.artist, float(s)))
    return out


def fit_soundtrack(session: EngineSession, analysis: MediaAnalysis, item_id: int,
                   conditioning: Conditioning | None = None) -> SoundtrackFit:
    """The start offset (in whole segments) of track ``item_id`` that best fits the video.

    score(o) = (1/T_v) Σ_i ⟨v_i, m_{o+i}⟩ over the video segments the track still covers from
    offset o; segments past the track's end count 0, so a track too short for the video
    scores lower and ``coverage`` says how much of the video it covers.
    """
    pair = session.library.catalog.item_embeddings(item_id, analysis.checkpoint_id)
    if pair is None:
        raise KeyError(f"track {item_id} has no vectors for this model; re-index the library")
    m = pair[0]  # (T_m, d)
    v = condition(analysis.embeddings, conditioning, attribute_directions(session) if conditioning else {})
    sim = v @ m.T  # (T_v, T_m)
    tv, tm = sim.shape
    scores = np.empty(tm, np.float32)
    for o in range(tm):
        n = min(tv, tm - o)
        scores[o] = np.trace(sim[:n, o:o + n]) / tv
    best = int(np.argmax(scores))
    seg = float(session.segment_seconds)
    segs = tuple(catalog_segments(session.library.catalog, item_id))
    offset = float(segs[best][0]) if best < len(segs) else best * seg
    return SoundtrackFit(item_id, best, offset, float(scores[best]), min(tv, tm - best) / tv, scores, sim, segs)


def content_curve(session: EngineSession, analysis: MediaAnalysis, item_id: int,
                  conditioning: Conditioning | None = None, step: float = 0.1,
                  fit: SoundtrackFit | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The model's content match of track ``item_id`` started at every offset, for the sync's
    choice among offsets it cannot tell apart (:func:`engine.rhythm.sync.best_offset`'s
    ``content``): offsets [K] (s, ``step`` apart, over the track) and the mean over the
    video's segments of the cosine with the track at the same time [K] (linear between the
    track's segment centres; past its end 0, as :func:`fit_soundtrack` counts it).
    ``fit``: that track's :func:`fit_soundtrack` (with the same ``conditioning``), whose
    similarities are reused instead of read and computed again."""
    if not _searchable(analysis):
        return np.zeros(0), np.zeros(0)
    if fit is None or fit.similarity is None:
        try:
            fit = fit_soundtrack(session, analysis, item_id, conditioning)
        except KeyError:  # no vectors for this model
            return np.zeros(0), np.zeros(0)
    sim = fit.similarity.astype(np.float64)  # [T_v, T_m]
    tv, tm = sim.shape
    segs = list(fit.segments)[:tm]
    mc = np.array([(a + b) / 2 for a, b in segs]) if len(segs) == tm else (np.arange(tm) + 0.5) * session.segment_seconds
    vc = (np.asarray(analysis.starts, np.float64) + np.asarray(analysis.ends, np.float64)) / 2  # [T_v]
    end = float(segs[-1][1]) if len(segs) == tm and segs else tm * session.segment_seconds
    offsets = np.arange(0.0, max(end - step, 0.0) + step / 2, step)  # [K]
    x = offsets[:, None] + vc[None, :]  # [K, T_v] track time under each video segment's centre
    j = np.clip(np.searchsorted(mc, x) - 1, 0, max(tm - 2, 0))  # left neighbour
    if tm > 1:
        w = np.clip((x - mc[j]) / np.maximum(mc[j + 1] - mc[j], 1e-9), 0.0, 1.0)
        rows = np.arange(tv)[None, :]
        val = (1 - w) * sim[rows, j] + w * sim[rows, j + 1]
    else:
        val = np.broadcast_to(sim[:, 0][None, :], x.shape)
    val = np.where(x < end, val, 0.0)
    return offsets, val.sum(axis=1) / max(tv, 1)


SYNC_GATE = 0.5
"""Sync re-orders the whole-video list only when at least one candidate's cuts-on-beats match
is this sure (:attr:`engine.rhythm.sync.SyncFit.confidence`, 0.5 at z = 2 against unrelated
videos): standardised among the candidates, pure chance would otherwise weigh as much as a
real match (seen on generated pairs whose pictures follow the music's pitch and loudness,
not its beat: sync at 0.5 moved the wrong track first)."""


MODEL_POOL = 10
"""The whole-video list re-ranks at least this many of the model's best tracks (3 per
suggestion asked for when more)."""
SYNC_WHOLE_LIBRARY = 150
"""With sync on, a library of at most this many tracks is read whole for sync, not only the
model's best candidates: a track whose beats the cuts follow (sync confidence at least
:data:`SYNC_GATE`) joins the candidates however low the model ranks it. Seen on a real
library of 30 game tracks: a video cut to a 120 bpm track, which the starter model ranked
outside its best 15, was missing from the top 5 (and first and second with the whole
library). The sync scores are kept per video (:attr:`EngineSession.sync_cache`): ~33 ms per
track once (``bench/rerank.py``, 2 shared cores), then only what the sliders change. The first
ranking of a video waits for them, so the bound keeps that under ~5 s (150 tracks: 8-10 hours
of music); a larger library re-ranks the model's candidates only."""


def best_soundtracks(session: EngineSession, analysis: MediaAnalysis, k: int = 5,
                     conditioning: Conditioning | None = None, *, sync: float | None = None) -> list[TrackSuggestion]:
    """Tracks for the whole video with their best start offset.

    The model's score is the mean of the CLS match and the per-segment fit, each counted
    only for the share of the video the track covers from its offset (a track that covers
    12 % of the video cannot outrank one that covers all of it). With ``sync`` > 0 (default:
    the settings' ``sync_weight``) and a rhythm analysis of both the video (cuts, energy) and
    the tracks (beats, downbeats), the candidates are re-ranked by how well the cuts land on
    the beats and the energy follows the music (:func:`engine.rhythm.sync.rerank`), and the
    offset is the sync's, on a downbeat; without sync information the model's offset is
    snapped to the nearest downbeat (within a beat). The candidates are the model's best
    ``max(3k, MODEL_POOL)``, and, in a library of at most :data:`SYNC_WHOLE_LIBRARY` tracks, every
    other track whose beats the cuts clearly follow."""
    weight = float(session.sync_weight() if sync is None else sync)
    video = getattr(analysis, "video_rhythm", None)
    catalog = session.library.catalog
    pool = max(3 * k, MODEL_POOL)
    wide = weight > 0 and video is not None
    candidates = recommend_tracks(session, analysis, SYNC_WHOLE_LIBRARY + 1 if wide else pool, conditioning)
    rhythms = {}
    if wide and len(candidates) <= SYNC_WHOLE_LIBRARY:
        candidates, rhythms = with_sync_followers(session, video, candidates, pool, SYNC_GATE)
    else:
        candidates = candidates[:pool]
    scored = []
    for c in candidates:
        fit = fit_soundtrack(session, analysis, c.item_id, conditioning)
        model = 0.5 * (c.score * fit.coverage + fit.score)
        scored.append((c, fit, model))
    if video is not None:
        for c, _, _ in scored:
            r = rhythms.get(c.item_id) or stored_rhythm(catalog, c.item_id)
            if r is not None:
                rhythms[c.item_id] = r
    order = sorted(range(len(scored)), key=lambda i: -scored[i][2])  # the model's own order
    fits: dict[int, object] = {}
    if weight > 0 and video is not None and rhythms:
        from engine.rhythm.sync import best_offset, rerank

        # the model's content at each offset, then its own start, only break ties between
        # offsets sync cannot tell apart
        cache = session.sync_cache
        given = {c.item_id: best_offset(video, rhythms[c.item_id], model_offset=fit.offset,
                                        content=content_curve(session, analysis, c.item_id, conditioning, fit=fit),
                                        scored=cache.get(video, c.item_id, rhythms[c.item_id]))
                 for c, fit, _ in scored if c.item_id in rhythms}
        ranked = rerank([(c.item_id, m) for c, _, m in scored], video, rhythms, weight, fits=given)
        fits = {r.item_id: r.sync for r in ranked}
        best = max((f.confidence for f in fits.values() if f is not None and f.informative), default=0.0)
        if best >= SYNC_GATE:
            pos = {c.item_id: i for i, (c, _, _) in enumerate(scored)}
            order = [pos[r.item_id] for r in ranked]
            blended = {r.item_id: r.score for r in ranked}
        else:  # no track's beats follow the cuts better than chance: sync would only add noise
            blended = {c.item_id: m for c, _, m in scored}
    else:
        blended = {c.item_id: m for c, _, m in scored}
    out = []
    for i in order[:k]:
        c, fit, model = scored[i]
        offset, coverage, on_db, note = fit.offset, fit.coverage, False, "best fit of the scenes to the track"
        sf = fits.get(c.item_id)
        r = rhythms.get(c.item_id)
        if sf is not None and getattr(sf, "informative", False) and sf.offset is not None:
            from engine.rhythm.sync import describe_offset

            offset, on_db = float(sf.offset), bool(sf.on_downbeat)
            note = describe_offset(sf)
            tm = float(getattr(r, "duration", 0.0) or 0.0)
            if tm > 0:
                coverage = max(0.0, min(1.0, (tm - offset) / max(analysis.duration, 1e-6)))
        elif r is not None and getattr(r, "steady", False) and len(r.downbeats):
            offset, on_db = downbeat_within_a_beat(offset, r)
            if on_db:
                note = "best fit of the scenes to the track, started on a downbeat"
        if coverage < 0.999:
            note += f"; covers {100 * coverage:.0f} % of the video (fit it to length to cover all)"
        out.append(TrackSuggestion(c.item_id, c.path, c.title, c.artist, float(blended[c.item_id]), offset, coverage,
                                   fit.score, model, sf, on_db, note))
    return out


def find_footage(session: EngineSession, music: str | os.PathLike[str] | int, k: int = 5,
                 cancel: CancelCheck | None = None) -> list[list[SegmentSuggestion]]:
    """Per music segment, the best footage segments from the footage library (M→V).
    ``music`` is a song file, or the id of a track in the music library."""
    if isinstance(music, int):
        analysis = _library_track_analysis(session, music)
    else:
        analysis = run(analyse_music(session, music, cancel=cancel))
    return recommend_segments(session, analysis, k)


def _library_track_analysis(session: EngineSession, item_id: int) -> MediaAnalysis:
    catalog = session.library.catalog
    it = catalog.item(item_id)
    pair = catalog.item_embeddings(item_id, session.checkpoint_id)
    if it is None or pair is None:
        raise KeyError(f"track {item_id} is not indexed for this model")
    segs = catalog_segments(catalog, item_id)
    emb, cls = pair
    n = emb.shape[0]
    return MediaAnalysis(it.path, "music", session.checkpoint_id, float(it.duration or 0.0),
                         session.segment_seconds, np.array([a for a, _ in segs][:n]),
                         np.array([b for _, b in segs][:n]), emb, cls, np.full(n, 1.0 / n, np.float32))


__all__ = ["preload", "synced_start", "MediaAnalysis", "PartialAnalysis", "SegmentSuggestion", "TrackSuggestion", "SoundtrackFit", "Conditioning",
           "analyse_video", "analyse_music", "analyse_media", "recommend_segments", "recommend_tracks", "fit_soundtrack",
           "best_soundtracks", "fit_track_to_video", "slip_cue", "sync_cue", "next_fitting_start", "find_footage", "snap_to_beat", "track_rhythm", "condition", "MediaError", "NotMediaError", "clock", "probe"]
