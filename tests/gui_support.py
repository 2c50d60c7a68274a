"""Shared pieces of the GUI tests (imported by tests/test_gui_*.py; holds no tests itself;
conftest.py turns :func:`trained_world` into the ``world`` fixture).

The trained pairs world (tests/pairs_world.py: 6 songs, 6 music videos, a small MVPt and
an indexed library) is built once per test process, whichever module asks first.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_WORLD: dict = {}


def trained_world(tmp_path_factory) -> dict:
    """The trained pairs world, built once per test process (the ``world`` fixture)."""
    if not _WORLD:
        reuse = os.environ.get("MVPT_TEST_WORLD")  # developer shortcut: a world built before
        if reuse:
            _WORLD.update(_reopen(Path(reuse)))
        else:
            from pairs_world import build_trained_world

            _WORLD.update(build_trained_world(tmp_path_factory.mktemp("gui-world")))
    return _WORLD


def _reopen(root: Path) -> dict:
    from engine.session import EngineSession
    from engine.settings import EngineSettings

    checkpoint = str(root / "run" / "best")
    session = EngineSession(EngineSettings(checkpoint=checkpoint, data_dir=str(root / "appdata"), device="cpu"))
    return {"session": session, "music": root / "music", "footage": root / "footage", "queries": root / "queries",
            "root": root, "checkpoint": checkpoint}


def make_window(qtbot, world, **gui):
    """A main window over the world's session (shared: the window does not close it)."""
    from mvpt_desktop.controller import Controller
    from mvpt_desktop.main_window import MainWindow
    from mvpt_desktop.settings import GuiSettings

    controller = Controller(session=world["session"], gui=GuiSettings(persist=False, hover_audition=False,
                                                                       **gui))
    w = MainWindow(controller)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitUntil(lambda: controller.status is not None, timeout=60_000)
    return w


def open_and_wait(qtbot, window, path, timeout: int = 60_000):
    c = window.controller
    with qtbot.waitSignal(c.opened, timeout=timeout, raising=True):
        handle = window.open_file(str(path))
    return handle


def fresh_video(folder: Path, hue: float, seconds: float = 60.0) -> Path:
    """A small video nobody analysed yet: its content (hence its analysis cache key) depends
    on ``folder`` too, so a reused world never has it cached."""
    import zlib

    from training.synthmedia import write_video

    hue = (hue + (zlib.crc32(str(folder).encode()) % 997) / 1e5) % 1.0

    folder.mkdir(parents=True, exist_ok=True)
    return write_video(folder / f"fresh_{hue:.3f}_{seconds:g}.mp4", seconds, size=(160, 90), fps=10, gop=10,
                       audio=False, hue=hue)


class StallProbe:
    """A QTimer that ticks every ``interval_ms`` on the GUI thread and records the gaps
    between ticks: how long the event loop could not run.

    Each gap also records the CPU time this process got during it. On a shared machine the
    kernel sometimes runs other people's processes instead of ours: a gap in which the
    whole process got under half the gap's length of CPU was the machine not running us,
    not the app stalling itself (a GIL held by a worker, work on the GUI thread), and
    ``worst_own_ms`` leaves such gaps out; ``worst_ms`` counts every gap.
    """

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self.own: list[float] = []
        self.long: list[tuple[float, float, float]] = []
        """(start, length, process CPU) of the gaps over 25 ms, seconds since start()."""
        self._last: float | None = None
        self._cpu = 0.0
        self._t0 = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        cpu = time.process_time()
        if self._last is not None:
            gap, used = now - self._last, cpu - self._cpu
            self.gaps.append(gap)
            if used >= 0.5 * gap:
                self.own.append(gap)
            if gap > 0.025:
                self.long.append((round(self._last - self._t0, 3), round(gap, 3), round(used, 3)))
        self._last = now
        self._cpu = cpu

    def start(self) -> None:
        self._last = None
        self._t0 = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    @property
    def worst_ms(self) -> float:
        return 1000.0 * max(self.gaps, default=0.0)

    @property
    def worst_own_ms(self) -> float:
        return 1000.0 * max(self.own, default=0.0)

    def report(self) -> str:
        return (f"worst GUI stall {self.worst_own_ms:.1f} ms ({self.worst_ms:.1f} ms counting the machine's "
                f"own pauses) over {len(self.gaps)} ticks; gaps over 25 ms (start, s, CPU s): {self.long}")
