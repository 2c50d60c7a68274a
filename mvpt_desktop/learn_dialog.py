""""Teach it your style": learn from a folder of the creator's finished edits.

The dialog runs ``mvpt learn FOLDER --progress-json`` as a child process (``QProcess``; the
GUI never imports ``training``): progress and the end come back as JSON lines, Cancel sends
SIGTERM (the job stops at its next check and writes no version; the features read so far are
kept for the next run), and a child that does not stop is killed. It starts from the active
model (starter or the creator's last one), shows the files skipped with their reasons and
the held-out figures before and after, and switches the app to the new version only when
learn says it is better (:meth:`Controller.switch_model`: the model is loaded, the library
indexed for it, the open video analysed again). The previous model is never touched.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

KILL_AFTER_MS = 15_000
"""A cancelled child still running after this long is killed (it writes nothing half-done either way)."""
INTRO = ("Point at a folder of your finished videos — edits with the music you chose for them. The app learns "
         "your taste from them on this computer (nothing leaves it), holds out a fifth of them to judge, and "
         "switches to the new model only when it does better on those. Your current model is kept either way.")
STAGES = {"features": "Reading your videos", "judge": "Judging on the held-out edits", "fine-tune": "Learning",
          "train": "Learning"}


@dataclass
class LearnOutcome:
    """What one run ended with (for the dialog and the tests)."""
    state: str
    """"switched", "kept" (new version not better), "error", "cancelled"."""
    message: str
    result: dict = field(default_factory=dict)
    """``mvpt learn``'s result (LearnResult as JSON) when it finished."""


def _code_root() -> str:
    """The folder holding the ``engine`` package, for the child's import path (a source checkout
    run in place has no installed package)."""
    import engine.paths

    return str(Path(engine.paths.__file__).resolve().parents[1])


def score_line(name: str, sc: dict | None) -> str:
    if not sc:
        return ""
    return (f"{name}: own track in the top 5 for {sc['hit5']:.0f} % of {sc['scenes']} held-out scenes "
            f"(chance {sc['chance5']:.0f} %); whole-video rank {sc['median_rank']:.1f} of {sc['tracks']}")


class LearnDialog(QDialog):
    finishedRun = Signal(object)
    """:class:`LearnOutcome` (after the switch was asked for, when it was)."""

    def __init__(self, controller, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Teach it your style")
        self.resize(760, 560)
        self.steps: int | None = None
        """A step budget instead of the set's own (tests: a tiny run)."""
        self.into = "my-style"
        self.process: QProcess | None = None
        self.outcome: LearnOutcome | None = None
        self._buffer = b""
        self._cancelled = False
        self._result: dict | None = None
        self._error: str | None = None
        self._base: str | None = None
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("folder of your finished videos (searched with its sub-folders)")
        browse = QPushButton("Browse…")
        browse.setAutoDefault(False)
        browse.clicked.connect(self._browse)
        self.budget = QDoubleSpinBox()
        self.budget.setRange(2, 600)
        self.budget.setValue(15)
        self.budget.setDecimals(0)
        self.budget.setSuffix(" minutes")
        self.budget.setToolTip("time for the whole job: reading the videos, then learning with what is left")
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Finished videos", row)
        form.addRow("Time budget", self.budget)
        self.model_line = QLabel("")
        self.model_line.setWordWrap(True)
        self.stage = QLabel("")
        self.stage.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.skipped = QListWidget()
        self.skipped.setVisible(False)
        self.skipped_label = QLabel("Videos skipped, with why")
        self.skipped_label.setVisible(False)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addWidget(self.model_line)
        lay.addWidget(self.stage)
        lay.addWidget(self.progress)
        lay.addWidget(self.result)
        lay.addWidget(self.skipped_label)
        lay.addWidget(self.skipped, 1)
        lay.addStretch(1)  # with nothing to list yet, the room goes below, not between the lines
        lay.addLayout(buttons)
        st = controller.status
        if st is None or not st.has_model:
            self.model_line.setText("There is no model to start from yet (File → Settings… chooses one).")
            self.start_button.setEnabled(False)
        else:
            self.model_line.setText(f"Starts from the active {st.model}.")

    # -- running ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of your finished videos",
                                                  self.controller.gui.last_folder)
        if folder:
            self.folder.setText(folder)

    def start(self, folder: str | None = None) -> QProcess | None:
        """Run ``mvpt learn`` on ``folder`` (default: the one typed in)."""
        if self.running:
            return self.process
        folder = str(folder or self.folder.text()).strip()
        self.folder.setText(folder)
        st = self.controller.status
        if not folder or not Path(folder).is_dir():
            self._end(LearnOutcome("error", "Choose the folder that holds your finished videos."))
            return None
        base = getattr(st, "checkpoint_path", None) if st is not None else None
        if not base:
            self._end(LearnOutcome("error", "There is no model to start from (File → Settings… chooses one)."))
            return None
        session = self.controller.session
        self._base = base
        self._result, self._error, self._cancelled, self._buffer = None, None, False, b""
        self.outcome = None
        self.skipped.clear()
        self.skipped.setVisible(False)
        self.skipped_label.setVisible(False)
        self.result.setText("")
        args = ["-m", "engine.cli", "learn", folder, "--checkpoint", str(base), "--data-dir", str(session.data_dir),
                "--device", session.device, "--budget", f"{self.budget.value():g}", "--into", self.into,
                "--no-switch", "--progress-json"]
        if self.steps is not None:
            args += ["--steps", str(int(self.steps))]
        p = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("PYTHONPATH", os.pathsep.join(x for x in (_code_root(), env.value("PYTHONPATH", "")) if x))
        p.setProcessEnvironment(env)
        p.setWorkingDirectory(tempfile.gettempdir())
        p.readyReadStandardOutput.connect(self._read)
        p.finished.connect(self._finished)
        p.errorOccurred.connect(self._process_error)
        self.process = p
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.stage.setText("Starting…")
        p.start(sys.executable, args)
        return p

    def cancel(self) -> None:
        """Stop the child cleanly (SIGTERM), then for good if it does not stop."""
        if not self.running:
            return
        self._cancelled = True
        self.stage.setText("Cancelling… (the current model stays)")
        self.cancel_button.setEnabled(False)
        self.process.terminate()
        proc = self.process
        # tied to the process: no timer outlives it (a closed dialog deletes it)
        QTimer.singleShot(KILL_AFTER_MS, proc, lambda: proc.kill() if proc.state() != QProcess.ProcessState.NotRunning
                          else None)

    def _read(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            line = raw.strip()
            if not line.startswith(b"{"):
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            self._event(doc)

    def _event(self, doc: dict) -> None:
        if "result" in doc:
            self._result = doc["result"]
        elif "error" in doc:
            self._error = str(doc["error"])
        elif "cancelled" in doc:
            self._cancelled = True
        elif "stage" in doc:
            what = STAGES.get(doc["stage"], doc["stage"])
            total, done = doc.get("total"), int(doc.get("done") or 0)
            if total:
                self.progress.setRange(0, int(total))
                self.progress.setValue(done)
                what += f" ({done}/{total})"
            else:
                self.progress.setRange(0, 0)
            msg = doc.get("message") or ""
            self.stage.setText(f"{what}: {msg}" if msg else what)

    def _process_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._end(LearnOutcome("error", f"learning could not start ({self.process.errorString()})"))

    def _finished(self, code: int, _status) -> None:
        self._read()
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)
        self.start_button.setEnabled(True)
        if self._result is not None:
            self._show_result(self._result)
        elif self._cancelled:
            self._end(LearnOutcome("cancelled", "Cancelled: no new model was written and the current one is still "
                                                "active. The videos read so far are kept, so the next run starts "
                                                "from there."))
        else:
            err = self._error
            if err is None:
                tail = bytes(self.process.readAllStandardError()).decode(errors="replace").strip().splitlines()[-3:]
                err = f"learning stopped (exit code {code}): {' '.join(tail) or 'no message'}"
            self._end(LearnOutcome("error", f"{err}\n\nThe current model is still active."))

    def _show_result(self, res: dict) -> None:
        skipped = res.get("skipped") or []
        for s in skipped:
            name, reason = s["file"], s["reason"]
            reason = reason.removeprefix(f"{Path(name).name}: ").removeprefix(f"{Path(name).name} ")  # said once
            self.skipped.addItem(f"{name}: {reason}")
        self.skipped.setVisible(bool(skipped))
        self.skipped_label.setVisible(bool(skipped))
        held, edits = int(res.get("held_out", 0)), int(res.get("edits", 0))
        lines = [f"{edits} edits used: {edits - held} to learn from, {held} held out to judge; {len(skipped)} skipped.",
                 score_line("Current model", res.get("before")), score_line("New model", res.get("after"))]
        lines += [f"Note: {w}" for w in res.get("warnings") or []]
        reason = res.get("reason") or ""
        ck = res.get("checkpoint")
        if res.get("switch") and ck:
            verdict = (f"<b>The new model is better on your held-out edits: the app uses it now</b> ({Path(ck).name}; "
                       f"the previous one stays at {self._base}).")
            outcome = LearnOutcome("switched", verdict, res)
            self.controller.switch_model(ck)
        else:
            kept = f" It is kept as {Path(ck).name} in case you want it later." if ck else ""
            verdict = (f"<b>The new model is not better on your held-out edits, so the app keeps the current one.</b>"
                       f"{kept}")
            outcome = LearnOutcome("kept", verdict, res)
        text = "<br>".join(x for x in lines if x) + "<br><br>" + verdict + (f"<br>{reason}" if reason else "")
        self._end(outcome, text)

    def _end(self, outcome: LearnOutcome, text: str | None = None) -> None:
        self.outcome = outcome
        self.result.setText(text if text is not None else outcome.message.replace("\n", "<br>"))
        self.stage.setText({"switched": "Done.", "kept": "Done.", "cancelled": "Cancelled.",
                            "error": "Could not learn."}[outcome.state])
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)
        self.start_button.setEnabled(self.controller.status is not None and self.controller.status.has_model)
        self.finishedRun.emit(outcome)

    def done(self, r: int) -> None:  # noqa: D401 - Qt's close/Escape: a running job is cancelled first
        if self.running:
            self.cancel()
        super().done(r)

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.running:
            self.cancel()
        super().closeEvent(event)
