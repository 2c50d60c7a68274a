"""The library's tracks against a video's rhythm, for the whole-video list and its fit.

The stored rhythm of a track (:class:`engine.rhythm.music.MusicRhythm`, read from the
catalog), which tracks a video's cuts follow well enough to join the model's candidates
(:func:`with_sync_followers`), snapping a start onto a downbeat or a beat, and re-editing a
track to a length (:func:`fit_track_to_video`). Front ends reach these names through
:mod:`engine.recommend`, which re-exports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.jobs import CancelCheck, Job
from engine.media.grid import clock
from engine.session import EngineSession

if TYPE_CHECKING:
    from engine.recommend import TrackSuggestion


def stored_rhythm(catalog, item_id: int):
    """The catalog's MusicRhythm of ``item_id``, or None (none stored, or an older library
    without rhythm rows)."""
    try:
        return catalog.rhythm(item_id)
    except Exception:  # noqa: BLE001 - a catalog without rhythm rows (older library) has none
        return None


def track_rhythm(session: EngineSession, item_id: int):
    """The stored MusicRhythm (beats, downbeats, sections) of library item ``item_id``, or
    None when the library has none for it."""
    return stored_rhythm(session.library.catalog, int(item_id))


def with_sync_followers(session: EngineSession, video, candidates: Sequence, pool: int,
                        gate: float) -> tuple[list, dict]:
    """Of ``candidates`` (the model's order, each with an ``item_id``): its best ``pool``, and
    every other whose beats the video's cuts follow with sync confidence ≥ ``gate``; with the
    stored rhythms read on the way, ``{item id: MusicRhythm}``. Each track's sync scores are
    kept in ``session.sync_cache``, so asking again for this video costs little."""
    from engine.rhythm.sync import best_offset

    kept, rhythms = [], {}
    for i, c in enumerate(candidates):
        r = stored_rhythm(session.library.catalog, c.item_id)
        if r is not None:
            rhythms[c.item_id] = r
        if i < pool or (r is not None and best_offset(
                video, r, scored=session.sync_cache.get(video, c.item_id, r)).confidence >= gate):
            kept.append(c)
    return kept, rhythms


def downbeat_within_a_beat(offset: float, rhythm) -> tuple[float, bool]:
    """The downbeat nearest ``offset`` and True when it is within one beat of it, else
    ``(offset, False)``."""
    db = np.asarray(rhythm.downbeats, np.float64)
    j = int(np.argmin(np.abs(db - offset)))
    beat = 60.0 / float(rhythm.tempo) if rhythm.tempo else 0.5
    if abs(float(db[j]) - offset) <= beat:
        return float(max(0.0, db[j])), True
    return offset, False


def snap_to_beat(t: float, rhythm, tolerance: float | None = None) -> float:
    """The beat of ``rhythm`` (a MusicRhythm) nearest track time ``t`` (within ``tolerance``
    when given); ``t`` unchanged without a steady beat. Re-exported for front ends, which
    reach the engine through :mod:`engine.recommend` (:func:`engine.rhythm.sync.snap_to_beat`)."""
    from engine.rhythm.sync import snap_to_beat as snap

    return snap(t, rhythm, tolerance)


def fit_track_to_video(session: EngineSession, item_id: int, length: float, *, start: float = 0.0,
                       slack: float = 0.5, stretch: bool = True, fps: float | None = None,
                       track_start: float = 0.0, cancel: CancelCheck | None = None) -> Job[object]:
    """The whole-video "fit": library track ``item_id`` re-edited on its downbeats to ``length``
    seconds (the video's, or a selection's) as a :class:`~engine.mix.cuesheet.Cue` from video
    time ``start``, with the plan's pieces and stretch (:func:`engine.rhythm.fit.fitted_cue`),
    ready for ``CueSheet.placed``. ``track_start`` > 0 opens the re-edit there (the start sync
    found, :func:`synced_start`) instead of at the track's intro. A job (it decodes the track):
    yields one ``Progress("fit")`` and returns the cue. The track's stored rhythm is used;
    without one it is analysed."""
    from engine.jobs import Progress, check_cancel
    from engine.rhythm.fit import fit_file, fitted_cue

    it = session.library.catalog.item(int(item_id))
    if it is None:
        raise KeyError(f"track {item_id} is not in the music library")
    yield Progress("fit", 0, 1, f"fitting {Path(it.path).name} to {clock(length)}")
    check_cancel(cancel)
    plans, _, _ = fit_file(it.path, float(length), rhythm=stored_rhythm(session.library.catalog, int(item_id)),
                           slack=slack, stretch=stretch, fps=fps, start=track_start)
    check_cancel(cancel)
    title = getattr(it, "title", None) or Path(it.path).stem
    yield Progress("fit", 1, 1, plans[0].note or "fitted")
    return fitted_cue(plans[0], str(it.path), str(title), start=start, item_id=int(item_id))


def synced_start(track: TrackSuggestion) -> float:
    """Where a whole-video suggestion's re-edit should open: its start when sync is sure the
    video's cuts follow the track from there (confidence ≥ 0.5; fitting from the intro would
    move every beat off the cuts), else 0 (the track's real intro)."""
    fit = track.sync
    sure = fit is not None and getattr(fit, "informative", False) and fit.confidence >= 0.5
    return float(track.offset or 0.0) if sure else 0.0


def _cue_track(session: EngineSession, cue) -> tuple[object, float | None]:
    """(stored MusicRhythm or None, track length in seconds or None) of a cue's track."""
    if cue.item_id is None:
        return None, None
    r = track_rhythm(session, int(cue.item_id))
    if r is not None and r.duration > 0:
        return r, float(r.duration)
    it = session.library.catalog.item(int(cue.item_id))
    return r, (float(it.duration) if it is not None and it.duration else None)


def slip_cue(session: EngineSession, cue, *, beats: int = 0, bars: int = 0) -> tuple[float, str]:
    """The in-point of ``cue`` (a :class:`~engine.mix.cuesheet.Cue`) slipped ``beats`` beats
    or ``bars`` bars on its track's grid (negative: earlier in the track), and what moved in
    words ("one bar later in the track, on the downbeat at 1:48.0",
    :func:`engine.rhythm.slip.slip_in_point`). Reads the catalog: a worker's job.
    Raises ``ValueError`` with what to do when it cannot slip (a fitted cue, the track's ends)."""
    from engine.rhythm.slip import slip_in_point

    if cue.pieces:
        raise ValueError(f"{cue.title!r} is fitted to the video's length (a re-edit of the track): use the "
                         f"track again, or fit it again, to move its music")
    rhythm, length = _cue_track(session, cue)
    s = slip_in_point(float(cue.in_point), rhythm, beats=beats, bars=bars, duration=length)
    return s.in_point, s.words


def _rhythm_against_cuts(session: EngineSession, cue, video):
    """The stored MusicRhythm of ``cue``'s track, to read the video's cuts against; a
    ``ValueError`` that says what to do when there is none to read (a fitted cue, the video's
    cuts not read yet, no beat analysis)."""
    if cue.pieces:
        raise ValueError(f"{cue.title!r} is fitted to the video's length (a re-edit of the track): fit it again "
                         f"instead; the fit opens where sync found the cuts follow the track")
    if video is None:
        raise ValueError("the video's cuts are not read yet: wait until its analysis is complete")
    rhythm, _ = _cue_track(session, cue)
    if rhythm is None:
        raise ValueError(f"{cue.title!r} has no beat analysis: rescan the music library to read its beats")
    return rhythm


def sync_cue(session: EngineSession, cue, video) -> tuple[float, str]:
    """The in-point of ``cue`` at which the video's cuts inside it land on its track's beats,
    searched one bar either side of where it starts now (:func:`engine.rhythm.slip.
    sync_in_point`), and the fit in words (how sure, which other starts fit as well:
    :func:`engine.rhythm.sync.describe_offset`). Where the cuts follow the beats little
    better than chance there (:func:`engine.rhythm.slip.align_in_point`) the cue stays where
    it is, and the words say so.
    ``video``: the open video's VideoRhythm. Raises ``ValueError`` with why not (no cuts in
    the cue, no steady beat, no beat analysis, a fitted cue)."""
    from engine.rhythm.slip import align_in_point
    from engine.rhythm.sync import describe_offset

    rhythm = _rhythm_against_cuts(session, cue, video)
    at, fit = align_in_point(video, rhythm, float(cue.start), float(cue.end), float(cue.in_point))
    if not fit.informative or fit.offset is None:
        raise ValueError(f"cannot sync {cue.title!r} to the cuts between {clock(cue.start)} and {clock(cue.end)}: "
                         f"{fit.reason}")
    if at == float(cue.in_point) and abs(fit.offset - at) >= 0.01:  # left where it is: a move would be a guess
        return at, (f"within a bar of it the cuts in this cue follow its beats little better than chance (best at "
                    f"{clock(fit.offset)}; slip it by hand to try)")
    return at, describe_offset(fit)


def next_fitting_start(session: EngineSession, cue, video) -> tuple[float, str]:
    """The next start in the track (after where ``cue`` starts now, from the first again past
    the last) at which the video's cuts inside the cue fit about as well as anywhere
    (:func:`engine.rhythm.slip.fitting_starts`): the starts sync cannot tell apart, for the
    editor to hear one after another. With the words: which of how many, and all of them.
    Raises ``ValueError`` with why not (as :func:`sync_cue`)."""
    from engine.rhythm.slip import ALIGN_CONFIDENCE, fitting_starts

    rhythm = _rhythm_against_cuts(session, cue, video)
    starts, fit = fitting_starts(video, rhythm, float(cue.start), float(cue.end))
    if not starts:
        raise ValueError(f"cannot find starts for {cue.title!r} from the cuts between {clock(cue.start)} and "
                         f"{clock(cue.end)}: {fit.reason}")
    later = [o for o in starts if o > float(cue.in_point) + 0.05]
    target = later[0] if later else starts[0]
    listed = ", ".join(clock(o) for o in starts)
    if len(starts) == 1:
        words = "the only start where the cuts in this cue fit its beats this well"
    else:
        words = f"start {starts.index(target) + 1} of {len(starts)} that fit the cuts in this cue about as well ({listed})"
    if fit.confidence < ALIGN_CONFIDENCE:
        words += "; anywhere in this track they follow its beats little better than chance"
    return float(target), words
