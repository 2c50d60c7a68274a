"""CLIP extractor and weight resolution: tiny random models built here, weights written here,
never a download (sockets are blocked)."""

from __future__ import annotations

import json
import pathlib
import time

import numpy as np
import pytest
import torch
from features_support import register_tiny_clip
from PIL import Image
from safetensors.torch import save_file

from engine.features.base import FeatureError, FeatureExtractor
from engine.features.clip import ClipExtractor
from engine.features.weights import (
    WeightsMissing,
    import_open_clip,
    is_torchscript,
    list_clip_weights,
    resolve_clip_weights,
)
from engine.jobs import Cancelled, run
from engine.media.frames import sample_frames
from engine.media.grid import SegmentGrid
from training.synthmedia import _frame_rgb, write_video


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    return register_tiny_clip(tmp_path_factory.mktemp("open-clip-config"))


@pytest.fixture(scope="module")
def tiny_random(tiny) -> ClipExtractor:
    return ClipExtractor(tiny, None)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> pathlib.Path:
    return write_video(tmp_path_factory.mktemp("clipvid") / "v.mp4", 6.0, size=(160, 90), gop=5, audio=False)


def frames(n: int = 5, w: int = 160, h: int = 90) -> np.ndarray:
    return np.stack([_frame_rgb(7 * i, 25, w, h) for i in range(n)])


def other_model_state(name: str, seed: int = 123) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    model = import_open_clip().create_model(name)
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def reference_embeddings(ex: ClipExtractor, state: dict, name: str, x: np.ndarray) -> np.ndarray:
    """What open_clip itself computes with ``state`` on our preprocessed input."""
    model = import_open_clip().create_model(name)
    model.load_state_dict(state)
    with torch.inference_mode():
        return torch.nn.functional.normalize(model.eval().encode_image(ex.preprocess(x)), dim=-1).numpy()


def test_random_tiny_model_shapes_norms_and_determinism(tiny, tiny_random, no_network):
    ex = tiny_random
    assert isinstance(ex, FeatureExtractor) and ex.modality == "visual"
    assert ex.dim == 32 and ex.id == f"clip:{tiny}:random-seed0:p1"
    e = ex.encode_frames(frames())
    assert e.shape == (5, 32) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    # Same seed, same model; batch size does not change results.
    np.testing.assert_allclose(ClipExtractor(tiny, None, batch_size=2).encode_frames(frames()), e, atol=1e-5)
    t = ex.encode_text(["a calm beach at dusk", "a fast car chase"])
    assert t.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(t[0], t[1])


@pytest.mark.parametrize("size", [(160, 90), (90, 160), (64, 64)])
def test_preprocessing_matches_open_clip(tiny_random, size):
    from open_clip.transform import PreprocessCfg, image_transform_v2

    ex = tiny_random
    tf = image_transform_v2(PreprocessCfg(**ex.model.visual.preprocess_cfg), is_train=False)
    x = frames(3, *size)
    ref = torch.stack([tf(Image.fromarray(f)) for f in x])
    mine = ex.preprocess(x)
    assert mine.shape == ref.shape == (3, 3, 64, 64)
    assert (mine - ref).abs().mean() < 0.02  # PIL vs torch bicubic: tiny differences
    with torch.inference_mode():
        a = torch.nn.functional.normalize(ex.model.encode_image(ref), dim=-1)
        b = torch.nn.functional.normalize(ex.model.encode_image(mine), dim=-1)
    assert (a * b).sum(-1).min() > 0.999


def test_extract_is_the_mean_of_frame_embeddings(tiny, video):
    ex = ClipExtractor(tiny, None, frames_per_segment=3, batch_size=4)
    grid = SegmentGrid(6.0, 2.0)
    events = []
    feats = run(ex.extract(video, grid), events.append)
    assert feats.shape == (3, 32) and events[-1].done == 3
    for seg in sample_frames(video, grid, per_segment=3, short_side=64):
        np.testing.assert_allclose(feats[seg.index], ex.encode_frames(seg.frames).mean(axis=0), atol=1e-5)
    with pytest.raises(Cancelled):
        run(ex.extract(video, grid, cancel=lambda: True))


def test_weights_from_a_local_file(tiny, tiny_random, tmp_path, no_network):
    state = other_model_state(tiny)
    st = tmp_path / "tiny.safetensors"
    save_file(state, str(st))
    ex = ClipExtractor(tiny, str(st))
    assert ex.weights.source == "file" and ex.id.startswith(f"clip:{tiny}:sha256-") and ex.id.endswith(":p1")
    assert ex.id != tiny_random.id
    x = frames(4)
    got = ex.encode_frames(x)
    np.testing.assert_allclose(got, reference_embeddings(ex, state, tiny, x), atol=1e-5)
    assert np.abs(got - tiny_random.encode_frames(x)).max() > 1e-2  # really not the random model
    # A plain state-dict .pt (wrapped, DDP-prefixed) loads with weights_only=True.
    pt = tmp_path / "tiny.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, pt)
    ex_pt = ClipExtractor(tiny, str(pt))
    np.testing.assert_allclose(ex_pt.encode_frames(x), got, atol=1e-5)
    assert ex_pt.id != ex.id  # the id names the file's content


def test_local_dir_layout(tiny, tmp_path):
    from features_support import TINY_CLIP_CFG

    folder = tmp_path / "my-clip"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CLIP_CFG, "preprocess_cfg": {}}))
    state = other_model_state(tiny, seed=7)
    save_file(state, str(folder / "open_clip_model.safetensors"))
    ex = ClipExtractor(pretrained=f"local-dir:{folder}")
    assert ex.id.startswith("clip:local-") and ":sha256-" in ex.id and ex.dim == 32
    x = frames(2)
    np.testing.assert_allclose(ex.encode_frames(x), reference_embeddings(ex, state, tiny, x), atol=1e-5)
    assert ex.encode_text(["x"]).shape == (1, 32)


class _Evil:
    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_checkpoints_that_would_run_code_are_refused(tiny, tmp_path):
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.pt"
    torch.save({"visual.proj": _Evil(marker)}, evil)
    with pytest.raises(FeatureError, match="plain weights"):
        ClipExtractor(tiny, str(evil))
    assert not marker.exists()
    ts = tmp_path / "scripted.pt"
    torch.jit.script(torch.nn.Linear(2, 2)).save(str(ts))
    assert is_torchscript(ts)
    with pytest.raises(FeatureError, match="TorchScript"):
        ClipExtractor(tiny, str(ts))


def test_bad_weight_files_give_clear_errors(tiny, tmp_path):
    state = other_model_state(tiny)
    state.pop(next(iter(state)))
    partial = tmp_path / "partial.safetensors"
    save_file(state, str(partial))
    with pytest.raises(FeatureError, match="does not hold weights"):
        ClipExtractor(tiny, str(partial))
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(FeatureError, match="cannot be read"):
        ClipExtractor(tiny, str(garbage))
    with pytest.raises(WeightsMissing, match="not found"):
        ClipExtractor(tiny, str(tmp_path / "nope.safetensors"))
    with pytest.raises(FeatureError, match="unknown CLIP model"):
        resolve_clip_weights("ViT-Nope", None)
    with pytest.raises(FeatureError, match="known tags"):
        resolve_clip_weights("ViT-B-32", "not-a-tag")


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_tag_resolution_is_local_and_says_what_to_do(empty_weight_caches, no_network, monkeypatch):
    from engine.paths import models_dir

    hub, clip_cache = empty_weight_caches
    t0 = time.perf_counter()
    with pytest.raises(WeightsMissing) as missing:
        resolve_clip_weights("ViT-B-32", "openai")
    assert time.perf_counter() - t0 < 5  # no 46 s of network retries
    msg = str(missing.value)
    for needle in ("create_model('ViT-B-32', pretrained='openai')", "models--timm--vit_base_patch32_clip_224.openai",
                   str(models_dir() / "clip" / "ViT-B-32-openai.safetensors"), "--pretrained", "mvpt models"):
        assert needle in msg

    # 1. The app's models folder (resolution does not load the file).
    app_file = models_dir() / "clip" / "ViT-B-32-openai.safetensors"
    app_file.parent.mkdir(parents=True)
    app_file.write_bytes(b"not loaded here")
    rw = resolve_clip_weights("ViT-B-32", "openai")
    assert (rw.source, rw.path, rw.fingerprint, rw.quick_gelu) == ("app-models", app_file, "openai", True)
    assert rw.preprocess["interpolation"] == "bicubic"
    app_file.unlink()

    # 2. The Hugging Face cache, as open_clip leaves it on a connected machine.
    repo = hub / "models--timm--vit_base_patch32_clip_224.openai"
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    hf_file = repo / "snapshots" / "abc123" / "open_clip_model.safetensors"
    hf_file.write_bytes(b"x")
    rw = resolve_clip_weights("ViT-B-32", "openai")
    assert rw.source == "hf-cache" and rw.path == hf_file
    assert any(e.tag == "openai" and e.source == "hf-cache" and e.usable for e in list_clip_weights())
    hf_file.unlink()

    # 3. OpenAI's TorchScript download in ~/.cache/clip is found but refused.
    torch.jit.script(torch.nn.Linear(2, 2)).save(str(clip_cache / "ViT-B-32.pt"))
    with pytest.raises(WeightsMissing, match="TorchScript"):
        resolve_clip_weights("ViT-B-32", "openai")
    assert any(e.source == "clip-cache" and not e.usable for e in list_clip_weights())


def test_vit_b_32_random_init_shapes(no_network):
    ex = ClipExtractor("ViT-B-32", None)
    assert ex.dim == 512 and ex.image_size == (224, 224) and ex.id == "clip:ViT-B-32:random-seed0:p1"
    assert ex.encode_frames(frames(2, 398, 224)).shape == (2, 512)
    assert ex.encode_text(["music video", "dance"]).shape == (2, 512)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_half_precision_matches_cpu(tiny, tiny_random):
    gpu = ClipExtractor(tiny, None, device="cuda")
    assert gpu.half
    cos = (gpu.encode_frames(frames()) * tiny_random.encode_frames(frames())).sum(-1)
    assert cos.min() > 0.99


def test_cuda_requested_without_cuda_is_a_clear_error(tiny):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(FeatureError, match="CUDA is not available"):
        ClipExtractor(tiny, None, device="cuda")
