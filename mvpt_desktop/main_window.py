"""The main window: composes the widgets, menus and shortcuts around a :class:`Controller`.

Layout: the picture and transport on the left, the suggestion lists and the attribute
sliders on the right, the timeline (thumbnails + attention heatmap) along the bottom; the
status bar says which model and extractors are active, and shows a progress bar with a
Cancel button while work runs. No engine work happens here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from . import tasks
from .attributes_panel import AttributesPanel, NewAttributeDialog
from .controller import Controller
from .models import fmt_time
from .player import Player, VideoView
from .suggestions import SuggestionsPanel
from .timeline import Timeline

FIRST_RUN = ("No trained model yet.\n{reason}\n\nThe library and export work without one; suggestions need "
             "a model: choose its folder in File → Settings…")


class MainWindow(QMainWindow):
    def __init__(self, controller: Controller | None = None) -> None:
        super().__init__()
        self._title_file: str | None = None
        self._demo = False
        self._update_title()
        self.setAcceptDrops(True)
        self.controller = c = controller or Controller(parent=self)
        self.errors: list[str] = []
        self.player = Player(self)
        self.audition = Player(self, video=False)
        self._preview_for = None  # the Soundtrack the loaded preview file plays
        self.insights = None  # the Insights window, made when first shown
        self._build()
        self._menus()
        self._connect()
        c.start()

    # -- construction ------------------------------------------------------------------------
    def _build(self) -> None:
        self.video = VideoView()
        self.play_button = QPushButton("▶")
        self.play_button.setFixedWidth(40)
        self.position = QSlider(Qt.Orientation.Horizontal)
        self.position.setRange(0, 0)
        self.time_label = QLabel("0:00.0 / 0:00.0")
        self.preview_button = QPushButton("Preview with music")
        self.choice_label = QLabel("No music chosen")
        self.choice_label.setWordWrap(True)
        transport = QHBoxLayout()
        for w in (self.play_button, self.position, self.time_label, self.preview_button):
            transport.addWidget(w, 1 if w is self.position else 0)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.video, 1)
        lv.addLayout(transport)
        lv.addWidget(self.choice_label)
        self.suggestions = SuggestionsPanel()
        self.attributes = AttributesPanel()
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.suggestions)
        right.addWidget(self.attributes)
        right.setStretchFactor(0, 3)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(left)
        top.addWidget(right)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        top.setSizes([600, 400])  # the lists get room for names, starts, scores and tags
        self.timeline = Timeline()
        central = QWidget()
        cv = QVBoxLayout(central)
        cv.addWidget(top, 1)
        cv.addWidget(self.timeline)
        self.setCentralWidget(central)
        self.model_label = QLabel("loading the model…")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        sb = self.statusBar()
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)
        sb.addPermanentWidget(self.model_label)
        self._running = None

    def _menus(self) -> None:
        def action(menu, text, slot, shortcut=None) -> QAction:
            a = QAction(text, self)
            if shortcut is not None:
                a.setShortcut(QKeySequence(shortcut))
                a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            a.triggered.connect(slot)
            menu.addAction(a)
            self.addAction(a)
            return a

        f = self.menuBar().addMenu("&File")
        action(f, "&Open…", self._choose_file, QKeySequence.StandardKey.Open)
        self.export_action = action(f, "&Export…", self._choose_export, "Ctrl+E")
        f.addSeparator()
        action(f, "&Library…", self.show_library, "Ctrl+L")
        action(f, "&Settings…", self.show_settings, QKeySequence.StandardKey.Preferences)
        f.addSeparator()
        action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        p = self.menuBar().addMenu("&Play")
        action(p, "Play / pause", self.toggle_play, "Space")
        action(p, "Previous scene", lambda: self.controller.step_segment(-1), "Left")
        action(p, "Next scene", lambda: self.controller.step_segment(+1), "Right")
        v = self.menuBar().addMenu("&View")
        action(v, "&Insights…", self.show_insights, "Ctrl+I")

    def _connect(self) -> None:
        c = self.controller
        c.statusChanged.connect(self._status)
        c.jobStarted.connect(self._job_started)
        c.opened.connect(self._opened)
        c.resultsChanged.connect(self._results)
        c.segmentChanged.connect(self._segment)
        c.attributesChanged.connect(lambda infos: self.attributes.set_attributes(infos, c.weights))
        c.choiceChanged.connect(self._choice)
        c.previewReady.connect(self._preview_ready)
        c.exported.connect(self._exported)
        c.failed.connect(self.show_error)
        c.info.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self.timeline.segmentClicked.connect(self._timeline_clicked)
        self.suggestions.chosen.connect(self._choose_row)
        self.suggestions.auditionRequested.connect(self.audition_row)
        self.suggestions.hover_enabled = c.gui.hover_audition
        self.attributes.weightChanged.connect(c.set_weight)
        self.attributes.createRequested.connect(self.new_attribute)
        self.attributes.deleteRequested.connect(c.delete_attribute)
        self.cancel_button.clicked.connect(self._cancel_running)
        self.play_button.clicked.connect(self.toggle_play)
        self.preview_button.clicked.connect(self.preview)
        self.position.sliderMoved.connect(self.player.seek)
        self.player.positionChanged.connect(self._position)
        self.player.durationChanged.connect(self._duration)
        self.player.playingChanged.connect(lambda on: self.play_button.setText("❚❚" if on else "▶"))
        self.player.frameChanged.connect(self.video.show_image)
        self.player.errorOccurred.connect(lambda msg: self.show_error("Playback", msg))
        if not self.player.available:
            self.video.set_message(self.player.unavailable_reason or "")

    # -- engine state -------------------------------------------------------------------------
    def _update_title(self) -> None:
        """"clip.mp4 – MVPT Desktop (demo model)": the demo model is never mistaken for a real one."""
        title = "MVPT Desktop" + (" (demo model)" if self._demo else "")
        self.setWindowTitle(f"{self._title_file} – {title}" if self._title_file else title)

    def _status(self, st: tasks.EngineStatus) -> None:
        self._demo = st.demo
        self._update_title()
        full = f"{st.model} · {st.extractors}"
        self.model_label.setText(self.model_label.fontMetrics().elidedText(full, Qt.TextElideMode.ElideMiddle, 820))
        self.model_label.setToolTip(f"{st.model}\n{st.extractors}")
        self.attributes.new_button.setEnabled(st.has_model)
        if not st.has_model:
            self.video.set_message(FIRST_RUN.format(reason=st.model.removeprefix("no model: ")))

    def _job_started(self, label: str, handle) -> None:
        if handle.done:
            return
        self._running = handle
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.statusBar().showMessage(label)

        def progress(p) -> None:
            if p.total:
                self.progress.setRange(0, p.total)
                self.progress.setValue(p.done)
            else:
                self.progress.setRange(0, 0)
            self.statusBar().showMessage(f"{label}: {p.message}" if p.message else label)

        def finished() -> None:
            if self._running is handle:
                self._running = None
                self.progress.setVisible(False)
                self.cancel_button.setVisible(False)
            if handle.state == "aborted":
                self.statusBar().showMessage(f"{label}: cancelled", 4000)
            elif handle.state == "returned":
                self.statusBar().showMessage(f"{label}: done", 3000)

        handle.progress.connect(progress)
        handle.finished.connect(finished)

    def _cancel_running(self) -> None:
        if self._running is not None:
            self._running.cancel()

    # -- media -------------------------------------------------------------------------------
    def open_file(self, path: str):
        self.controller.gui = self.controller.gui.with_(last_folder=str(Path(path).parent))
        self.player.stop()
        self._preview_for = None
        return self.controller.open_file(path)

    def _opened(self, opened: tasks.Opened) -> None:
        a = opened.analysis
        self.timeline.set_media(a.starts, a.ends, a.attention, a.thumbnails, a.duration, strip=opened.strip)
        self.suggestions.set_music_mode(opened.is_music)
        self._title_file = Path(a.path).name
        self._update_title()
        if a.thumbnails:
            from PySide6.QtGui import QImage

            t = a.thumbnails[0]
            self.video.show_image(QImage(t.data, t.shape[1], t.shape[0], 3 * t.shape[1], QImage.Format.Format_RGB888).copy())
        if not opened.is_music:
            self.player.load(a.path)
        else:
            self.video.clear()
            self.video.set_message(f"{Path(a.path).name}: footage from your library for each part of the song "
                                   "(Audition shows a clip here)")
        self.preview_button.setEnabled(not opened.is_music)
        self.export_action.setEnabled(not opened.is_music)

    def _results(self, results: tasks.Results) -> None:
        self.suggestions.show_tracks(results.whole)
        self._segment(self.controller.segment)

    def _segment(self, index: int) -> None:
        c = self.controller
        if c.current is None or index < 0:
            return
        self.timeline.select(index)
        a = c.current.analysis
        start = float(a.starts[index])
        if self.timeline.segment_at(self.player.position / 1000.0) != index:  # not while playing through it
            self.timeline.set_playhead(start)
            self.player.seek(int(start * 1000))
        what = "Footage" if c.current.is_music else "Music"
        self.suggestions.show_scene(c.segment_rows(index), f"{what} for scene {index + 1} of {len(a)} "
                                    f"({fmt_time(a.starts[index])}–{fmt_time(a.ends[index])})")

    def _timeline_clicked(self, index: int) -> None:
        self.controller.select_segment(index)
        seconds = self.controller.segment_start(index)
        self.timeline.set_playhead(seconds)
        self.player.seek(int(seconds * 1000))

    def _position(self, ms: int) -> None:
        self.timeline.set_playhead(ms / 1000.0)
        if not self.position.isSliderDown():
            self.position.setValue(ms)
        self.time_label.setText(f"{fmt_time(ms / 1000)} / {fmt_time(self.player.duration / 1000)}")

    def _duration(self, ms: int) -> None:
        self.position.setRange(0, ms)
        self.time_label.setText(f"{fmt_time(self.timeline.playhead)} / {fmt_time(ms / 1000)}")

    def _choose_row(self, row) -> None:
        if isinstance(row, tasks.SuggestionRow):
            self.controller.choose_suggestion(row)
        elif isinstance(row, tasks.TrackRow):
            self.controller.choose_track(row)

    def _choice(self, choice) -> None:
        self.choice_label.setText("No music chosen" if choice is None else
                                  f"Music: <b>{choice.title}</b> from {fmt_time(choice.offset)} ({choice.note})")

    def audition_row(self, row) -> None:
        if row is None:
            return
        start = row.suggestion.start if isinstance(row, tasks.SuggestionRow) else (row.track.offset or 0.0)
        path = row.suggestion.path if isinstance(row, tasks.SuggestionRow) else row.track.path
        secs = self.controller.gui.audition_seconds
        if self.controller.current is not None and self.controller.current.is_music:
            self.player.play_range(path, int(start * 1000), int(secs * 1000))  # footage: show the clip
        else:
            self.player.pause()
            self.audition.play_range(path, int(start * 1000), int(secs * 1000))
        self.statusBar().showMessage(f"Audition: {row.name} from {fmt_time(start)} ({secs:g} s)", int(secs * 1000))

    def toggle_play(self) -> None:
        c = self.controller
        if self.player.is_playing:
            self.player.pause()
        elif c.choice is not None and self._preview_for != c.choice and c.current is not None and not c.current.is_music:
            self.preview()
        else:
            self.audition.stop()
            self.player.play()

    def preview(self):
        """Play the footage with the chosen music (a muxed preview file, made once)."""
        self.audition.stop()
        handle = self.controller.make_preview()
        if handle is not None:
            self.statusBar().showMessage("Preparing the preview…")
        return handle

    def _preview_ready(self, path: str) -> None:
        at = int(self.timeline.playhead * 1000)  # from where the playhead is
        self._preview_for = self.controller.choice
        self.player.load(path, autoplay=True, start_ms=at)

    # -- export, library, settings, attributes -------------------------------------------------
    def _choose_export(self) -> None:
        c = self.controller
        if c.current is None or c.choice is None:
            self.show_error("Nothing to export", "open footage and choose music for it first")
            return
        default = str(Path(c.gui.last_folder or Path(c.current.analysis.path).parent)
                      / f"{Path(c.current.analysis.path).stem} + music.mp4")
        path, _ = QFileDialog.getSaveFileName(self, "Export MP4 and timeline", default, "MP4 video (*.mp4)")
        if path:
            self.export(path)

    def export(self, mp4: str, otio_path: str | None = None):
        otio_path = otio_path or str(Path(mp4).with_suffix(".otio"))
        return self.controller.export(mp4, otio_path)

    def _exported(self, result) -> None:
        self.statusBar().showMessage(f"Exported {result.mp4} and {result.otio}", 8000)

    def show_library(self):
        from .library_dialog import LibraryDialog

        dlg = LibraryDialog(self.controller, self)
        dlg.open()
        return dlg

    def show_insights(self):
        """What the model sees: attention, the suggestions' tags, the attribute matrix."""
        from .insights import InsightsView

        if self.insights is None:
            self.insights = InsightsView(self.controller, self)
            self.insights.setWindowFlag(Qt.WindowType.Window)
            self.insights.resize(900, 700)
        self.insights.show()
        self.insights.raise_()
        return self.insights

    def show_settings(self):
        from .settings_dialog import SettingsDialog

        c = self.controller
        st = c.status
        dlg = SettingsDialog(c.session.settings, c.gui, f"Active: {st.model} · {st.extractors}" if st else "", self)

        def accepted() -> None:
            c.gui = dlg.gui_settings()
            if c.gui.persist:
                c.gui.save()
            self.suggestions.hover_enabled = c.gui.hover_audition
            if dlg.engine_settings() != c.session.settings:
                c.apply_settings(dlg.engine_settings(), save=c.gui.persist)

        dlg.accepted.connect(accepted)
        dlg.open()
        return dlg

    def new_attribute(self):
        st = self.controller.status
        dlg = NewAttributeDialog(bool(st and st.clip_active), self.controller.gui.last_folder, self)

        def accepted() -> None:
            name, source, domain = dlg.values()
            self.controller.create_attribute(name, domain=domain, **source)

        dlg.accepted.connect(accepted)
        dlg.open()
        return dlg

    # -- messages ------------------------------------------------------------------------------
    def show_error(self, title: str, text: str) -> None:
        """A message a creator understands, without blocking the window."""
        self.errors.append(f"{title}: {text}")
        self.statusBar().showMessage(f"{title}: {text}", 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open footage or a song", self.controller.gui.last_folder)
        if path:
            self.open_file(path)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt naming
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt naming
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_file(urls[0].toLocalFile())
            event.acceptProposedAction()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.player.stop()
        self.audition.stop()
        if self.controller.gui.persist:
            self.controller.gui.save()
        self.controller.shutdown()
        super().closeEvent(event)
