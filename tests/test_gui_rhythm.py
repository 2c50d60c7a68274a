"""Issue 12 in the window: the chosen cue's beat grid in the timeline's lane (or "no steady
beat"), the video's cuts against its beats with the shift to snap each, and the "Sync to
cuts" control that re-ranks the whole-video list without reading the video again."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from gui_support import make_window, open_and_wait

from engine.rhythm.music import analyse_rhythm
from engine.rhythm.music_synth import synth_track
from mvpt_desktop import tasks


@cache
def _steady():
    """A real analysis of a generated 4/4 track (its beats known to the generator)."""
    t = synth_track("straight", seed=1, duration=12.0)
    return analyse_rhythm(t.samples, t.rate)


@cache
def _ambient():
    t = synth_track("ambient", seed=1, duration=12.0)
    return analyse_rhythm(t.samples, t.rate)


def test_cuts_against_beats_give_the_shift_to_snap():
    r = _steady()
    assert r.steady and len(r.beats) > 8
    b = np.asarray(r.beats)
    # a cue from 3 s of the video plays the track from 2 s: track time t is video 3 + (t - 2)
    cuts = [3 + (b[5] - 2) - 0.1, 3 + (b[7] - 2) + 0.05, 0.5]  # the last is before the cue
    cr = tasks.place_rhythm(r, "Drums", 3.0, 12.0, 2.0, cuts)
    assert cr.steady and cr.has_cuts and cr.beats.min() >= 3.0 - 1e-6 and cr.beats.max() <= 12.0 + 1e-6
    assert np.allclose(cr.rows[0].shift, 0.1) and np.allclose(cr.rows[1].shift, -0.05)
    assert cr.rows[0].text().endswith(", +0.1 s") and " → " in cr.rows[0].text()
    assert cr.rows[2].beat is None and "no beat" in cr.rows[2].text()
    assert set(np.round(cr.downbeats, 4)) <= set(np.round(cr.beats, 4))
    assert cr.first_section == int(np.sum(np.asarray(r.sections) < 2.0 - 1e-6)) >= 1  # §1 began before the cue
    flat = tasks.place_rhythm(_ambient(), "Pads", 0.0, 12.0, 0.0, cuts)
    assert not flat.steady and not len(flat.beats) and "steady" in flat.reason
    assert all(row.beat is None for row in flat.rows)


def test_lane_draws_the_grid_or_says_no_steady_beat_and_the_cut_list(qtbot, world):
    w = make_window(qtbot, world)
    c = w.controller
    open_and_wait(qtbot, w, world["footage"] / "video_3.mp4")
    a = c.current.analysis
    # the real path: the whole-video pick's rhythm read from the library off the GUI thread
    qtbot.waitUntil(lambda: c.rhythm is not None, timeout=20_000)
    stored = tasks.track_rhythm(c.session, c.sheet.cues[0].item_id)
    assert c.rhythm.steady == bool(stored is not None and stored.steady)
    assert w.timeline.rhythm is c.rhythm and w.timeline.cuts_known == (a.video_rhythm is not None)
    if not c.rhythm.steady:
        assert c.rhythm.reason in w.timeline.lane_message
    # a track with a steady grid: beats, downbeats and sections drawn, no message
    cuts = [2.2, 5.05, 9.3]
    w.timeline.set_cuts(np.array(cuts))
    cr = tasks.place_rhythm(_steady(), "Drums", 0.0, a.duration, 0.0, cuts)
    w._rhythm(cr)
    kinds = [type(it).__name__ for _, it in w.timeline._lane_items]
    assert kinds.count("PlotCurveItem") == 2 and "InfiniteLine" in kinds and w.timeline.lane_message == ""
    beats = next(it for _, it in w.timeline._lane_items if type(it).__name__ == "PlotCurveItem")
    xs, _ = beats.getData()
    assert np.allclose(xs[::2], cr.beats)  # one line per beat, at its video time
    rows = w.rhythm_panel.texts()
    assert len(rows) == 3 and all(" → " in t and t.endswith(" s") for t in rows)
    assert rows[0].startswith("0:02.2 → ")
    # no steady beat: nothing drawn, the lane says so; a video without cuts says that too
    w._rhythm(tasks.place_rhythm(_ambient(), "Pads", 0.0, a.duration, 0.0, cuts))
    assert not any(type(it).__name__ == "PlotCurveItem" for _, it in w.timeline._lane_items)
    assert "no steady beat" in w.timeline.lane_message
    w.timeline.set_cuts(np.zeros(0))
    assert "no cuts found" in w.timeline.lane_message


def test_sync_control_sets_the_weight_and_reranks(qtbot, world):
    w = make_window(qtbot, world)
    c = w.controller
    saved = c.session.settings.sync_weight
    before = c.sync_weight  # unset in the settings: chosen by the model (a trained one: 0.1)
    assert saved is not None or before == 0.1
    try:
        open_and_wait(qtbot, w, world["footage"] / "video_2.mp4")
        assert w.rhythm_panel.sync.value() == round(100 * before)
        target = 0.0 if before > 0.5 else 0.9
        with qtbot.waitSignal(c.resultsChanged, timeout=20_000):
            w.rhythm_panel.sync.setValue(round(100 * target))
        assert abs(c.session.settings.sync_weight - target) < 1e-9
        assert w.rhythm_panel.sync_label.text() == f"{round(100 * target)} %"
        assert c.analysis_job.done and c.rank_job is not None  # re-ranked, not re-analysed
    finally:
        c.session.settings = c.session.settings.with_(sync_weight=saved)  # the world's session is shared


def test_fit_to_video_length_places_one_cue_that_ends_with_the_video(qtbot, world):
    """The whole-video tab's "Fit to video length": the track re-edited (and stretched a few per
    cent at most) to the video's length, as the one cue of the sheet."""
    w = make_window(qtbot, world)
    c = w.controller
    open_and_wait(qtbot, w, world["footage"] / "video_2.mp4")
    panel = w.suggestions
    panel.tabs.setCurrentIndex(1)
    assert panel.fit_button.isVisibleTo(panel) and panel.track_model.rowCount() > 0
    row = panel.current_object()
    assert isinstance(row, tasks.TrackRow)
    duration = float(c.current.analysis.duration)
    with qtbot.waitSignal(c.choiceChanged, timeout=60_000) as sig:
        panel.fit_button.click()
    (cue,) = sig.args[0].cues
    assert cue.music_path == row.track.path and cue.item_id == row.track.item_id and cue.title == row.name
    assert abs(cue.start) < 1e-6 and abs(cue.end - duration) < 0.05
    assert 0.9 <= cue.stretch <= 1.1
    if cue.pieces:  # the re-edit, on its own clock, runs to the video's end
        heard = max(p.at + p.source_end - p.source_start for p in cue.pieces) / cue.stretch
        assert heard >= cue.duration - 0.1
    # where sync is sure the cuts follow the track from its start, the re-edit opens there
    from dataclasses import replace

    from engine.recommend import synced_start
    from engine.rhythm.sync import SyncFit

    stored = tasks.track_rhythm(c.session, row.track.item_id)
    at = float(stored.downbeats[2]) if stored is not None and len(stored.downbeats) > 2 else 4.0
    sure = SyncFit(at, 1.0, 4.0, 0.9, False)
    synced = tasks.TrackRow(replace(row.track, offset=at, sync=sure), row.tags)
    assert synced_start(synced.track) == at
    assert synced_start(replace(synced.track, sync=replace(sure, confidence=0.3))) == 0.0  # unsure: the intro
    with qtbot.waitSignal(c.choiceChanged, timeout=60_000) as sig:
        c.fit_track(synced)
    (cue,) = sig.args[0].cues
    assert cue.pieces[0].source_start == pytest.approx(at, abs=1e-3) and cue.pieces[0].at == 0.0
    assert abs(cue.end - duration) < 0.05 and "where the cuts follow it" in cue.note
    panel.tabs.setCurrentIndex(0)
    assert not panel.fit_button.isVisibleTo(panel)  # a scene's list places cues by scene instead


def _click_as_the_engine_says(qtbot, c, button, engine_call, messages: list[str]):
    """Click ``button`` and check the window did what ``engine_call()`` (the engine's answer
    for the same cue) says: its words on the status line, the cue at its start. Returns the
    engine's (start or None, words)."""
    try:
        target, words = engine_call()
    except ValueError as e:
        target, words = None, str(e)
    with qtbot.waitSignal(c.info, timeout=20_000):
        button.click()
    assert messages[-1].endswith(words)
    if target is not None:
        assert c.sheet.cues[0].in_point == pytest.approx(target, abs=1e-6)
    return target, words


def test_cue_music_slips_on_its_grid_and_syncs_to_the_cuts(qtbot, world):
    """The cue panel's "Start:" row: a bar or a beat on the track's own grid (the cue keeps
    its place on the video), "Align to cuts" over the cue's stretch of the video, a result for a
    cue edited meanwhile dropped, and a fitted cue that cannot slip."""
    from engine.recommend import clock, sync_cue
    from engine.rhythm.slip import slip_in_point

    w = make_window(qtbot, world)
    c = w.controller
    open_and_wait(qtbot, w, world["footage"] / "video_2.mp4")
    qtbot.waitUntil(lambda: len(c.sheet.cues) == 1, timeout=20_000)  # the whole-video pick
    cue = c.sheet.cues[0]
    if cue.pieces:  # a fitted pick cannot slip: use the plain track
        c.set_sheet(c.sheet.removed(0).placed(cue.__class__(cue.music_path, cue.title, cue.start, cue.end, 0.0,
                                                              cue.item_id)))
        cue = c.sheet.cues[0]
    stored = tasks.track_rhythm(c.session, cue.item_id)
    if stored is not None and stored.steady and len(stored.downbeats) > 4:  # on the grid, mid-track
        c.set_sheet(c.sheet.slipped(0, float(stored.downbeats[3])))
        cue = c.sheet.cues[0]
    w.cues.select(0)
    buttons = {b.text(): b for b in w.cues.slips}
    assert all(b.isEnabled() for b in w.cues.slips) and w.cues.sync_button.isEnabled()
    messages: list[str] = []
    c.info.connect(messages.append)

    with qtbot.waitSignal(c.choiceChanged, timeout=20_000):
        buttons["bar ▶▶"].click()
    (later,) = c.sheet.cues
    expected = slip_in_point(cue.in_point, stored, bars=1, duration=stored.duration if stored else None)
    assert later.in_point == pytest.approx(expected.in_point, abs=1e-3) and later.in_point > cue.in_point
    assert (later.start, later.end, later.music_path) == (cue.start, cue.end, cue.music_path)
    from mvpt_desktop.models import fmt_time

    assert messages[-1] == f"{cue.title} now from {clock(later.in_point)}: {expected.words}"
    assert f"(from {fmt_time(later.in_point)} of the track)" in w.cues.texts()[0]
    assert later.note == f"slipped by hand: {expected.words}" and messages[-1].endswith(expected.words)
    with qtbot.waitSignal(c.choiceChanged, timeout=20_000):
        buttons["◀ beat"].click()
    (back,) = c.sheet.cues
    beat = slip_in_point(later.in_point, stored, beats=-1)
    assert back.in_point == pytest.approx(beat.in_point, abs=1e-3) and back.in_point < later.in_point

    # Align to cuts: what the engine says for this cue over the video's cuts, applied or said
    video = c.current.analysis.video_rhythm
    target, words = _click_as_the_engine_says(qtbot, c, w.cues.sync_button, lambda: sync_cue(c.session, back, video),
                                              messages)
    if target is not None:
        moved = abs(target - back.in_point) > 1e-6
        assert ("now from" if moved else "stays at") in messages[-1]
        assert c.sheet.cues[0].note == (f"aligned to the cuts in this cue: {words}" if moved else back.note)

    # Next fit: the next of the starts that fit the cuts about as well, as the engine says
    from engine.recommend import next_fitting_start

    now = c.sheet.cues[0]
    _click_as_the_engine_says(qtbot, c, w.cues.next_fit_button, lambda: next_fitting_start(c.session, now, video),
                              messages)

    # a result for a cue edited while it was computed is not applied
    before = c.sheet.cues[0]
    c.slip_cue(0, bars=1)
    edited = c.sheet.slipped(0, before.in_point + 0.25)
    c.set_sheet(edited)
    with qtbot.waitSignal(c.info, timeout=20_000):
        pass
    assert "changed meanwhile" in messages[-1] and c.sheet.cues[0].in_point == pytest.approx(before.in_point + 0.25)

    # a cue fitted to length is a re-edit: the row is off, and asking anyway says why
    from engine.export import Cue, CueSheet, Piece

    c.set_sheet(CueSheet((Cue(cue.music_path, cue.title, 0.0, 10.0, 0.0, cue.item_id,
                              pieces=(Piece(0.0, 10.0, 0.0),)),)))
    w.cues.select(0)
    assert not any(b.isEnabled() for b in (*w.cues.slips, w.cues.sync_button, w.cues.next_fit_button))
    assert "fitted" in w.cues.sync_button.toolTip()
    with qtbot.waitSignal(c.info, timeout=20_000):
        c.slip_cue(0, beats=1)
    assert "fitted to the video's length" in messages[-1] and c.sheet.cues[0].in_point == 0.0
