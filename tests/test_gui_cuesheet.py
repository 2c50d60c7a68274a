"""The cue sheet in the window: "Use this music" adds a cue for the scene, the cue list edits
it scene by scene, the timeline shows it as coloured bands, preview and export play it, and
a reopened video (or a new launch) gets its cues and sliders back."""

from __future__ import annotations

import shutil

import numpy as np
from gui_support import make_window, open_and_wait
from PySide6.QtCore import Qt

from engine.media.audio import decode_audio
from engine.media.probe import probe
from mvpt_desktop.cues import cue_colour
from mvpt_desktop.models import ObjectRole


def _use_row(qtbot, w, scene: int, row: int):
    """Select ``scene``, pick the ``row``-th suggestion and press "Use this music"."""
    w.controller.select_segment(scene)
    w.suggestions.tabs.setCurrentIndex(0)
    w.suggestions.scene_view.selectRow(row)
    obj = w.suggestions.scene_model.index(row, 0).data(ObjectRole)
    qtbot.mouseClick(w.suggestions.use_button, Qt.MouseButton.LeftButton)
    return obj


def _bands(w):
    return [(c.start, c.end, c.music_path) for c in w.timeline.cues]


def test_use_this_music_adds_a_cue_and_the_cue_list_edits_it(qtbot, world):
    w = make_window(qtbot, world)
    c = w.controller
    open_and_wait(qtbot, w, world["footage"] / "video_3.mp4")
    a = c.current.analysis
    assert len(c.sheet.cues) == 1 and (c.sheet.cues[0].start, c.sheet.cues[0].end) == (0.0, a.duration)
    whole_track = c.sheet.cues[0].music_path
    scene_rows = c.results.per_segment[4]
    row = next(i for i, r in enumerate(scene_rows) if r.suggestion.path != whole_track)
    picked = _use_row(qtbot, w, 4, row)
    assert [(x.start, x.end) for x in c.sheet.cues] == [(0.0, a.starts[4]), (a.starts[4], a.ends[4]),
                                                        (a.ends[4], a.duration)]
    mid = c.sheet.cues[1]
    assert mid.music_path == picked.suggestion.path and mid.in_point == picked.track_start  # on the beat when it has one
    # what the editor sees: three rows in the cue list, three bands under the thumbnails
    assert len(w.cues.texts()) == 3 and picked.name in w.cues.texts()[1]
    assert _bands(w) == [(x.start, x.end, x.music_path) for x in c.sheet.cues]
    bands = [it for _, it in w.timeline._cue_items if type(it).__name__ == "BarGraphItem"][0]
    assert [b.color().name() for b in bands.opts["brushes"]][1] == cue_colour(mid.music_path).name()
    assert w.cues.current == 1  # the new cue is selected in the list
    # +▶ makes the middle cue one scene longer, − one shorter again, ◀+ starts it a scene earlier
    qtbot.mouseClick(w.cues.buttons["extend"], Qt.MouseButton.LeftButton)
    assert (c.sheet.cues[1].start, c.sheet.cues[1].end) == (a.starts[4], a.ends[5])
    assert c.sheet.cues[2].start == a.ends[5]
    qtbot.mouseClick(w.cues.buttons["shorten"], Qt.MouseButton.LeftButton)
    assert c.sheet.cues[1].end == a.ends[4] and c.sheet.index_at(float(a.starts[5]) + 0.1) is None  # silence
    w.cues.select(2)
    qtbot.mouseClick(w.cues.buttons["earlier"], Qt.MouseButton.LeftButton)  # the next cue fills it again
    assert c.sheet.cues[2].start == a.starts[5] and len(c.sheet.transitions()) == 2
    w.cues.select(1)
    if mid.in_point >= a.ends[3] - a.starts[3]:
        qtbot.mouseClick(w.cues.buttons["earlier"], Qt.MouseButton.LeftButton)
        assert c.sheet.cues[1].start == a.starts[3] and c.sheet.cues[1].in_point == mid.in_point - 2.0
    # ▲ moves it before the first cue; ✕ removes it: the whole-video pick's pieces remain
    n_before = len(c.sheet.cues)
    w.cues.select(1)
    qtbot.mouseClick(w.cues.buttons["up"], Qt.MouseButton.LeftButton)
    assert c.sheet.cues[0].music_path == mid.music_path and c.sheet.cues[0].start == 0.0
    assert w.cues.current == 0
    qtbot.mouseClick(w.cues.buttons["remove"], Qt.MouseButton.LeftButton)
    assert len(c.sheet.cues) == n_before - 1 and all(x.music_path == whole_track for x in c.sheet.cues)
    assert len(w.cues.texts()) == n_before - 1 and len(w.timeline.cues) == n_before - 1
    # the whole-video pick replaces everything with one cue
    w.suggestions.tabs.setCurrentIndex(1)
    w.suggestions.track_view.selectRow(0)
    qtbot.mouseClick(w.suggestions.use_button, Qt.MouseButton.LeftButton)
    assert len(c.sheet.cues) == 1 and c.sheet.cues[0].end == a.duration and len(w.cues.texts()) == 1
    picked = w.suggestions.track_model.row_object(0).track
    assert c.sheet.cues[0].note == (picked.note or "best fit for the whole video")  # why this start, on the cue


def test_a_three_cue_sheet_previews_and_exports_to_mp4_and_otio(qtbot, world, tmp_path):
    import opentimelineio as otio

    w = make_window(qtbot, world, fade_in=0.0, fade_out=0.0, original="off")  # the music alone, to compare
    c = w.controller
    video = world["footage"] / "video_0.mp4"
    open_and_wait(qtbot, w, video)
    a = c.current.analysis
    tracks = []
    for first in (0, 4, 8):  # three cues of four scenes, three different tracks
        rows = c.results.per_segment[first]
        i = next(i for i, r in enumerate(rows) if r.suggestion.path not in tracks
                 and r.suggestion.start + 4 * 2.0 <= probe(r.suggestion.path).duration)
        tracks.append(_use_row(qtbot, w, first, i).suggestion.path)
        idx = c.sheet.index_at(float(a.starts[first]) + 0.1)
        for _ in range(3):
            assert c.edit_cue("extend", idx)
    sheet = c.sheet
    assert [x.music_path for x in sheet.cues] == tracks and [(x.start, x.end) for x in sheet.cues] == [
        (0.0, 8.0), (8.0, 16.0), (16.0, a.duration)]
    assert len(sheet.transitions()) == 2
    # saved for the command line (mvpt export VIDEO --cues FILE)
    from engine.mix.cuesheet import CueSheet

    saved = w.save_sheet(str(tmp_path / "cues" / "video_0.cues.json"))
    assert CueSheet.from_json(saved.read_text()) == sheet and "--cues" in w.statusBar().currentMessage()
    # preview: the muxed file the player gets holds the cue sheet
    with qtbot.waitSignal(c.previewReady, timeout=60_000) as blocker:
        w.preview()
    preview = blocker.args[0]
    mp4 = tmp_path / "out" / "three cues.mp4"
    with qtbot.waitSignal(c.exported, timeout=60_000) as blocker:
        w.export(str(mp4))
    result = blocker.args[0]
    assert result.mp4 == mp4 and result.otio == mp4.with_suffix(".otio")
    sr = 16000
    for f in (preview, mp4):
        got = decode_audio(f, sr)
        for cue in sheet.cues:  # each range, away from the crossfades, is its track from its in-point
            lo, hi = cue.start + 0.6, min(cue.end, a.duration) - 0.6
            want = decode_audio(cue.music_path, sr, start=cue.in_point + (lo - cue.start), duration=hi - lo)
            seg = got[int(lo * sr):int(lo * sr) + want.size]
            corr = np.corrcoef(seg, want[:seg.size])[0, 1]
            assert corr > 0.95, (f, cue.title, corr)
    tl = otio.adapters.read_from_file(str(result.otio))
    clips = [x for x in tl.tracks[1] if isinstance(x, otio.schema.Clip)]
    assert [cl.media_reference.target_url.rsplit("/", 1)[-1] for cl in clips] == [t.rsplit("/", 1)[-1] for t in tracks]
    assert [round(cl.source_range.start_time.to_seconds(), 3) for cl in clips] == [
        round(x.in_point, 3) for x in sheet.cues]
    assert abs(tl.tracks[1].duration().to_seconds() - probe(video).duration) < 0.05  # they add up to the video
    assert len([x for x in tl.tracks[1] if isinstance(x, otio.schema.Transition)]) == 2  # the crossfades


def _teal_examples(folder):
    from pairs_world import picture
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, state in enumerate((0, 1, 2, 1, 2, 0)):
        Image.fromarray(picture(4, state, 5 * i)).save(folder / f"ex{i}.png")
    return folder


def test_bug14_cues_sliders_and_the_last_video_come_back(qtbot, world, tmp_path):
    video = tmp_path / "my clip.mp4"
    shutil.copy(world["footage"] / "video_2.mp4", video)
    from mvpt_desktop.controller import Controller
    from mvpt_desktop.main_window import MainWindow
    from mvpt_desktop.settings import GuiSettings

    c = Controller(session=world["session"], gui=GuiSettings(hover_audition=False))  # persist=True: saved
    w = MainWindow(c)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: c.status is not None, timeout=60_000)
    name = "teal14"
    with qtbot.waitSignal(c.attributesChanged, timeout=60_000,
                          check_params_cb=lambda infos: any(x.name == name for x in infos)):
        c.create_attribute(name, images=str(_teal_examples(tmp_path / "teal")))
    try:
        open_and_wait(qtbot, w, video)
        _use_row(qtbot, w, 2, 1)
        w.attributes.slider(name).setValue(60)
        sheet = c.sheet
        assert len(sheet.cues) == 3
        w.close()  # saves what is pending
        # a new launch: no file given, the last video reopens with its cues and its slider
        c2 = Controller(session=world["session"], gui=GuiSettings.load().with_(hover_audition=False))
        with qtbot.waitSignal(c2.opened, timeout=60_000):
            w2 = MainWindow(c2, reopen_last=True)
            qtbot.addWidget(w2)
            w2.show()
        assert c2.current.analysis.path == str(video)
        assert c2.sheet == sheet and w2.cues.texts() and len(w2.timeline.cues) == 3
        assert c2.weights == {name: 0.6} and w2.attributes.slider(name).value() == 60
        assert c2.results.weights == ((name, 0.6),)  # the first ranking already used it
    finally:
        session = world["session"]
        session.library.catalog.delete_attribute(name, session.checkpoint_id)


def test_cues_chosen_while_the_video_streams_in_are_kept(qtbot, world):
    from dataclasses import replace

    w = make_window(qtbot, world)
    c = w.controller
    open_and_wait(qtbot, w, world["footage"] / "video_4.mp4")
    final = c.current
    c.current = replace(final, provisional=True)  # as while the file is still being read
    picked = _use_row(qtbot, w, 2, 1)
    sheet = c.sheet
    assert any(x.music_path == picked.suggestion.path for x in sheet.cues)
    c._opened(final)  # the whole file is read
    assert c.sheet == sheet and len(w.timeline.cues) == len(sheet.cues)
