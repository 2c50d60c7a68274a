"""The media layer over real odd and broken files from public tag-library test suites.

Every file must decode or raise a MediaError, within the time limit, and the process must
survive: the files run in a child process so a crash would fail this test, not kill pytest.
"""

import collections
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MEDIA_CORPUS

HERE = Path(__file__).resolve().parent
KNOWN_GOOD = ["silence-44-s.mp3", "silence-44-s.flac", "example.opus", "no-tags.m4a", "empty.ogg",
              "11k-1ch-2s-silence.aif", "silence-2s-PCM-44100-16-ID3v23.wav", "has-tags.m4a"]
PER_FILE_LIMIT_S = 30.0


@pytest.fixture(scope="module")
def corpus_results():
    if not MEDIA_CORPUS.is_dir():
        pytest.skip(f"media corpus not found at {MEDIA_CORPUS}")
    files = sorted(str(p) for p in MEDIA_CORPUS.rglob("*")
                   if p.is_file() and not p.name.startswith("COPYING") and p.suffix != ".md")
    proc = subprocess.run([sys.executable, str(HERE / "corpus_child.py")], input="\n".join(files) + "\n",
                          capture_output=True, text=True, timeout=600, cwd=HERE.parent)
    assert proc.returncode == 0, f"the media layer crashed the process: {proc.stderr[-2000:]}"
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return files, rows


def test_every_file_decodes_or_raises_media_error(corpus_results):
    files, rows = corpus_results
    assert [r["path"] for r in rows] == files  # every file answered, none hung the child
    uncaught = [r for r in rows if r["outcome"].startswith("UNCAUGHT")]
    assert not uncaught, uncaught
    slow = [r for r in rows if r["seconds"] > PER_FILE_LIMIT_S]
    assert not slow, slow
    counts = collections.Counter(r["outcome"] for r in rows)
    print(f"\nmedia corpus: {len(rows)} files: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    assert counts["ok"] > len(rows) / 2
    for r in rows:
        if r["outcome"] != "ok":
            assert r["message"] and "Traceback" not in r["message"]


def test_known_good_files_decode(corpus_results):
    _, rows = corpus_results
    by_name = collections.defaultdict(list)
    for r in rows:
        by_name[Path(r["path"]).name].append(r)
    for name in KNOWN_GOOD:
        assert by_name[name], name
        for r in by_name[name]:
            assert r["outcome"] == "ok", r
            assert "segments" not in r, f"{name}: cover art must not count as footage"
            assert r["audio_seconds"] == pytest.approx(r["duration"], rel=0.15, abs=0.2)


def test_empty_and_garbage_files_are_clear_errors(corpus_results):
    _, rows = corpus_results
    for r in rows:
        name = Path(r["path"]).name
        if name.startswith(("empty", "emptyfile")) and r["outcome"] != "ok":
            assert r["outcome"] in {"NotMediaError", "UnknownDuration", "CorruptMedia"}, r
