"""The Insights view on a real session: the hue-pitch probe world's model, a library of its
songs scanned with musicnn for tags (tests/analysis_support.py)."""

from __future__ import annotations

import numpy as np

from training.analysis.probe_world import write_image_set


def _window(qtbot, tagged_library):
    from engine.session import EngineSession
    from engine.settings import EngineSettings
    from mvpt_desktop.controller import Controller
    from mvpt_desktop.main_window import MainWindow
    from mvpt_desktop.settings import GuiSettings

    session = EngineSession(EngineSettings(checkpoint=str(tagged_library["checkpoint"]),
                                           data_dir=str(tagged_library["data_dir"]), device="cpu"))
    c = Controller(session=session, gui=GuiSettings(persist=False, hover_audition=False))
    w = MainWindow(c)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: c.status is not None, timeout=60_000)
    return w, session


def test_insights_view_shows_attention_tags_and_the_attribute_matrix(qtbot, tagged_library, tmp_path):
    w, session = _window(qtbot, tagged_library)
    c = w.controller
    try:
        view = w.show_insights()
        assert view.isVisible() and view.heading.text() == "No video open"
        video = sorted(tagged_library["footage"].glob("*.mp4"))[0]
        with qtbot.waitSignal(c.opened, timeout=60_000):
            c.open_file(str(video))
        a = c.current.analysis
        # attention: one bar per scene, the analysis' own rollout weights, over its thumbnails
        assert np.allclose(view.attention.weights, a.attention) and len(view.attention.images) == len(a) == 8
        assert "8 scenes" in view.heading.text() and "Most attended" in view.attention_note.text()
        img = view.attention.grab().toImage()
        assert img.width() >= 8 * 60 and not img.isNull()
        # tags of the suggested tracks: the library's musicnn tags, row by row
        rows = c.results.whole
        assert view.tags_table.rowCount() == len(rows) > 0
        for i, row in enumerate(rows):
            tags = session.library.catalog.tags(row.track.item_id)
            assert view.tags_table.item(i, 2).text().split(", ")[0] == tags.top(1)[0][0]
        # the attribute matrix, off the GUI thread, for a labelled set of hue classes
        images = write_image_set(tmp_path / "hues", "hue-pitch", per_class=4)
        with qtbot.waitSignal(c.attributeMatrixReady, timeout=60_000) as got:
            view.compute(str(images))
        m = got.args[0]
        assert m.classes == ("hue0", "hue1", "hue2", "hue3") and m.images_per_class == 4
        emb = session.library.catalog.embeddings(session.checkpoint_id, "music", "segment")
        assert int(m.counts.sum()) == len(emb)  # every tagged music segment is one query
        np.testing.assert_allclose(m.percent.sum(axis=1), 100.0)
        assert view.matrix_table.columnCount() == 4 and view.matrix_table.rowCount() == len(m.genres)
        assert view.matrix_table.item(0, 0).text() == f"{m.percent[0, 0]:.0f}"
        # the chosen set is configured: a new Insights view (say, the next session) starts from it
        assert c.gui.labelled_image_set == str(images)
        from mvpt_desktop.insights import InsightsView

        c.attribute_matrix = None
        with qtbot.waitSignal(c.attributeMatrixReady, timeout=60_000):
            again = InsightsView(c)
        qtbot.addWidget(again)
        assert again.set_label.text().startswith(str(images)) and again.matrix_table.columnCount() == 4
    finally:
        c.shutdown()
        session.close()


def test_insights_say_when_there_is_nothing_to_show(qtbot, tagged_library, tmp_path):
    from mvpt_desktop.insights import InsightsView

    w, session = _window(qtbot, tagged_library)
    try:
        view = InsightsView(w.controller)
        qtbot.addWidget(view)
        assert view.heading.text() == "No video open" and len(view.attention.weights) == 0
        (tmp_path / "one" / "only").mkdir(parents=True)
        with qtbot.waitSignal(w.controller.failed, timeout=30_000) as got:
            view.compute(str(tmp_path / "one"))
        assert "two subfolders" in got.args[1]
    finally:
        w.controller.shutdown()
        session.close()
