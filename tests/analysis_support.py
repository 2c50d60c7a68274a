"""Shared pieces of the analysis tests (no tests here); conftest.py turns them into the
``worlds`` and ``tagged_library`` fixtures.

Two probe worlds (training/analysis/probe_world.py), each with a tiny MVPt trained on its
media through ``mvpt dataset build``: in "brightness-tempo" the picture's brightness and the
music's pulse rate carry the segment's state, in "hue-pitch" the hue and the pitch do (the
other cues are random). Built once per test process (~30 s together), whichever module asks
first; ``MVPT_TEST_PROBE_WORLDS=DIR`` reuses worlds built there before.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

_WORLDS: dict = {}
_LIBRARY: dict = {}


def probe_worlds(tmp_path_factory) -> dict:
    """{"brightness-tempo": paths, "hue-pitch": paths} (see probe_world.build_trained)."""
    if not _WORLDS:
        from training.analysis.probe_world import WORLDS, build_trained

        reuse = os.environ.get("MVPT_TEST_PROBE_WORLDS")
        base = Path(reuse) if reuse else tmp_path_factory.mktemp("probe-worlds")
        for w in WORLDS:
            root = base / w
            if reuse and (root / "run" / "best").exists():
                _WORLDS[w] = {"media": root / "media", "data": root / "data", "run": root / "run",
                              "labels": root / "labels.json"}
            else:
                _WORLDS[w] = build_trained(root, w)
    return _WORLDS


def tagged_library(worlds: dict, tmp_path_factory) -> dict:
    """A data folder whose library holds 4 songs of the hue-pitch world, scanned with the
    checkpoint's classic-music features *and* musicnn (for tags), embedded by its model.
    {"data_dir", "music", "checkpoint", "footage"}."""
    if not _LIBRARY:
        from engine.jobs import run
        from engine.library.facade import Library
        from engine.model.checkpoint import load_checkpoint
        from training.analysis.probe_world import SR, music
        from training.synthmedia import write_audio

        root = tmp_path_factory.mktemp("tagged-library")
        songs = root / "music"
        songs.mkdir()
        for k in range(4):
            seq = np.array([k, (k + 1) % 4, k, (k + 2) % 4, k, (k + 3) % 4, k, k])
            z = np.random.default_rng(k).random(len(seq))
            write_audio(songs / f"song_{k}.wav", music("hue-pitch", seq, z, 3.0), sample_rate=SR,
                        tags={"title": f"Song {k}", "artist": "Probe"})
        checkpoint = worlds["hue-pitch"]["run"] / "best"
        lib = Library(root / "app")
        try:
            run(lib.scan(songs, "music", music_extractor_name="classic-music", segment_seconds=3.0, workers=1))
            run(lib.scan(songs, "music", music_extractor_name="musicnn", segment_seconds=3.0, workers=1))
            run(lib.embed(load_checkpoint(checkpoint), "music"))
        finally:
            lib.close()
        _LIBRARY.update({"data_dir": root / "app", "music": songs, "checkpoint": checkpoint,
                         "footage": worlds["hue-pitch"]["media"]})
    return _LIBRARY
