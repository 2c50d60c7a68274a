"""A music folder full of odd and broken real-world files (../shared/media-corpus) scans to
completion: every file is in the catalog once, ok or failed with a reason a user can read."""

from __future__ import annotations

import collections
import os

import pytest
from conftest import MEDIA_CORPUS
from library_support import music_extractor

from engine.jobs import run
from engine.library.catalog import Catalog
from engine.library.scan import media_files, scan

KNOWN_GOOD = ["silence-44-s.mp3", "silence-44-s.flac", "example.opus", "no-tags.m4a",
              "11k-1ch-2s-silence.aif", "silence-2s-PCM-44100-16-ID3v23.wav", "has-tags.m4a"]


@pytest.mark.skipif(not MEDIA_CORPUS.is_dir(), reason=f"media corpus not found at {MEDIA_CORPUS}")
def test_broken_files_are_recorded_and_the_scan_completes(tmp_path):
    name, ext_id, dim = music_extractor()
    expected = media_files(MEDIA_CORPUS.resolve(), "music")  # the catalog stores resolved paths
    assert len(expected) > 100
    with Catalog(tmp_path / "catalog.sqlite") as cat:
        report = run(scan(cat, MEDIA_CORPUS, "music", music_extractor_name=name, workers=2, time_limit=60))
        items = cat.items("music")
        assert sorted(it.path for it in items) == expected  # each file once
        assert report.found == len(expected) == len(report.processed) + len(report.failed)
        counts = cat.status_counts("music")
        assert counts["ok"] > len(expected) / 2 and counts["failed"] > 10
        failures = cat.failures("music")
        assert len(failures) == counts["failed"]
        for path, reason in failures:
            assert reason and "Traceback" not in reason and len(reason) < 400, (path, reason)
        by_name = collections.defaultdict(list)
        for it in items:
            by_name[os.path.basename(it.path)].append(it)
        for good in KNOWN_GOOD:
            assert by_name[good] and all(it.status == "ok" for it in by_name[good]), good
        for it in items:
            if it.status == "ok":
                assert cat.base_features(it.id, ext_id).shape == (len(cat.segments(it.id)), dim)
        assert cat.verify() == []
        print(f"\ncorpus scan: {counts} in {report.seconds:.1f} s; reasons: "
              + "; ".join(f"{n}× {r[:60]}" for r, n in collections.Counter(r for _, r in failures).most_common(4)))
