"""The Qt application: ``mvpt-desktop [FILE] [--screenshot PNG]`` / ``python main.py [FILE]``.

Without a display it runs offscreen and writes a screenshot instead of opening a window.
With ``--screenshot`` it waits until the file is analysed and ranked (and a preview frame
is shown when ``--preview``), renders the window to PNG and exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

log = logging.getLogger("mvpt_desktop")
SCREENSHOT_TIMEOUT_S = 300


def _has_display() -> bool:
    if sys.platform != "linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mvpt-desktop", description="MVPT Desktop: music for your footage")
    p.add_argument("file", nargs="?", help="a video (or a song) to open")
    p.add_argument("--screenshot", metavar="PNG", help="render the window with its results to PNG and exit")
    p.add_argument("--checkpoint", help="trained model folder (default: from settings)")
    p.add_argument("--data-dir", help="data folder holding the library (default: the app's, or $MVPT_DATA_DIR)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default: from settings (auto)")
    p.add_argument("--segment", type=int, default=0, help="with --screenshot: the scene to select (from 0)")
    p.add_argument("--preview", action="store_true", help="with --screenshot: show a frame of the preview")
    p.add_argument("--attribute", action="append", default=[], metavar="NAME:WEIGHT",
                   help="start with an attribute slider at WEIGHT (-1..1); repeatable")
    p.add_argument("--size", default="1400x860", help="window size WxH (default 1400x860)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not _has_display() and not os.environ.get("QT_QPA_PLATFORM"):
        # No screen (a server, CI): run offscreen and leave a picture of the window instead.
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        args.screenshot = args.screenshot or "mvpt-desktop.png"
        print(f"no display found: running offscreen, writing a screenshot to {args.screenshot}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)

    from PySide6.QtWidgets import QApplication

    from engine.settings import EngineSettings

    from .controller import Controller
    from .main_window import MainWindow
    from .settings import GuiSettings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MVPT Desktop")
    settings = EngineSettings.load()
    changes = {k: v for k, v in (("checkpoint", args.checkpoint), ("data_dir", args.data_dir),
                                 ("device", args.device)) if v}
    gui = GuiSettings.load()
    if args.screenshot:
        gui = gui.with_(persist=False, hover_audition=False)
    controller = Controller(settings.with_(**changes), gui)
    for spec in args.attribute:
        name, _, weight = spec.rpartition(":")
        try:
            controller.weights[name] = max(-1.0, min(1.0, float(weight)))
        except ValueError:
            print(f"ignoring --attribute {spec!r}: use NAME:WEIGHT, e.g. drums:0.5", file=sys.stderr)
    window = MainWindow(controller, reopen_last=bool(gui.reopen_last and not args.file and not args.screenshot))
    w, _, h = args.size.partition("x")
    window.resize(int(w), int(h))
    window.show()
    _install_excepthook(window)
    if args.file:
        window.open_file(args.file)
    if args.screenshot:
        capture_when_ready(window, args.screenshot, args.segment, args.preview, app.quit)
    return app.exec()


def _install_excepthook(window) -> None:
    """A bug in a slot shows a message and is logged; the window stays up."""
    def hook(kind, value, tb) -> None:
        log.error("unexpected error:\n%s", "".join(traceback.format_exception(kind, value, tb)))
        try:
            window.show_error("Unexpected error", f"{kind.__name__}: {value} (details are in the log)")
        except Exception:  # noqa: BLE001 - the window is gone: the log has it
            pass

    sys.excepthook = hook


def capture_when_ready(window, png: str, segment: int = 0, preview: bool = False, done=None,
                       timeout_s: float = SCREENSHOT_TIMEOUT_S) -> None:
    """Grab the window once the model is loaded, the file analysed and ranked (and, with
    ``preview``, a frame of the preview shown), then call ``done``."""
    import time

    from PySide6.QtCore import QTimer

    c = window.controller
    t0 = time.monotonic()
    state = {"stage": "wait", "asked": False}
    timer = QTimer(window)

    def shoot() -> None:
        timer.stop()
        window.grab().save(png)
        print(f"screenshot written to {png} (window: {window.windowTitle()})")
        if done is not None:
            done()

    def tick() -> None:
        if time.monotonic() - t0 > timeout_s:
            print("timed out waiting for results; taking the screenshot as it is", file=sys.stderr)
            return shoot()
        job = c.analysis_job
        if c.status is None or (job is not None and not job.done) or any(not h.done for h in c.workers.inference.pending()):
            return
        if c.current is not None and state["stage"] == "wait":
            c.select_segment(segment)
            state["stage"] = "selected"
            if preview and c.choice is not None and window.player.available:
                c.previewReady.connect(lambda _p: state.update(preview=True))
                window.player.frameChanged.connect(lambda _img: state.get("preview") and state.update(frame=True))
                window.preview()
                return
        if preview and state["stage"] == "selected" and not state.get("frame"):
            pj = c.preview_job
            if pj is None or pj.state in ("errored", "aborted") or time.monotonic() - t0 > timeout_s / 2:
                pass
            else:
                return
        if window.player.is_playing:
            window.player.pause()
        QTimer.singleShot(400, shoot)
        timer.stop()

    timer.timeout.connect(tick)
    timer.start(100)


if __name__ == "__main__":
    raise SystemExit(main())
