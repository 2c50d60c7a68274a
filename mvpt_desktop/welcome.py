"""The first hour in the app: three steps from an empty window to music for a scene.

:class:`WelcomePage` fills the main area while no video is open: (1) add a music folder
(drop it on the window or choose it; it is indexed with progress, then the counts of tracks
indexed and the files that failed, with their reasons), (2) open or drop footage, (3) pick a
scene. A step already done says so, with its counts; the next one says what to do. Once a
video is open, :class:`GuideBar` (one line above the editor) carries on: music still
missing, or "pick a scene", until the editor has picked one. Where the weightless picture
extractor is active, one dismissible note says how to add CLIP weights (`mvpt models`); it
is remembered as dismissed in the GUI settings.

No engine work here: the counts come from :func:`tasks.library_overview` (io pool) through
the controller, the indexing from :meth:`Controller.add_library_folder`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

AUDIO_EXTS = {".mp3", ".flac", ".wav", ".ogg", ".opus", ".m4a", ".aac", ".aif", ".aiff", ".wma"}
VIDEO_EXTS = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mts", ".mxf", ".wmv"}
FAILURES_SHOWN = 6
CLIP_NOTE = ("Pictures are read by the weightless <b>classic</b> extractor. With CLIP weights (a picture model "
             "the app never downloads by itself) text attributes work and models trained on CLIP features can "
             "be used: run <code>mvpt models</code> in a terminal to see where to put them.")
DONE = "✓"


def folder_kind(folder: str | Path, limit: int = 2000) -> str:
    """What a dropped folder holds: "music" (audio files), "footage" (videos only) or "empty"
    (neither), looking at up to ``limit`` files below it."""
    audio = video = 0
    for i, p in enumerate(Path(folder).rglob("*")):
        if i >= limit:
            break
        ext = p.suffix.lower()
        audio += ext in AUDIO_EXTS
        video += ext in VIDEO_EXTS
    return "music" if audio else "footage" if video else "empty"


@dataclass(frozen=True)
class Steps:
    """Where a creator is in the three steps (what the welcome page and the guide bar show)."""
    tracks: int = 0
    """Music files read into the library."""
    indexed: int | None = None
    """Of them, indexed for the active model (None: no model to index for)."""
    failed: int = 0
    failures: tuple[tuple[str, str], ...] = ()
    """(file, reason) of the music files that could not be used."""
    video: str | None = None
    """The open video's file name."""
    scenes: int = 0
    picked: bool = False
    """A scene was picked in the editor (step 3 done)."""
    known: bool = False
    """The library was looked at (before that, step 1 says "looking…")."""

    @property
    def has_music(self) -> bool:
        return self.tracks > 0

    @property
    def next_step(self) -> int:
        """1, 2 or 3: the first step not done; 0 when all are."""
        if not self.has_music:
            return 1
        if self.video is None:
            return 2
        return 0 if self.picked else 3

    def music_line(self) -> str:
        if not self.known:
            return "Looking at your library…"
        if not self.has_music:
            line = "Your library has no music yet."
        else:
            n = self.tracks if self.indexed is None else self.indexed
            line = f"{DONE} {n} track{'s' if n != 1 else ''} indexed"
            if self.indexed is not None and self.indexed < self.tracks:
                line += f" ({self.tracks - self.indexed} still to index for the model)"
        if self.failed:
            line += f" · {self.failed} file{'s' if self.failed != 1 else ''} could not be used (below, with why)"
        return line


class _Step(QFrame):
    """One numbered step: a title, what to do (or what was done), buttons, extra widgets."""

    def __init__(self, number: int, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("step")
        self.number = number
        self.badge = QLabel(str(number))
        self.badge.setFixedSize(34, 34)
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel(f"<b>{title}</b>")
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)  # wraps at the card's width
        self.buttons = QHBoxLayout()
        self.buttons.setContentsMargins(0, 0, 0, 0)
        body = QVBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.title)
        body.addWidget(self.text)
        self.body = body
        body.addLayout(self.buttons)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 10, 12, 10)
        row.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(body, 1)
        self.set_state("todo")

    def set_state(self, state: str) -> None:
        """"done", "next" (the one to do now) or "todo"."""
        if getattr(self, "state", None) == state:
            return  # a style sheet re-polishes the card: only when the state changes
        self.state = state
        colour = {"done": "#3a9a5a", "next": "#2f7fd0", "todo": "#555"}[state]
        self.badge.setText(DONE if state == "done" else str(self.number))
        self.badge.setStyleSheet(f"background: {colour}; color: white; border-radius: 17px; font-weight: bold;"
                                 "font-size: 15px;")
        self.setStyleSheet("QFrame#step { border: 1px solid %s; border-radius: 6px; }"
                           % ("#2f7fd0" if state == "next" else "#444"))


class WelcomePage(QWidget):
    """The main area while no video is open (see the module doc)."""

    addMusicRequested = Signal()
    openVideoRequested = Signal()
    clipNoteDismissed = Signal()
    learnRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.steps = Steps()
        self.failure_lines: list[str] = []
        heading = QLabel("<h2>Music for your footage, in three steps</h2>")
        sub = QLabel("Everything stays on this computer: your music and footage are read here, nothing is uploaded.")
        sub.setWordWrap(True)
        self.step1 = _Step(1, "Add your music")
        self.add_button = QPushButton("Add music folder…")
        self.add_button.clicked.connect(self.addMusicRequested)
        self.step1.buttons.addWidget(self.add_button)
        self.step1.buttons.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress_label = QLabel("")
        self.progress_label.setWordWrap(True)
        self.progress_label.setVisible(False)
        self.failures = QLabel("")
        """The files that could not be used, one per line with the reason (wrapped, never cut off)."""
        self.failures.setWordWrap(True)
        self.failures.setTextFormat(Qt.TextFormat.PlainText)
        self.failures.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.failures.setStyleSheet("color: #c86400;")
        self.failures.setVisible(False)
        self.failures.setToolTip("files of your music folders that could not be used, with the reason")
        for w in (self.progress_label, self.progress, self.failures):
            self.step1.body.addWidget(w)
        self.step2 = _Step(2, "Open your footage")
        self.open_button = QPushButton("Open video…")
        self.open_button.clicked.connect(self.openVideoRequested)
        self.step2.buttons.addWidget(self.open_button)
        self.step2.buttons.addStretch(1)
        self.step3 = _Step(3, "Pick a scene")
        self.step3.text.setText("Click a scene in the strip along the bottom (or press ← →): the music that fits it "
                                "is listed on the right. Double-click a track, or “Use this music”, to put it under "
                                "the scene; Preview plays them together.")
        self.clip_note = QFrame()
        self.clip_note.setObjectName("clipnote")
        self.clip_note.setStyleSheet("QFrame#clipnote { background: #2b2f36; border-radius: 6px; }")
        note_text = QLabel(CLIP_NOTE)
        note_text.setWordWrap(True)
        note_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.clip_note_text = note_text
        dismiss = QPushButton("Got it")
        dismiss.setToolTip("don't show this note again")
        dismiss.clicked.connect(self._dismiss_clip_note)
        self.dismiss_button = dismiss
        nl = QHBoxLayout(self.clip_note)
        nl.setContentsMargins(12, 8, 12, 8)
        nl.addWidget(note_text, 1)
        nl.addWidget(dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self.clip_note.setVisible(False)
        self.model_line = QLabel("")
        self.model_line.setWordWrap(True)
        self.model_line.setStyleSheet("color: #999;")
        self.learn_button = QPushButton("Teach it your style…")
        self.learn_button.setToolTip("learn your taste from a folder of your finished videos (Tools menu)")
        self.learn_button.clicked.connect(self.learnRequested)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_line, 1)
        model_row.addWidget(self.learn_button, 0, Qt.AlignmentFlag.AlignTop)
        column = QWidget()
        column.setMaximumWidth(760)
        column.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        cl = QVBoxLayout(column)
        cl.setSpacing(10)
        for w in (heading, sub, self.step1, self.step2, self.step3, self.clip_note):
            cl.addWidget(w)
        cl.addLayout(model_row)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(column, 4)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self.set_steps(self.steps)

    # -- state ---------------------------------------------------------------------------------
    def set_steps(self, steps: Steps) -> None:
        self.steps = s = steps
        nxt = s.next_step
        self.step1.set_state("done" if s.has_music else "next")
        self.step1.text.setText(
            s.music_line() + ("" if s.has_music else "<br>Drop a folder of music on this window, or choose it. "
                              "Its tracks are read and indexed on this computer (a few seconds per track)."))
        self.add_button.setText("Add another music folder…" if s.has_music else "Add music folder…")
        lines = [f"• {Path(path).name}: {reason}" for path, reason in s.failures[:FAILURES_SHOWN]]
        if len(s.failures) > FAILURES_SHOWN:
            lines.append(f"… and {len(s.failures) - FAILURES_SHOWN} more (File → Library… lists them all)")
        self.failure_lines = lines
        self.failures.setText("\n".join(lines))
        self.failures.setVisible(bool(lines))
        self.step2.set_state("done" if s.video else "next" if nxt == 2 else "todo")
        if s.video:
            self.step2.text.setText(f"{DONE} {s.video} is open ({s.scenes} scenes)")
        else:
            self.step2.text.setText("Drop a video on this window, or open it. It is read once and remembered: "
                                    "opening it again is instant."
                                    + ("" if s.has_music else " (You can open it now; its suggestions come "
                                                              "once your music is indexed.)"))
        self.step3.set_state("done" if s.picked else "next" if nxt == 3 else "todo")

    def set_indexing(self, text: str | None, done: int = 0, total: int | None = None) -> None:
        """Indexing progress under step 1 (None: no indexing running)."""
        running = text is not None
        if running and not self.steps.has_music:
            self.step1.text.setText("Reading and indexing your music… (you can open a video meanwhile)")
        elif not running:
            self.set_steps(self.steps)
        self.progress.setVisible(running)
        self.progress_label.setVisible(running or bool(self.progress_label.text()))
        if running:
            self.progress_label.setText(text)
            self.progress.setRange(0, total or 0)
            if total:
                self.progress.setValue(done)
        self.add_button.setEnabled(not running)

    def set_result(self, text: str) -> None:
        """What the last indexing did, kept under step 1."""
        self.progress_label.setText(text)
        self.progress_label.setVisible(bool(text))

    def set_model_line(self, text: str, can_learn: bool = True) -> None:
        self.model_line.setText(text)
        self.learn_button.setEnabled(can_learn)

    def show_clip_note(self, show: bool) -> None:
        self.clip_note.setVisible(show)

    def _dismiss_clip_note(self) -> None:
        self.clip_note.setVisible(False)
        self.clipNoteDismissed.emit()


class GuideBar(QFrame):
    """One line above the editor while a step is left: what to do next, with its button."""

    addMusicRequested = Signal()
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("guide")
        self.setStyleSheet("QFrame#guide { background: #1f3a5c; border-radius: 4px; }")
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.button = QPushButton("Add music folder…")
        self.button.clicked.connect(self.addMusicRequested)
        close = QPushButton("✕")
        close.setFlat(True)
        close.setFixedWidth(28)
        close.setToolTip("hide these hints")
        close.clicked.connect(self._close)
        self.close_button = close
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 4, 4)
        row.addWidget(self.text, 1)
        row.addWidget(self.button)
        row.addWidget(close)
        self.dismissed = False
        self.indexing = False
        """Music is being read and indexed (step 1 under way)."""
        self.setVisible(False)

    def set_steps(self, steps: Steps, provisional: bool = False) -> None:
        """Show what is left for an open video (hidden when nothing is, or when closed)."""
        nxt = steps.next_step
        if nxt == 1 and self.indexing:
            self.text.setText("Step 1 of 3 is under way: your music is being read and indexed (progress below). "
                              "The suggestions for this video come once it is done.")
            self.button.setVisible(False)
        elif nxt == 1 and steps.known:
            self.text.setText("Step 1 of 3 is left: your library has no music yet, so there is nothing to suggest. "
                              "Add a folder of music (or drop it on this window); the suggestions follow once it "
                              "is indexed.")
            self.button.setVisible(True)
        elif nxt == 3:
            self.text.setText("Step 3: pick a scene — click it in the strip below (or press ← →). Its music is "
                              "listed on the right" + (" (provisional while the video is still read)." if provisional
                                                       else "."))
            self.button.setVisible(False)
        else:
            self.setVisible(False)
            return
        self.setVisible(not self.dismissed)

    def _close(self) -> None:
        self.dismissed = True
        self.setVisible(False)
        self.closed.emit()


class WelcomeFlow(QObject):
    """Keeps :class:`WelcomePage` and :class:`GuideBar` in step with the controller: the
    library's counts (io pool), indexing progress, the open video, the scene picked, the CLIP
    note. The window owns it and tells it about drops and picked scenes."""

    stepsChanged = Signal(object)
    """:class:`Steps`"""

    def __init__(self, window, page: WelcomePage, bar: GuideBar) -> None:
        super().__init__(window)
        self.window, self.page, self.bar = window, page, bar
        c = self.controller = window.controller
        self.steps = Steps(picked=bool(c.gui.guide_done))
        self._overview_job = None
        self._scanned = ""  # what the last scan found (said under step 1)
        c.statusChanged.connect(self._status)
        c.jobStarted.connect(self._job)
        c.provisionalChanged.connect(self._video)
        c.opened.connect(self._video)
        c.libraryChanged.connect(self.refresh)
        page.addMusicRequested.connect(self.choose_music_folder)
        page.openVideoRequested.connect(window._choose_file)
        page.clipNoteDismissed.connect(self._clip_note_dismissed)
        page.learnRequested.connect(window.show_learn)
        bar.addMusicRequested.connect(self.choose_music_folder)

    # -- what the page shows --------------------------------------------------------------------
    def _set(self, steps: Steps) -> None:
        self.steps = steps
        self.page.set_steps(steps)
        cur = self.controller.current
        self.bar.set_steps(steps, provisional=bool(cur is not None and cur.provisional))
        self.stepsChanged.emit(steps)

    def refresh(self):
        """Ask the library for its counts (io pool); the page and bar follow."""
        from . import tasks

        session = self.controller.session
        h = self.controller.workers.io.submit(lambda cancel: tasks.library_overview(session), "library overview")
        h.returned.connect(self._overview)
        self._overview_job = h
        return h

    def _overview(self, ov) -> None:
        music = ov.counts.get("music", {})
        indexed = ov.embedded.get("music", 0) if ov.embedded else None
        self._set(replace(self.steps, tracks=int(music.get("ok", 0)), indexed=indexed,
                          failed=int(music.get("failed", 0)), failures=tuple(ov.failures), known=True))

    def _status(self, st) -> None:
        gui = self.controller.gui
        self.page.show_clip_note(not st.clip_active and not gui.clip_note_dismissed)
        kind = getattr(st, "kind", "model" if st.has_model else "none")
        if not st.has_model:
            line = ("No model is active, so there are no suggestions yet: " + st.model.removeprefix("no model: ")
                    + " (File → Settings…).")
        elif kind == "starter":
            line = ("Suggestions come from the starter model that ships with the app. To make them follow your "
                    "taste, teach it your style: it learns from your finished videos.")
        elif kind == "demo":
            line = "Suggestions come from the demo model (trained on a small generated world)."
        else:
            line = f"Suggestions come from your {st.model}."
        self.page.set_model_line(line, st.has_model)
        self.refresh()  # a new model: its own count of tracks indexed

    def _video(self, opened) -> None:
        a = opened.analysis
        if opened.is_music:
            return
        scenes = opened.total if opened.provisional else len(a)
        self._set(replace(self.steps, video=Path(a.path).name, scenes=scenes))

    def scene_picked(self) -> None:
        """The editor picked a scene (a click on the strip, ← →, a suggestion used): step 3 done,
        remembered so the hint does not come back."""
        if self.steps.picked or self.controller.current is None:
            return
        gui = self.controller.gui.with_(guide_done=True)
        self.controller.gui = gui
        if gui.persist:
            gui.save()
        self._set(replace(self.steps, picked=True))

    def _clip_note_dismissed(self) -> None:
        gui = self.controller.gui.with_(clip_note_dismissed=True)
        self.controller.gui = gui
        if gui.persist:
            gui.save()

    # -- jobs -----------------------------------------------------------------------------------
    def _job(self, label: str, handle) -> None:
        if not any(label.startswith(w) for w in ("Scanning", "Indexing", "Removing")):
            return
        self.page.set_indexing(label)
        self.bar.indexing = True
        self._set(self.steps)

        def progress(p) -> None:
            self.page.set_indexing(f"{label}: {p.message}" if p.message else label, p.done, p.total)

        def finished() -> None:
            self.page.set_indexing(None)
            self.bar.indexing = False
            r = handle.result
            if handle.state == "errored":
                self.page.set_result(f"{label}: failed — {handle.error}")
            elif handle.state == "aborted":
                self.page.set_result(f"{label}: cancelled (what was read so far is kept)")
            elif hasattr(r, "failed") and hasattr(r, "found"):  # a scan: what it found
                self._scanned = (f"{Path(r.folder).name}: {r.found} music files found, {len(r.processed)} read now, "
                                 f"{r.skipped} known already, {len(r.failed)} could not be used")
                self.page.set_result(self._scanned)
            elif hasattr(r, "embedded"):  # the indexing that follows it
                self.page.set_result(f"{self._scanned} · {r.embedded} newly indexed for the model".lstrip(" ·"))
            else:
                self.page.set_result("")
            self.refresh()

        handle.progress.connect(progress)
        handle.finished.connect(finished)

    # -- adding music ---------------------------------------------------------------------------
    def choose_music_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self.window, "Add a folder of music", self.controller.gui.last_folder)
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str):
        """A folder chosen or dropped: index it as music when it holds music; otherwise say what
        to do instead. Returns the scan's handle (None when nothing was started)."""
        kind = folder_kind(folder)
        name = Path(folder).name
        if kind == "footage":
            self.window.show_error("That folder holds videos, not music",
                                   f"{name} has video files but no music files. Drop one video to open it, or "
                                   "add the folder under File → Library… → Add footage folder (to find footage "
                                   "for a song).")
            return None
        if kind == "empty":
            self.window.show_error("No music in that folder",
                                   f"{name} holds no music files (.mp3, .flac, .wav, .m4a, .ogg …). Choose the "
                                   "folder where your music is.")
            return None
        self.controller.gui = self.controller.gui.with_(last_folder=str(Path(folder).parent))
        return self.controller.add_library_folder(folder, "music")
