"""Long work as plain generators: they yield :class:`Progress` and *return* their result.

Every long job in the engine (scanning a library, extracting features, analysing a video,
training) has the shape ``Generator[Progress, None, R]`` and takes a ``cancel`` callable.
The GUI wraps such a generator once (``mvpt_desktop/workers.py``), the CLI wraps it with a
progress bar, and tests drive it directly with :func:`run`::

    features = run(extractor.extract(path, grid, cancel=stop_requested))
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TypeVar

R = TypeVar("R")

CancelCheck = Callable[[], bool]
"""Returns True when the user asked to stop. Checked between units of work."""


@dataclass(frozen=True)
class Progress:
    stage: str
    """Short machine-readable stage name, e.g. ``"decode"``, ``"embed"``, ``"scan"``."""
    done: int
    total: int | None = None
    """None when the amount of work is not known in advance."""
    message: str = ""
    """One line a user can read, e.g. the file being processed."""
    data: object | None = field(default=None, compare=False, repr=False)
    """A partial result a front end may show before the job ends (e.g. the scenes read so
    far, :class:`engine.analysis.PartialAnalysis`); None for plain progress."""

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, max(0.0, self.done / self.total))


Job = Generator[Progress, None, R]


class Cancelled(Exception):
    """Raised inside a job when its cancel check returned True. Nothing half-done is kept."""


def check_cancel(cancel: CancelCheck | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("cancelled by the user")


def run(job: Job[R], on_progress: Callable[[Progress], None] | None = None) -> R:
    """Drive a job to completion and return its result (for tests, scripts and the CLI)."""
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(event)


def map_progress(job: Job[R], fn: Callable[[Progress], Progress | None]) -> Job[R]:
    """Run a sub-job inside a bigger one, each of its events passed through ``fn`` (which may
    turn a partial result into another, or return None to drop the event); returns its result::

        result = yield from map_progress(sub_job, lambda ev: ...)
    """
    while True:
        try:
            ev = next(job)
        except StopIteration as stop:
            return stop.value
        out = fn(ev)
        if out is not None:
            yield out


def relabel(job: Job[R], stage: str) -> Job[R]:
    """Run a sub-job inside a bigger one: its progress passes on under ``stage`` (its own
    stage name becomes the message when it has none); returns its result."""
    return map_progress(job, lambda ev: Progress(stage, ev.done, ev.total, ev.message or ev.stage, ev.data))
