"""Feature datasets: the synthetic generator, the memory-mapped store, and `dataset build`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.jobs import Progress, run
from training.dataset import DatasetError, manifest_sha256, open_store, read_manifest
from training.synth import SynthConfig, SynthWorld, generate

SMALL = SynthConfig(videos=30, visual_dim=16, music_dim=8, min_segments=5, max_segments=12)


def test_synth_writes_the_interchange_format_reproducibly(tmp_path):
    a, b = run(generate(tmp_path / "a", SMALL)), run(generate(tmp_path / "b", SMALL))
    m = read_manifest(a)
    assert m["format"] == "mvpt-features" and m["version"] == 1 and m["segment_seconds"] == 6.7
    ids = m["splits"]["train"] + m["splits"]["val"] + m["splits"]["test"]
    assert len(ids) == 30 and len(set(ids)) == 30 and len(m["splits"]["test"]) == 3
    with np.load(a / "items" / f"{ids[0]}.npz") as z:
        assert z["visual"].shape[0] == z["music"].shape[0] >= 5 and z["visual"].shape[1] == 16
        assert z["visual"].dtype == np.float32
    assert manifest_sha256(a) == manifest_sha256(b)
    assert np.array_equal(np.load(a / "items" / f"{ids[0]}.npz")["music"], np.load(b / "items" / f"{ids[0]}.npz")["music"])


def test_synth_sections_are_shared_and_a_single_segment_is_ambiguous():
    world = SynthWorld(SynthConfig(visual_dim=64, music_dim=32))
    v = world.video(np.random.default_rng(0))
    assert v.visual.shape[0] == v.music.shape[0] == len(v.sections) and v.boundaries[0] == 1
    # the per-segment noise dominates the shared signal in one segment ...
    clean = SynthWorld(SynthConfig(visual_dim=64, music_dim=32, noise=0.0, offset_scale=0.0)).video(np.random.default_rng(0))
    assert np.std(v.visual - clean.visual) > 2 * np.std(clean.visual - clean.visual.mean(0))


def test_store_memory_maps_and_crops(tmp_path):
    root = run(generate(tmp_path / "d", SMALL))
    store = open_store(root)
    assert isinstance(store.visual, np.memmap) and store.visual_dim == 16 and store.music_dim == 8
    assert (root / ".mvpt-cache").is_dir()
    split = store.split("train")
    v0, m0 = split.item(0)
    with np.load(root / "items" / f"{split.ids[0]}.npz") as z:
        assert np.array_equal(v0, z["visual"]) and np.array_equal(m0, z["music"])
    v, m, mask = split.crop_batch(np.arange(4), 8, np.random.default_rng(0))
    assert v.shape == (4, 8, 16) and m.shape == (4, 8, 8) and mask.shape == (4, 8)
    for j in range(4):
        n = int(mask[j].sum())
        assert n == min(8, len(split.item(j)[0])) and mask[j, :n].all() and not v[j, n:].any()
    assert open_store(root).visual.shape == store.visual.shape  # second open reuses the cache


def test_store_rejects_inconsistent_items(tmp_path):
    root = run(generate(tmp_path / "d", SMALL))
    some = read_manifest(root)["splits"]["train"][0]
    np.savez(root / "items" / f"{some}.npz", visual=np.zeros((5, 16), np.float32), music=np.zeros((4, 8), np.float32))
    with pytest.raises(DatasetError, match="same T"):
        open_store(root)
    (root / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(DatasetError, match="format"):
        open_store(root)
    with pytest.raises(DatasetError, match="not found"):
        open_store(tmp_path / "nothing")


class FakeExtractor:
    """Follows engine.features.base.VisualEncoder / MusicEncoder: pure encoders the analysis
    pass feeds with decoded frames or samples (values derived from what they are fed)."""

    frames_per_segment = 1
    frame_short_side = 16
    segments_per_batch = 1
    sample_rate = 8000

    def __init__(self, modality: str, dim: int) -> None:
        self.id, self.dim, self.modality = f"fake:{modality}:v1", dim, modality

    def encode_segments(self, segments):
        return np.stack([np.full(self.dim, float(f.mean()), np.float32) for f in segments])

    def analyse_job(self, samples, grid, cancel=None):
        from engine.features.musicnn.output import MusicnnOutput

        yield Progress("embed", 0, len(grid))
        return MusicnnOutput(np.full((len(grid), self.dim), float(np.abs(samples).mean()), np.float32), None, [])


def test_dataset_build_is_resumable_and_skips_bad_files(tmp_path, monkeypatch):
    from engine.features import registry
    from training.build import BuildConfig, build_dataset
    from training.synthmedia import write_video

    videos = tmp_path / "videos"
    (videos / "sub").mkdir(parents=True)
    write_video(videos / "a.mp4", 3.0, size=(64, 36))
    write_video(videos / "sub" / "b clip.mp4", 2.0, size=(64, 36))
    write_video(videos / "c.mp4", 2.5, size=(64, 36))
    (videos / "broken.mp4").write_bytes(b"this is not a video")
    made = []

    def fake_create(name, device="cpu", **opts):
        made.append(name)
        return FakeExtractor("visual" if name in ("clip", "classic") else "music", 6 if name == "classic" else 4)

    monkeypatch.setattr(registry, "create_extractor", fake_create)
    cfg = BuildConfig(folder=str(videos), out=str(tmp_path / "ds"), workers=2, segment_seconds=1.0,
                      visual="classic", music="classic-music")
    rep = run(build_dataset(cfg))
    assert rep.built == 3 and len(rep.failed) == 1 and "broken.mp4" in rep.failed[0][0]
    m = read_manifest(tmp_path / "ds")
    assert m["extractors"] == {"visual": {"id": "fake:visual:v1", "dim": 6}, "music": {"id": "fake:music:v1", "dim": 4}}
    assert sum(len(v) for v in m["splits"].values()) == 3 and m["segment_seconds"] == 1.0
    errors = (tmp_path / "ds" / "build_errors.jsonl").read_text().splitlines()
    assert len(errors) == 1 and "broken.mp4" in json.loads(errors[0])["file"]
    store = open_store(tmp_path / "ds")
    from engine.media.grid import SegmentGrid
    from engine.media.probe import probe

    expected = sum(len(SegmentGrid(probe(videos / f).duration, 1.0)) for f in ("a.mp4", "sub/b clip.mp4", "c.mp4"))
    assert store.visual_dim == 6 and store.music_dim == 4 and int(store.lengths.sum()) == expected
    again = run(build_dataset(cfg))  # resume: nothing rebuilt
    assert again.kept == 3 and again.built == 0
    with pytest.raises(ValueError, match="new --out"):
        run(build_dataset(BuildConfig(folder=str(videos), out=str(tmp_path / "ds"), segment_seconds=2.0,
                                      visual="classic", music="classic-music")))
