"""Kill a scanning process part-way (SIGKILL), run again: no duplicates, no half rows, and the
files finished before the kill are not decoded again."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from library_support import music_extractor, write_songs

from engine.jobs import run
from engine.library.catalog import Catalog
from engine.library.scan import scan

ROOT = Path(__file__).resolve().parents[1]
N_FILES = 14


def _count(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0  # not created yet


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_killed_scan_resumes_where_it_stopped(tmp_path):
    name, ext_id, _ = music_extractor()
    folder = tmp_path / "music"
    files = write_songs(folder, N_FILES, seconds=4.0)
    data = tmp_path / "data"
    db = data / "library" / "catalog.sqlite"
    cmd = [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())",
           "library", "add", str(folder), "--workers", "1", "--extractor", name, "--data-dir", str(data), "--json"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while _count(db) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, f"the scan ended before it could be killed: {proc.stderr.read()[-2000:]}"
        os.kill(proc.pid, signal.SIGKILL)  # the app only: its workers must notice and go
        proc.wait(10)
        end = time.monotonic() + 10
        while _group_alive(proc.pid) and time.monotonic() < end:
            time.sleep(0.1)
        assert not _group_alive(proc.pid), "scan workers outlived the killed app"
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stderr.close()

    with Catalog(db) as cat:
        before = {it.path: it for it in cat.items("music")}
        assert 2 <= len(before) < N_FILES, "the kill did not land part-way through"
        assert cat.verify() == []  # whatever was committed is whole
        assert all(it.status == "ok" and it.process_count == 1 for it in before.values())

        report = run(scan(cat, folder, "music", music_extractor_name=name, workers=2))
        assert report.skipped == len(before)
        assert sorted(report.processed) == sorted(str(p) for p in files if str(p) not in before)
        after = cat.items("music")
        assert sorted(it.path for it in after) == sorted(str(p) for p in files)  # each file exactly once
        for it in after:
            assert it.process_count == 1  # nothing decoded twice
            if it.path in before:
                assert (it.id, it.processed_at) == (before[it.path].id, before[it.path].processed_at)
            assert cat.base_features(it.id, ext_id) is not None
        assert cat.verify() == []
