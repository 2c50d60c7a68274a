"""The main window: composes the widgets, menus and shortcuts around a :class:`Controller`.

Layout: the picture and transport on the left, the suggestion lists and the attribute
sliders on the right, the timeline (thumbnails + attention heatmap) along the bottom; the
status bar says which model and extractors are active, and shows a progress bar with a
Cancel button while work runs. No engine work happens here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
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
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from . import player as player_module
from . import tasks
from .attributes_panel import AttributesPanel
from .controller import Controller
from .cues import CuePanel
from .cuts_panel import CutsPanel
from .models import fmt_time
from .player import Player, VideoView
from .suggestions import SuggestionsPanel
from .timeline import Timeline
from .welcome import GuideBar, WelcomeFlow, WelcomePage
from .window_dialogs import WindowDialogsMixin
from .window_soundtrack import WindowSoundtrackMixin

FIRST_RUN = ("No trained model yet.\n{reason}\n\nYou can open footage, watch it and export it, and the library "
             "works without one; suggestions need a model: choose its folder in File → Settings…")
DROP_HERE = "Drop footage (or a song) here"
MODEL_LABEL_PX = 360
"""The model line in the status bar is elided to this width: job progress gets the rest."""


class MainWindow(QMainWindow, WindowDialogsMixin, WindowSoundtrackMixin):
    def __init__(self, controller: Controller | None = None, reopen_last: bool = False) -> None:
        super().__init__()
        self.reopen_last = reopen_last
        """Open the video opened last (its cues and sliders) once the engine is ready."""
        self._title_file: str | None = None
        self._kind = "none"  # of the active model: "demo" and "starter" say so in the title
        self._update_title()
        self.setAcceptDrops(True)
        self.controller = c = controller or Controller(parent=self)
        self.errors: list[str] = []
        self.player = Player(self)
        self.audition = Player(self, video=False)
        self._preview_for = None  # the Soundtrack the loaded preview file plays
        self.insights = None  # the Insights window, made when first shown
        self.export_box = None  # the last "Exported" message
        self.open_url = QDesktopServices.openUrl  # "Show in folder" (tests replace it)
        self._started = False
        self._shown: str | None = None
        """The file the window is set up for (by its first provisional scenes or its analysis)."""
        self._lists_on_hold = False
        """True between the first provisional scenes of a file and the next turn of the event loop."""
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
        self.audio_notice = QLabel(player_module.NO_AUDIO_DEVICE)
        self.audio_notice.setWordWrap(True)
        self.audio_notice.setStyleSheet("color: #f0a040;")
        self.audio_notice.setVisible(False)
        transport = QHBoxLayout()
        for w in (self.play_button, self.position, self.time_label, self.preview_button):
            transport.addWidget(w, 1 if w is self.position else 0)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.video, 1)
        lv.addLayout(transport)
        lv.addWidget(self.audio_notice)
        lv.addWidget(self.choice_label)
        self.suggestions = SuggestionsPanel()
        self.cues = CuePanel()
        self.attributes = AttributesPanel()
        self.rhythm_panel = CutsPanel()
        """"Sync to cuts" and the video's cuts against the chosen cue's beats."""
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.suggestions)
        right.addWidget(self.cues)
        right.addWidget(self.rhythm_panel)
        right.addWidget(self.attributes)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        right.setStretchFactor(2, 1)
        right.setStretchFactor(3, 1)
        # the suggestions are what the editor reads most: they start with over half the column
        # (by their size hints the panels below took it and left the list two rows)
        right.setSizes([560, 120, 170, 110])
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(left)
        top.addWidget(right)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        top.setSizes([600, 400])  # the lists get room for names, starts, scores and tags
        self.timeline = Timeline()
        self.guide = GuideBar()
        """What is left of the first steps, above the editor."""
        self.editor = QWidget()
        cv = QVBoxLayout(self.editor)
        cv.addWidget(self.guide)
        cv.addWidget(top, 1)
        cv.addWidget(self.timeline)
        self.welcome = WelcomePage()
        """The main area while no video is open: the three steps to music for a scene."""
        self.central = QStackedWidget()
        self.central.addWidget(self.welcome)
        self.central.addWidget(self.editor)
        self.setCentralWidget(self.central)
        QTimer.singleShot(0, self._warm_editor)
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
        self.save_sheet_action = action(f, "Save cue &sheet…", self._choose_sheet_file, "Ctrl+Shift+S")
        f.addSeparator()
        action(f, "&Library…", self.show_library, "Ctrl+L")
        action(f, "&Settings…", self.show_settings, QKeySequence.StandardKey.Preferences)
        t = self.menuBar().addMenu("&Tools")
        self.learn_action = action(t, "&Teach it your style…", self.show_learn)
        f.addSeparator()
        action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        p = self.menuBar().addMenu("&Play")
        action(p, "Play / pause", self.toggle_play, "Space")
        action(p, "Previous scene", lambda: self._step_scene(-1), "Left")
        action(p, "Next scene", lambda: self._step_scene(+1), "Right")
        v = self.menuBar().addMenu("&View")
        action(v, "&Insights…", self.show_insights, "Ctrl+I")

    def _connect(self) -> None:
        c = self.controller
        c.statusChanged.connect(self._status)
        c.jobStarted.connect(self._job_started)
        c.opened.connect(self._opened)
        c.speechHeard.connect(self.timeline.set_speech)
        c.provisionalChanged.connect(self._provisional)
        c.resultsChanged.connect(self._results)
        c.segmentChanged.connect(self._segment)
        c.attributesChanged.connect(lambda infos: self.attributes.set_attributes(infos, c.weights))
        c.weightsRestored.connect(lambda weights: self.attributes.set_attributes(c.attributes, weights))
        self._connect_soundtrack()
        c.failed.connect(self.show_error)
        c.info.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self.timeline.segmentClicked.connect(self._timeline_clicked)
        self.suggestions.chosen.connect(self._choose_row)
        self.suggestions.fitRequested.connect(self._fit_row)
        self.suggestions.auditionRequested.connect(self.audition_row)
        self.suggestions.hover_enabled = c.gui.hover_audition
        self.attributes.weightChanged.connect(c.set_weight)
        self.attributes.createRequested.connect(self.new_attribute)
        self.attributes.deleteRequested.connect(c.delete_attribute)
        self.cancel_button.clicked.connect(self._cancel_running)
        self.flow = WelcomeFlow(self, self.welcome, self.guide)
        c.provisionalChanged.connect(self._show_editor)
        c.opened.connect(self._show_editor)
        self.play_button.clicked.connect(self.toggle_play)
        self.preview_button.clicked.connect(self.preview)
        self.position.sliderMoved.connect(self.player.seek)
        self.player.positionChanged.connect(self._position)
        self.player.durationChanged.connect(self._duration)
        self.player.playingChanged.connect(lambda on: self.play_button.setText("❚❚" if on else "▶"))
        self.player.frameChanged.connect(self.video.show_image)
        self.player.errorOccurred.connect(lambda msg: self.show_error("Playback", msg))
        self.player.playingChanged.connect(self._check_audio)
        if not self.player.available:
            self.video.set_message(self.player.unavailable_reason or "")

    # -- engine state -------------------------------------------------------------------------
    def _update_title(self) -> None:
        """"clip.mp4 – MVPT Desktop (demo model)": the demo model is never mistaken for a real one."""
        title = "MVPT Desktop" + (f" ({self._kind} model)" if self._kind in ("demo", "starter") else "")
        self.setWindowTitle(f"{self._title_file} – {title}" if self._title_file else title)

    def _status(self, st: tasks.EngineStatus) -> None:
        self._kind = st.kind
        self._update_title()
        self.model_label.setText(self.model_label.fontMetrics().elidedText(st.short, Qt.TextElideMode.ElideRight,
                                                                           MODEL_LABEL_PX))
        self.model_label.setToolTip(f"{st.model}\n{st.extractors}")
        self.attributes.new_button.setEnabled(st.has_model)
        if not st.has_model:
            self.video.set_message(FIRST_RUN.format(reason=st.model.removeprefix("no model: ")))
        elif self.player.available:
            self.video.set_message(DROP_HERE)  # a model now: the first-run note goes
        if not self._started:
            self._started = True
            self._first_start()

    def _first_start(self) -> None:
        """Once the engine says what it has: the sliders as last left, and (when asked) the
        video opened last, with its cues and sliders."""
        c = self.controller
        if c.gui.weights and not c.weights:
            c.weights = {n: float(w) for n, w in c.gui.weights.items()}
            self.attributes.set_attributes(c.attributes, c.weights)
        if self.reopen_last and c.current is None and (c.analysis_job is None or c.analysis_job.done):
            from engine.project import last_video

            last = last_video(c.session.data_dir)
            if last:
                self.statusBar().showMessage(f"Reopening {Path(last).name}, the video you had open last", 5000)
                self.open_file(last)

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

    def _warm_editor(self) -> None:
        """Lay out and paint the (hidden) editor once while the app idles after start-up: its
        first paint (the plots, fonts, style) took ~100 ms of the GUI thread at the click
        that opens the first file, a stall the editor saw just as the analysis began."""
        if self.central.currentWidget() is not self.editor:
            self.editor.resize(self.central.size())
            self.editor.grab()

    # -- media -------------------------------------------------------------------------------
    def open_file(self, path: str):
        c = self.controller
        c.gui = c.gui.with_(last_folder=str(Path(path).parent))
        self.player.stop()
        self._preview_for = None
        self._shown = None  # the first scenes that come in set the window up for it
        c.restore_project(path)
        # the editor shows at once (its first layout and paint happen now, at the click, not when
        # the first scenes come in); a file that cannot be read leaves the welcome page as it was
        self.central.setCurrentWidget(self.editor)
        handle = c.open_file(path)
        handle.finished.connect(lambda: self.central.setCurrentWidget(self.welcome) if c.current is None else None)
        return handle

    def _provisional(self, opened: tasks.Opened) -> None:
        """Scenes of the file being read: the first time the window is set up for it, in three
        turns of the event loop (the strip now, the lists next, the player and the rest last:
        at once they held the GUI thread past 50 ms on a busy machine), then the strip and the
        lists grow; nothing reloads."""
        a = opened.analysis
        if self._shown != a.path and not opened.is_music:
            self._shown = a.path
            self._lists_on_hold = True
            self._show_timeline(opened)
            self._say_provisional(opened)
            QTimer.singleShot(0, lambda: self._first_lists(a.path))
            return
        self.timeline.set_media(a.starts, a.ends, a.attention, a.thumbnails, a.duration, strip=opened.strip)
        self.timeline.select(self.controller.segment)
        self._say_provisional(opened)

    def _still_shown(self, path: str) -> tasks.Opened | None:
        cur = self.controller.current
        return cur if cur is not None and cur.analysis.path == path and self._shown == path else None

    def _first_lists(self, path: str) -> None:
        """The second turn of the first provisional scenes: the lists."""
        self._lists_on_hold = False
        if self._still_shown(path) is None:
            return
        if self.controller.results is not None:
            self._results(self.controller.results)
        QTimer.singleShot(0, lambda: self._first_file(path))

    def _first_file(self, path: str) -> None:
        """The last turn: the player, the picture, the panels (done already when the whole
        file came in meanwhile)."""
        cur = self._still_shown(path)
        if cur is not None and cur.provisional:
            self._show_file(cur)

    def _say_provisional(self, opened: tasks.Opened) -> None:
        if opened.provisional:
            self.statusBar().showMessage(
                f"Reading {Path(opened.analysis.path).name}: scenes 1–{len(opened.analysis)} of {opened.total} in; "
                "their suggestions are provisional until the whole video is read", 4000)

    def _opened(self, opened: tasks.Opened) -> None:
        self._shown = opened.analysis.path
        self._lists_on_hold = False
        self._show_timeline(opened)
        self._show_file(opened)

    def _show_timeline(self, opened: tasks.Opened) -> None:
        """The strip, heatmap, cuts, beat lane and speech of ``opened``, and the title."""
        a = opened.analysis
        self.timeline.set_media(a.starts, a.ends, a.attention, a.thumbnails, a.duration, strip=opened.strip)
        video = getattr(a, "video_rhythm", None)
        self.timeline.set_cuts(tasks.video_cuts(video) if video is not None and not opened.is_music else None)
        self.timeline.set_rhythm(self.controller.rhythm)
        self.timeline.set_speech(None if opened.is_music else getattr(a, "speech", None))
        self._title_file = Path(a.path).name
        self._update_title()

    def _show_file(self, opened: tasks.Opened) -> None:
        """The player, the first picture and the panels for ``opened``."""
        a = opened.analysis
        self.suggestions.set_music_mode(opened.is_music)
        if a.thumbnails:
            from PySide6.QtGui import QImage

            t = a.thumbnails[0]
            self.video.show_image(QImage(t.data, t.shape[1], t.shape[0], 3 * t.shape[1], QImage.Format.Format_RGB888).copy())
        if not opened.is_music:
            if self.player.source != a.path:  # the final analysis of a file shown provisionally keeps the player
                self.player.load(a.path)
        else:  # a song: the video opened before is gone from the transport too
            self.player.unload()
            self.position.setRange(0, 0)
            self.time_label.setText("0:00.0 / 0:00.0")
            self.video.clear()
            self.video.set_message(f"{Path(a.path).name}: footage from your library for each part of the song "
                                   "(Audition shows a clip here)")
        self._say_provisional(opened)
        self.preview_button.setEnabled(not opened.is_music)
        self.export_action.setEnabled(not opened.is_music)
        self.save_sheet_action.setEnabled(not opened.is_music)
        self.cues.setVisible(not opened.is_music)
        self.rhythm_panel.setVisible(not opened.is_music)
        st = self.controller.status
        if st is not None and not st.has_model and not opened.provisional:
            note = (f"{Path(a.path).name} is open without suggestions: they need a trained model (choose its "
                    "folder in File → Settings…)")
            QTimer.singleShot(0, lambda: self.statusBar().showMessage(note, 15000))  # after "Analysing: done"
        if not opened.is_music:
            self.attributes.set_attributes(self.controller.attributes, self.controller.weights)

    def _results(self, results: tasks.Results) -> None:
        if self._lists_on_hold:  # the first scenes of a file: shown on the next turn (_first_lists)
            return
        self.suggestions.show_tracks(results.whole)
        self._segment(self.controller.segment)

    def _segment(self, index: int) -> None:
        c = self.controller
        if c.current is None or index < 0 or self._lists_on_hold:
            return
        self.timeline.select(index)
        a = c.current.analysis
        start = float(a.starts[index])
        if self.timeline.segment_at(self.player.position / 1000.0) != index:  # not while playing through it
            self.timeline.set_playhead(start)
            self.player.seek(int(start * 1000))
        music = c.current.is_music
        what = "Footage" if music else "Music"
        part = "part" if music else "scene"
        total = c.current.total if c.current.provisional else len(a)  # while reading: the whole file's count
        heading = (f"{what} for {part} {index + 1} of {total} "
                   f"({fmt_time(a.starts[index])}–{fmt_time(a.ends[index])})")
        if c.current.provisional:
            heading += " — provisional (still reading)"
        fits = c.results.fits_well(index) if c.results is not None else None
        if c.status is not None and not c.status.has_model:
            heading += " — no suggestions without a model (File → Settings…)"
        elif fits is False:
            heading += (" — no track fits this scene well: the best are not far above the rest of the library "
                        "(score it by hand, or extend a neighbouring cue over it)")
        whole = (f"{'Footage' if music else 'Music'} for the whole {'song' if music else 'video'} "
                 f"({fmt_time(0)}–{fmt_time(a.duration)}), with where to start and how much it covers")
        self.suggestions.show_scene(c.segment_rows(index), heading, whole)

    def _show_editor(self, opened: tasks.Opened) -> None:
        """A file is open (its first scenes are in): the editor replaces the welcome page."""
        self.central.setCurrentWidget(self.editor)

    def _step_scene(self, delta: int) -> None:
        self.controller.step_segment(delta)
        self.flow.scene_picked()

    def _timeline_clicked(self, index: int) -> None:
        self.flow.scene_picked()
        self.controller.select_segment(index)
        seconds = self.controller.segment_start(index)
        self.timeline.set_playhead(seconds)
        self.player.seek(int(seconds * 1000))

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
            path = urls[0].toLocalFile()
            if Path(path).is_dir():  # a folder: music for the library (the welcome's step 1)
                self.flow.add_folder(path)
            else:
                self.open_file(path)
            event.acceptProposedAction()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.player.stop()
        self.audition.stop()
        if self.controller.gui.persist:
            self.controller.gui.save()
        self.controller.shutdown()
        super().closeEvent(event)
