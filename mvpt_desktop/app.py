"""The Qt application: ``mvpt-desktop [FILE]`` / ``python main.py [FILE]``."""

from __future__ import annotations

import argparse
import os
import sys


def _has_display() -> bool:
    if sys.platform != "linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mvpt-desktop", description="MVPT Desktop")
    parser.add_argument("file", nargs="?", help="a video (or song) to open")
    parser.add_argument("--screenshot", metavar="PNG", help="render the window to PNG and exit")
    args = parser.parse_args(argv)
    headless = not _has_display() and not os.environ.get("QT_QPA_PLATFORM")
    if headless:
        # No screen (a server, CI): run offscreen and leave a picture of the window instead.
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        args.screenshot = args.screenshot or "mvpt-desktop.png"
        print(f"no display found: running offscreen, writing a screenshot to {args.screenshot}")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MVPT Desktop")
    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    if args.file:
        window.open_file(args.file)
    if args.screenshot:
        def shoot() -> None:
            window.grab().save(args.screenshot)
            app.quit()

        QTimer.singleShot(300, shoot)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
