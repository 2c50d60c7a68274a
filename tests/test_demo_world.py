"""The demo world in its reduced size: it builds, its files are what the manifest says, each
clip's soundtrack is its track, styles sound and look different, and a second build skips
what is complete."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from engine.jobs import Cancelled, Progress, run
from engine.media.audio import decode_audio
from engine.media.frames import sample_frames
from engine.media.grid import SegmentGrid
from engine.media.probe import probe
from training.demo_footage import shot_plan
from training.demo_music import STYLE_ORDER, plan_track
from training.demo_world import STYLE_TAGS, DemoWorld, build_world

SMALL = dict(n_tracks=6, n_clips=6, seconds=(20, 30), size=(160, 90))


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[DemoWorld, list[Progress]]:
    events: list[Progress] = []
    w = run(build_world(tmp_path_factory.mktemp("world"), **SMALL), events.append)
    return w, events


def _files(w: DemoWorld) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in w.root.rglob("*") if p.is_file() and p.name != "manifest.json"}


def test_manifest_lists_every_file_with_its_split(world):
    w, events = world
    assert [t.style for t in w.tracks] == list(STYLE_ORDER[:6])
    assert [c.split for c in w.clips] == ["train"] * 2 + ["held_out"] * 4
    assert all(c.path.parent == (w.footage_dir if c.split == "train" else w.held_out_dir) for c in w.clips)
    assert {c.track for c in w.clips} == {t.id for t in w.tracks}
    data = json.loads(w.manifest.read_text())
    assert {"style", "bpm", "key", "duration"} <= set(data["tracks"][0])
    assert len({(t.bpm, t.key) for t in w.tracks}) == 6
    assert {"footage", "music"} <= {e.stage for e in events}
    assert not list(w.root.rglob(".*partial*"))


def test_files_probe_with_the_right_streams_and_durations(world):
    w, _ = world
    for t in w.tracks:
        info = probe(t.path)
        assert info.video is None and info.audio is not None and info.audio.channels == 2
        assert 20 <= info.duration <= 31 and abs(info.duration - t.duration) < 0.05
        assert info.tags.get("genre") == t.style
    for c in w.clips:
        info = probe(c.path)
        assert info.video is not None and info.audio is not None
        assert (info.video.width, info.video.height) == (160, 90) and abs(info.video.fps - 24) < 0.01
        assert info.video.codec == "h264" and info.audio.codec == "aac"
        assert abs(info.duration - c.duration) < 0.15
        assert c.duration <= w.track(c.track).duration + 1e-6


def test_each_clips_soundtrack_is_its_track(world):
    w, _ = world
    tracks = {t.id: decode_audio(t.path, 8000) for t in w.tracks}
    for c in w.clips:
        clip = decode_audio(c.path, 8000)[: 8000 * 15]
        corr = {}
        for tid, x in tracks.items():
            ref = x[: len(clip)]
            corr[tid] = max(float(np.dot(clip[lag:], ref[: len(ref) - lag]) /
                                  (np.linalg.norm(clip[lag:]) * np.linalg.norm(ref[: len(ref) - lag]) + 1e-9))
                            for lag in range(0, 40, 2))  # AAC priming is compensated; allow 5 ms
        assert corr[c.track] > 0.9, (c.id, corr)
        assert max(v for k, v in corr.items() if k != c.track) < 0.5


def test_styles_sound_different(world):
    from engine.features.music_classic import ClassicMusicExtractor

    w, _ = world
    ext = ClassicMusicExtractor()
    per_seg = {t.style: run(ext.extract(t.path, SegmentGrid(t.duration))) for t in w.tracks}
    feats = {style: f.mean(axis=0) for style, f in per_seg.items()}
    loud, onset, bright = 230, 192, 232  # columns: loudness dB/20, onset strength, log2 centroid
    assert feats["techno"][loud] > feats["ambient"][loud] + 0.3  # > 6 dB louder
    assert feats["techno"][onset] > 1.5 * feats["ambient"][onset]
    assert feats["rock"][loud] > feats["piano"][loud] + 0.25
    assert feats["rock"][bright] > feats["piano"][bright] + 0.5  # distortion and cymbals vs felt
    techno = w.tracks[1]
    bpm = 120 * 2 ** float(per_seg["techno"][:, 196].mean())
    assert min(abs(np.log2(bpm / techno.bpm * m)) for m in (0.5, 1, 2)) < 0.1  # tempo is heard
    dists = [np.linalg.norm(feats[a][:192] - feats[b][:192]) for a in feats for b in feats if a < b]
    assert min(dists) > 0.5  # every pair of styles differs in timbre


def _luma(path: Path, duration: float) -> np.ndarray:
    grid = SegmentGrid(duration, 2.0)
    out = np.zeros(len(grid))
    for seg in sample_frames(path, grid, per_segment=4, short_side=None):
        out[seg.index] = seg.frames.astype(np.float32).mean()
    return out


def test_footage_follows_style_and_sections(world):
    w, _ = world
    by_style = {w.track(c.track).style: c for c in w.clips}
    calm, energetic = by_style["ambient"], by_style["techno"]
    assert _luma(energetic.path, energetic.duration).mean() > 1.5 * _luma(calm.path, calm.duration).mean()
    spec = w.track(energetic.track).spec  # within a clip, the chorus is brighter than the intro
    luma = _luma(energetic.path, energetic.duration)
    energy = np.array([spec.section_at(2.0 * i + 1.0).energy for i in range(len(luma))])
    assert luma[energy > 0.7].mean() > luma[energy < 0.3].mean() + 10


def test_cuts_fall_on_bar_lines():
    spec = plan_track(1, 0, (60, 90))
    shots = shot_plan(spec, spec.duration, 0)
    bars = np.array([s.start for s in shots]) / spec.bar_seconds
    assert np.allclose(bars, np.round(bars)) and len(shots) > 8
    starts = {round(s.start_bar * spec.bar_seconds, 6) for s in spec.sections}
    assert starts <= {round(s.start, 6) for s in shots}


def test_rerun_skips_complete_files_and_remakes_missing_ones(world):
    w, _ = world
    before = _files(w)
    run(build_world(w.root, **SMALL))
    assert _files(w) == before
    w.clips[0].path.unlink()
    run(build_world(w.root, **SMALL))
    after = _files(w)
    assert after.keys() == before.keys()
    assert [p for p in after if after[p] != before[p]] == [w.clips[0].path]


def test_cancel_leaves_no_partial_file_and_resume_finishes(tmp_path):
    seen: list[str] = []

    def cancel() -> bool:
        return "footage" in seen

    job = build_world(tmp_path, n_tracks=1, n_clips=1, held_out=0, seconds=(20, 21), size=(160, 90),
                      cancel=cancel)
    with pytest.raises(Cancelled):
        run(job, lambda p: seen.append(p.stage))
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] != []
    assert not list(tmp_path.rglob(".*partial*")) and not list((tmp_path / "footage").iterdir())
    w = run(build_world(tmp_path, n_tracks=1, n_clips=1, held_out=0, seconds=(20, 21), size=(160, 90)))
    assert w.clips[0].path.is_file() and os.path.getsize(w.clips[0].path) > 0


def test_every_style_has_tags_that_musicnn_knows():
    from engine.features.musicnn import MTT_LABELS

    assert set(STYLE_TAGS) == set(STYLE_ORDER)
    for tags in STYLE_TAGS.values():
        assert tags and tags <= set(MTT_LABELS)
