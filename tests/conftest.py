"""Shared fixtures: small real media written in code, an isolated data directory, no network,
and the trained test worlds (built once per process by the helper modules ``gui_support``
and ``analysis_support``; helper modules are never named ``test_*.py``)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# no starter model falls in where a test configures none (tests/test_starter.py lifts this)
os.environ.setdefault("MVPT_NO_STARTER", "1")

SHARED = Path(__file__).resolve().parents[2] / "shared"
MEDIA_CORPUS = SHARED / "media-corpus"


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """No test reads or writes the developer's own data, cache or settings."""
    monkeypatch.setenv("MVPT_DATA_DIR", str(tmp_path_factory.mktemp("mvpt-data")))


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test loudly."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[1:] if len(args) > 1 else args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def empty_weight_caches(tmp_path, monkeypatch):
    """Point the Hugging Face and open_clip URL caches at empty folders."""
    from engine.features import weights

    hub, clip_cache = tmp_path / "hf-hub", tmp_path / "clip-cache"
    hub.mkdir()
    clip_cache.mkdir()
    monkeypatch.setattr(weights, "_hf_cache", lambda: hub)
    monkeypatch.setattr(weights, "_clip_url_cache", lambda: clip_cache)
    return hub, clip_cache


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> dict:
    """The trained pairs world of the GUI tests (tests/gui_support.py), built once."""
    from gui_support import trained_world

    return trained_world(tmp_path_factory)


@pytest.fixture(scope="session")
def worlds(tmp_path_factory) -> dict:
    """The two trained probe worlds of the analysis tests (tests/analysis_support.py)."""
    from analysis_support import probe_worlds

    return probe_worlds(tmp_path_factory)


@pytest.fixture(scope="session")
def tagged_library(worlds, tmp_path_factory) -> dict:
    """A library of 4 probe songs with musicnn tags, embedded (tests/analysis_support.py)."""
    from analysis_support import tagged_library as build

    return build(worlds, tmp_path_factory)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def video_mp4(media_dir) -> Path:
    """20 s, 320×180, 25 fps H.264 + AAC (440 Hz), keyframe every second."""
    from training.synthmedia import write_video

    return write_video(media_dir / "clip.mp4", 20.0, size=(320, 180), fps=25, gop=25)


@pytest.fixture(scope="session")
def video_long_gop(media_dir) -> Path:
    from training.synthmedia import write_video

    return write_video(media_dir / "longgop.mp4", 20.0, size=(320, 180), fps=25, gop=250, audio=False)


@pytest.fixture(scope="session")
def song_steps(media_dir) -> Path:
    """30 s FLAC whose pitch steps every 5 s (200, 300, ... Hz): time in the song is audible."""
    from training.synthmedia import write_audio

    sr = 44100
    t = np.arange(30 * sr) / sr
    freq = 200.0 + 100.0 * np.floor(t / 5.0)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    x = (0.5 * np.sin(phase)).astype(np.float32)
    return write_audio(media_dir / "steps.flac", np.stack([x, x]), sample_rate=sr,
                       tags={"title": "Steps", "artist": "Test Band"})


def dominant_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spec) * sr / x.size)
