"""Shot cuts, fades, dissolves, flashes and visual energy (engine.rhythm.video) on small
generated footage with known edits (tests/cuts_world.py), and `mvpt cuts`."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from cuts_world import Footage, Shot, standard

from engine.jobs import Cancelled, run
from engine.media.errors import MediaError, NoVideoStream
from engine.media.grid import SegmentGrid
from engine.rhythm import ENERGY_RATE
from engine.rhythm.video import CutDetector, Transition, VideoRhythm, detect_cuts
from training.synthmedia import write_audio, write_video

CORPUS = Path("/work/shared/media-corpus")


@pytest.fixture(scope="module")
def reel(tmp_path_factory) -> tuple[Footage, Path, VideoRhythm]:
    fw = standard()
    path = fw.write(tmp_path_factory.mktemp("cuts") / "reel.mp4")
    return fw, path, run(detect_cuts(path))


def frame_index(times: np.ndarray, fps: float) -> np.ndarray:
    return np.round(np.asarray(times) * fps).astype(int)


def test_hard_cuts_at_known_frames(reel):
    fw, _, r = reel
    found = frame_index(r.cuts, fw.fps)
    assert len(found) == len(fw.cuts), (found, fw.cuts)
    assert np.all(np.abs(found - np.array(fw.cuts)) <= 1), (found, fw.cuts)
    assert r.cut_confidence.shape == r.cuts.shape
    assert np.all((r.cut_confidence > 0.5) & (r.cut_confidence <= 1.0))


def test_fades_and_dissolves_are_transitions_not_cuts(reel):
    fw, _, r = reel
    for a, b, kind in fw.transitions:
        hits = [t for t in r.transitions if t.kind == kind and t.start * fw.fps < b and t.end * fw.fps > a]
        assert hits, (a, b, kind, r.transitions)
        # No hard cut claimed inside it.
        assert not np.any((r.cuts * fw.fps > a + 1) & (r.cuts * fw.fps < b - 1))
    fades = [t for t in r.transitions if t.kind == "fade"]
    assert all(t.through == "black" for t in fades)


def test_flash_is_not_a_cut(reel):
    fw, _, r = reel
    ff = frame_index(r.flashes, fw.fps)
    found = frame_index(r.cuts, fw.fps)
    for f in fw.flashes:
        assert np.any(np.abs(ff - f) <= 1), (f, ff)
        assert not np.any(np.abs(found - f) <= 3)


def test_energy_higher_on_the_fast_pan(reel):
    fw, _, r = reel
    assert r.energy.shape == (int(np.ceil(fw.duration * ENERGY_RATE - 1e-9)),)
    assert r.energy.dtype == np.float32 and r.energy.min() >= 0 and r.energy.max() <= 1

    def mean_over(frames: tuple[int, int]) -> float:
        a, b = (int(x / fw.fps * ENERGY_RATE) for x in frames)
        return float(r.energy[a + 1:b - 1].mean())

    static = mean_over((40, 70))   # shot 2: camera still
    fast = mean_over((70, 88))     # shot 3: fast pan (before its flash)
    slow = mean_over((0, 40))      # shot 1: slow pan
    assert fast > slow + 0.3 and slow > static
    assert static < 0.05


@pytest.mark.parametrize("speed", [9.0, 1.5])
def test_no_cut_or_dissolve_on_a_pan(tmp_path, speed):
    fw = Footage([Shot(100, 3, pan=(speed, 0.3 * speed))], [], size=(128, 72))
    r = run(detect_cuts(fw.write(tmp_path / "pan.mp4")))
    assert len(r.cuts) == 0 and r.transitions == ()
    assert not r.has_cuts
    assert r.energy.mean() > (0.5 if speed > 5 else 0.05)


def test_still_image_video_has_no_cuts_and_zero_energy(tmp_path):
    rng = np.random.default_rng(3)
    img = (rng.random((72, 128, 3)) * 255).astype(np.uint8)
    path = write_video(tmp_path / "still.mp4", 3.0, size=(128, 72), fps=25, frames_fn=lambda i: img, audio=False)
    r = run(detect_cuts(path))
    assert len(r.cuts) == 0 and r.transitions == () and len(r.flashes) == 0
    assert not r.has_cuts
    assert len(r.energy) == 30 and float(r.energy.max()) == 0.0


def test_black_video_and_no_frames():
    det = CutDetector(fps=25)
    for i in range(50):
        det.push(i / 25, np.zeros((48, 64, 3), np.uint8))
    r = det.finish(2.0)
    assert len(r.cuts) == 0 and r.transitions == () and float(r.energy.max()) == 0.0
    empty = CutDetector(fps=None).finish(1.5)
    assert empty.frames == 0 and len(empty.cuts) == 0 and empty.energy.shape == (15,)


def test_rotated_phone_video(tmp_path):
    fw = standard(size=(96, 54))
    path = write_video(tmp_path / "phone.mp4", len(fw) / fw.fps, size=fw.size, fps=fw.fps, frames_fn=fw.frame,
                       audio=False, rotation=90)
    r = run(detect_cuts(path))
    found = frame_index(r.cuts, fw.fps)
    assert len(found) == len(fw.cuts) and np.all(np.abs(found - np.array(fw.cuts)) <= 1)


def test_variable_frame_rate(tmp_path):
    fw = standard(size=(96, 54))
    path = write_video(tmp_path / "vfr.mkv", len(fw) / fw.fps, size=fw.size, fps=fw.fps, frames_fn=fw.frame,
                       audio=False, vfr=True)
    with av.open(str(path)) as c:
        times = np.array([f.time for f in c.decode(video=0)])
    r = run(detect_cuts(path))
    truth = times[fw.cuts] - times[0]
    assert len(r.cuts) == len(truth)
    # Within one (average) frame of each true cut's own timestamp.
    assert np.all(np.abs(r.cuts - truth) <= 1.01 / fw.fps), (r.cuts, truth)


def test_cut_rate_and_json_round_trip(reel):
    fw, _, r = reel
    rate = r.cut_rate(SegmentGrid(fw.duration, 5.0))
    assert rate.shape == (len(SegmentGrid(fw.duration, 5.0)),)
    assert rate.sum() * 5.0 == pytest.approx(len(r.shot_boundaries()), abs=1.01)
    back = VideoRhythm.from_json(r.to_json())
    assert np.allclose(back.cuts, r.cuts, atol=1e-3) and len(back.transitions) == len(r.transitions)
    assert isinstance(back.transitions[0], Transition)
    assert np.allclose(back.energy, r.energy, atol=1e-3)


def test_mvpt_cuts_json(reel, capsys):
    from engine.cli import main

    fw, path, _ = reel
    assert main(["cuts", "--json", str(path)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {"cuts", "cut_confidence", "transitions", "energy_rate", "energy", "flashes", "has_cuts"} <= set(d)
    assert d["energy_rate"] == ENERGY_RATE and d["has_cuts"] is True
    assert len(d["cuts"]) == len(fw.cuts)
    assert {"start", "end", "kind", "confidence"} <= set(d["transitions"][0])
    assert main(["cuts", str(path)]) == 0
    assert "hard cuts" in capsys.readouterr().out


def test_mvpt_cuts_says_no_cuts_found(tmp_path, capsys):
    from engine.cli import main

    img = np.full((72, 128, 3), 90, np.uint8)
    path = write_video(tmp_path / "still.mp4", 1.0, size=(128, 72), fps=10, frames_fn=lambda i: img, audio=False)
    assert main(["cuts", str(path)]) == 0
    assert "no cuts found" in capsys.readouterr().out


def test_bad_input(tmp_path):
    song = write_audio(tmp_path / "song.wav", duration=1.0)
    with pytest.raises(NoVideoStream):
        run(detect_cuts(song))
    fw = Footage([Shot(80, 1)], [], size=(64, 36))
    path = fw.write(tmp_path / "a.mp4")
    with pytest.raises(Cancelled):
        run(detect_cuts(path, cancel=lambda: True))
    with pytest.raises(ValueError):
        CutDetector(fps=25).push(0.0, np.zeros((48, 64), np.uint8))


def test_memory_stays_bounded():
    det = CutDetector(fps=30)
    frame = np.zeros((48, 84, 3), np.uint8)
    for i in range(3000):
        frame[:, :, 0] = i % 255
        det.push(i / 30, frame)
    assert det._ring is not None and len(det._ring) <= 2 * 30 + 64 + 1  # ~2 s of thumbnails, never the video
    det.finish()


@pytest.mark.parametrize("name", ["taglib/tests/data/blank_video.m4v", "taglib/tests/data/no-tags.webm",
                                  "taglib/tests/data/optimized.mkv", "taglib/tests/data/64bit.mp4",
                                  "mutagen/tests/data/truncated-64bit.mp4"])
def test_media_corpus_no_crash(name):
    path = CORPUS / name
    if not path.exists():
        pytest.skip("media corpus not present")
    try:
        r = run(detect_cuts(path))
    except MediaError:
        return  # an audio-only or broken file: a clear error is the right answer
    assert r.duration > 0 and len(r.energy) == int(np.ceil(r.duration * ENERGY_RATE - 1e-9))
    assert np.all(np.isfinite(r.energy)) and np.all(np.diff(r.cuts) > 0)
