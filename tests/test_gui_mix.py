"""Issue 15 in the app: the settings dialog's Mix group sets the mix that preview and export
use (the same MixSettings, in the preview's cache key), and the timeline shows the footage's
speech regions."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from gui_support import make_window

from engine.export import MixSettings
from mvpt_desktop.export import settings_for
from mvpt_desktop.settings import GuiSettings


def test_the_apps_defaults_are_the_engines_mix():
    assert settings_for(GuiSettings()) == MixSettings()
    off = settings_for(GuiSettings(original="off"))
    assert off.original == "off" and not off.duck  # no dialogue to keep audible: no ducking
    assert settings_for(0.0) == MixSettings(original="off", duck=False)  # the older single knob
    assert settings_for(0.3).original_level == 0.3


def test_the_mix_group_sets_the_mix_of_preview_and_export(qtbot, world, tmp_path):
    from mvpt_desktop.tasks import sheet_preview_path

    w = make_window(qtbot, world)
    c = w.controller
    before = c._mix_settings()
    assert before == MixSettings()
    dlg = w.show_settings()
    assert dlg.loudness.currentData() == -14.0 and dlg.duck.isChecked()
    dlg.duck_depth.setValue(-20.0)
    dlg.duck_hold.setValue(0.8)
    dlg.loudness.setCurrentIndex(dlg.loudness.findData(-23.0))
    dlg.original_mode.setCurrentIndex(dlg.original_mode.findData("full"))
    assert not dlg.original.isEnabled()  # the level outside speech only matters "under speech only"
    dlg.accept()
    mix = c._mix_settings()
    assert (mix.duck_depth_db, mix.hold, mix.loudness_target, mix.original, mix.duck) == (-20.0, 0.8, -23.0,
                                                                                         "full", True)
    # what you hear is what you export: a changed mix is another preview
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    assert sheet_preview_path(str(video), c.sheet, mix) != sheet_preview_path(str(video), c.sheet, before)

    dlg = w.show_settings()  # reopened: shows what was chosen
    assert dlg.duck_depth.value() == -20.0 and dlg.loudness.currentData() == -23.0
    dlg.loudness.setCurrentIndex(dlg.loudness.findData(None))
    dlg.original_mode.setCurrentIndex(dlg.original_mode.findData("off"))
    assert not dlg.duck_depth.isEnabled() and not dlg.duck.isEnabled()
    dlg.accept()
    mix = c._mix_settings()
    assert mix.loudness_target is None and mix.original == "off" and not mix.duck

    dlg = w.show_settings()
    dlg.original_mode.setCurrentIndex(dlg.original_mode.findData("speech"))
    dlg.duck.setChecked(False)
    dlg.reject()  # cancelled: nothing changes
    assert c._mix_settings() == mix


def test_the_timeline_draws_the_speech_regions(qtbot):
    from mvpt_desktop.timeline import Timeline

    t = Timeline()
    qtbot.addWidget(t)
    t.set_media(np.arange(0, 20, 2.0), np.arange(2, 22, 2.0), np.full(10, 0.1), duration=20.0)

    def bands():
        return [i for p, i in getattr(t, "_speech_items", ()) if isinstance(i, pg.BarGraphItem)]

    def labels():
        return [i.toPlainText() for p, i in getattr(t, "_speech_items", ()) if isinstance(i, pg.TextItem)]

    t.set_speech(np.array([[1.0, 3.5], [8.0, 12.25]]))  # [n, 2] seconds
    assert len(bands()) == 1 and labels() == ["speech"]
    b = bands()[0].opts
    assert list(b["x0"]) == [1.0, 8.0] and list(b["x1"]) == [3.5, 12.25]
    assert bands()[0] in t.heat.items
    t.set_speech(np.array([[2.0, 4.0]]))  # a new analysis replaces the bands
    assert len(bands()) == 1 and list(bands()[0].opts["x0"]) == [2.0]
    for none in (None, np.zeros((0, 2))):
        t.set_speech(none)
        assert bands() == [] and labels() == [] and len(t.speech) == 0


def test_the_footages_speech_comes_after_its_suggestions_and_reaches_the_timeline(qtbot, world, tmp_path):
    """The analysis pass does not listen; once the file is open the controller hears its speech
    in the io pool, the timeline draws it and the preview's mix gets it; a re-opened
    file has it stored."""
    from gui_support import make_window, open_and_wait
    from test_analysis_pipeline import _talking_video

    w = make_window(qtbot, world)
    c = w.controller
    video = _talking_video(tmp_path / "talk.mp4")
    with qtbot.waitSignal(c.speechHeard, timeout=60_000) as heard:
        open_and_wait(qtbot, w, video)
        assert c.current.analysis.speech is None  # the suggestions came first
    regions = heard.args[0]
    assert len(regions) >= 2 and regions[0, 0] < 3.5 < regions[0, 1]
    assert c.current.analysis.speech is regions and len(w.timeline.speech) == len(regions)
    job = c.speech_job
    open_and_wait(qtbot, w, video)  # from the cache: speech at once, no listening again
    assert c.current.analysis.speech == pytest.approx(regions) and len(w.timeline.speech) == len(regions)
    assert c.speech_job is job
