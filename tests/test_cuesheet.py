"""The cue sheet's editing operations (pure, on frozen data) and its JSON form."""

from __future__ import annotations

import pytest

from engine.mix.cuesheet import Cue, CueSheet, Piece, scene_cue

BOUNDS = [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]  # six scenes of 2 s


def heard(sheet: CueSheet, t: float) -> tuple[str, float] | None:
    """(track, track time) heard at video time t."""
    i = sheet.index_at(t)
    if i is None:
        return None
    c = sheet.cues[i]
    return c.music_path, c.in_point + (t - c.start)


def test_a_scene_cue_goes_over_the_whole_video_pick_and_splits_it():
    sheet = CueSheet.whole("a.wav", "A", 12.0, in_point=5.0)
    assert len(sheet.cues) == 1 and sheet.cues[0].start == 0 and sheet.cues[0].end == 12.0
    sheet2 = sheet.placed(scene_cue("b.wav", "B", 4.0, 6.0, 30.0))
    assert [(c.music_path, c.start, c.end) for c in sheet2.cues] == [("a.wav", 0, 4), ("b.wav", 4, 6), ("a.wav", 6, 12)]
    for t in (1.0, 3.9, 7.5, 11.0):  # what is left of A plays what it played before
        assert heard(sheet2, t) == pytest.approx(heard(sheet, t))
    assert heard(sheet2, 5.0) == ("b.wav", 31.0)
    assert sheet.cues[0].end == 12.0  # the old sheet is untouched (frozen, new objects)
    assert [(t.left, t.at) for t in sheet2.transitions()] == [(0, 4.0), (1, 6.0)]
    assert all(t.duration == pytest.approx(1.0) for t in sheet2.transitions())


def test_extend_and_shorten_scene_by_scene_cut_neighbours_and_keep_the_music_in_place():
    sheet = CueSheet().placed(scene_cue("a.wav", "A", 0, 2, 10)).placed(scene_cue("b.wav", "B", 2, 4, 20)) \
        .placed(scene_cue("c.wav", "C", 4, 6, 0))
    longer = sheet.resized(1, BOUNDS, end_by=+1)  # B now covers 2..6 s: C, under it, goes
    assert [(c.music_path, c.start, c.end) for c in longer.cues] == [("a.wav", 0, 2), ("b.wav", 2, 6)]
    assert heard(longer, 5.0) == ("b.wav", 23.0)
    earlier = sheet.resized(1, BOUNDS, start_by=-1)  # B from 0 s: its in-point moves back 2 s
    assert [(c.music_path, c.start, c.end) for c in earlier.cues] == [("b.wav", 0, 4), ("c.wav", 4, 6)]
    assert heard(earlier, 3.0) == heard(sheet, 3.0) and earlier.cues[0].in_point == 18.0
    shorter = longer.resized(1, BOUNDS, end_by=-1)
    assert [(c.start, c.end) for c in shorter.cues] == [(0, 2), (2, 4)] and shorter.index_at(5.0) is None
    with pytest.raises(ValueError, match="at least one scene"):
        sheet.resized(0, BOUNDS, end_by=-1)
    with pytest.raises(ValueError, match="cannot start earlier"):  # C starts at its track's 0 s
        sheet.resized(2, BOUNDS, start_by=-1)
    assert sheet.resized(2, BOUNDS, end_by=+5).cues[-1].end == 12.0  # clamped to the video's end


def test_reorder_swaps_neighbours_keeping_lengths_and_music():
    sheet = CueSheet().placed(scene_cue("a.wav", "A", 0, 6, 10)).placed(scene_cue("b.wav", "B", 6, 8, 20))
    swapped = sheet.moved(1, -1)
    assert [(c.music_path, c.start, c.end, c.in_point) for c in swapped.cues] == [
        ("b.wav", 0, 2, 20), ("a.wav", 2, 8, 10)]
    assert swapped.moved(0, +1) == sheet
    assert sheet.moved(0, -1) == sheet  # nothing before the first
    assert sheet.removed(0).cues == sheet.cues[1:]
    with pytest.raises(IndexError):
        sheet.removed(5)


def test_trimming_a_re_edited_cue_keeps_its_pieces_on_the_video_clock():
    cue = Cue("a.wav", "A", 0.0, 10.0, 0.0, pieces=(Piece(0, 4, 0.0), Piece(20, 26, 4.0, crossfade=0.5)))
    cut = cue.trimmed(2.0, 8.0)
    assert cut.pieces == (Piece(2, 4, 0.0), Piece(20, 24, 2.0, crossfade=0.5))


def test_json_round_trip_and_damaged_input():
    sheet = CueSheet.whole("a.wav", "Ä song", 12.0, 5.0, item_id=3, note="best fit", crossfade=0.5) \
        .placed(Cue("b.wav", "B", 4.0, 6.0, 30.0, gain_db=-3.0, pieces=(Piece(30, 32, 0.0),)))
    assert CueSheet.from_json(sheet.to_json()) == sheet
    for bad in ("{", "[]", '{"format": "other"}', '{"format": "mvpt-cuesheet", "version": 99}',
                '{"format": "mvpt-cuesheet", "cues": [{"title": "x"}]}',
                '{"format": "mvpt-cuesheet", "cues": [{"music_path": "a", "title": "x", "start": 3, "end": 1, '
                '"in_point": 0}]}'):
        with pytest.raises(ValueError):
            CueSheet.from_json(bad)


def test_a_stretched_cue_round_trips_and_old_sheets_still_load():
    import json

    fitted = Cue("a.wav", "A", 0.0, 10.0, 0.0, pieces=(Piece(0, 4, 0.0), Piece(20, 26.2, 4.0, 0.03)), stretch=1.02)
    sheet = CueSheet((fitted,))
    d = json.loads(sheet.to_json())
    assert d["version"] == 2 and d["cues"][0]["stretch"] == 1.02
    assert CueSheet.from_json(sheet.to_json()) == sheet
    # a sheet that stretches nothing is written as version 1, without the field
    plain = json.loads(CueSheet.whole("b.wav", "B", 8.0).to_json())
    assert plain["version"] == 1 and "stretch" not in plain["cues"][0]
    # a version-1 sheet (written before the field existed) loads with no stretch
    old = ('{"format": "mvpt-cuesheet", "version": 1, "cues": [{"music_path": "b.wav", "title": "B", "start": 0, '
           '"end": 8, "in_point": 2, "item_id": null, "gain_db": 0, "pieces": [], "note": ""}]}')
    assert CueSheet.from_json(old).cues[0].stretch == 1.0
    with pytest.raises(ValueError):
        CueSheet.from_json(sheet.to_json().replace('"stretch": 1.02', '"stretch": 7'))


def test_trimming_a_stretched_cue_keeps_the_music_in_place():
    """The pieces' clock runs ``stretch`` times the video's: trimming 2 s of video off the start
    moves the re-edit on by 2 x stretch seconds."""
    k = 1.25
    cue = Cue("a.wav", "A", 0.0, 8.0, 0.0, pieces=(Piece(0, 5, 0.0), Piece(20, 25, 5.0)), stretch=k)
    cut = cue.trimmed(2.0, 6.0)
    assert cut.stretch == k
    assert cut.pieces == (Piece(2.5, 5, 0.0), Piece(20, 22.5, 2.5))
    assert cut.in_point == pytest.approx(2.5)
    plain = Cue("a.wav", "A", 0.0, 8.0, 3.0, stretch=k).trimmed(2.0, 8.0)
    assert plain.in_point == pytest.approx(3.0 + 2.0 * k)
