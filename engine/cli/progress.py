"""A one-line text progress bar on stderr for engine jobs (plain lines when not a terminal)."""

from __future__ import annotations

import sys
import time

from engine.jobs import Progress


class ProgressBar:
    def __init__(self, enabled: bool = True, min_interval: float = 0.1) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.min_interval = min_interval
        self._last = 0.0

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        final = p.total is not None and p.done >= p.total
        if not final and now - self._last < self.min_interval:
            return
        self._last = now
        if p.total:
            width = 30
            filled = int(width * (p.fraction or 0.0))
            line = f"{p.stage:<10} [{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total} {p.message}"
        else:
            line = f"{p.stage:<10} {p.message}"
        if self.tty:
            sys.stderr.write("\r\x1b[2K" + line[:150])
        elif final or p.total is None:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()
