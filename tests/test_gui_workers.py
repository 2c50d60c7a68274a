"""mvpt_desktop.workers: engine generators off the GUI thread, signals on the GUI thread,
cancel, errors as messages, throttled progress, threads joined at exit."""

from __future__ import annotations

import threading
import time

import pytest

from engine.jobs import Progress, check_cancel
from mvpt_desktop.workers import PROGRESS_INTERVAL, Executor, user_message


@pytest.fixture
def executor(qapp):
    ex = Executor("test", 1)
    yield ex
    assert ex.shutdown(5.0)


def test_job_runs_off_the_gui_thread_and_signals_arrive_on_it(qtbot, executor):
    seen = {}
    gui = threading.get_ident()

    def job(cancel):
        seen["thread"] = threading.get_ident()
        for i in range(3):
            yield Progress("step", i + 1, 3)
        return 42

    handle = executor.submit(job, "answer")
    delivered = []
    handle.progress.connect(lambda p: delivered.append(threading.get_ident()))
    handle.returned.connect(lambda r: delivered.append(threading.get_ident()))
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert seen["thread"] != gui
    assert delivered and set(delivered) == {gui}
    assert handle.state == "returned" and handle.result == 42


def test_progress_is_throttled_and_the_last_event_arrives(qtbot, executor):
    def job(cancel):
        for i in range(20_000):
            yield Progress("step", i + 1, 20_000)
        return "ok"

    handle = executor.submit(job)
    events = []
    handle.progress.connect(events.append)
    t0 = time.monotonic()
    with qtbot.waitSignal(handle.finished, timeout=20_000):
        pass
    elapsed = time.monotonic() - t0
    assert events[-1].done == 20_000
    assert len(events) <= elapsed / PROGRESS_INTERVAL + 3  # not 20,000 signals


def test_an_error_is_a_message_and_the_thread_lives_on(qtbot, executor):
    def broken(cancel):
        yield Progress("x", 0)
        raise ZeroDivisionError("division by zero")

    h1 = executor.submit(broken)
    with qtbot.waitSignal(h1.errored, timeout=5000) as blocker:
        pass
    msg = blocker.args[0]
    assert "ZeroDivisionError" in msg and "Traceback" not in msg
    h2 = executor.submit(lambda cancel: "still here")
    with qtbot.waitSignal(h2.returned, timeout=5000) as blocker:
        pass
    assert blocker.args == ["still here"]


def test_cancel_running_and_queued_jobs(qtbot, executor):
    started = threading.Event()

    def slow(cancel):
        started.set()
        for i in range(10_000):
            check_cancel(cancel)
            time.sleep(0.01)
            if i % 5 == 0:
                yield Progress("slow", i)
        return "finished"

    running = executor.submit(slow)
    queued = executor.submit(lambda cancel: "never")
    assert started.wait(5)
    with qtbot.waitSignal(queued.aborted, timeout=1000):
        queued.cancel()  # not started: aborted at once
    t0 = time.monotonic()
    with qtbot.waitSignal(running.aborted, timeout=2000):
        running.cancel()
    assert time.monotonic() - t0 < 0.25
    assert running.state == "aborted" and queued.state == "aborted"


def test_shutdown_joins_the_threads(qapp):
    ex = Executor("joined", 2)
    ex.submit(lambda cancel: (yield Progress("x", 0)))
    threads = list(ex._threads)
    assert ex.shutdown(5.0)
    assert not any(t.is_alive() for t in threads)
    late = ex.submit(lambda cancel: None)  # e.g. a callback at exit: dropped, not run
    assert late.state == "aborted"


def test_user_messages():
    from engine.media import NotMediaError
    from engine.session import NoModelError

    assert user_message(NotMediaError("/x/bad.mp4", "cannot be read")) == "bad.mp4: cannot be read"
    assert user_message(NoModelError("train one")) == "train one"
    assert "details are in the log" in user_message(RuntimeError("boom"))
