"""Extractors by name, the defaults' fallback to weightless extractors, and the CLI faces."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cli import main
from engine.features import (
    ClassicVisualExtractor,
    FeatureError,
    create_extractor,
    default_extractors,
    describe_active,
    plan_defaults,
)
from training.synthmedia import write_video


def _musicnn_ready() -> bool:
    try:
        from engine.features.musicnn.weights import find_weights

        find_weights("MTT_musicnn")
        return True
    except (ImportError, FeatureError):
        return False


def _classic_music_importable() -> bool:
    try:
        import engine.features.music_classic  # noqa: F401

        return True
    except ImportError:
        return False


@pytest.fixture(scope="module")
def small_video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("reg") / "v.mp4", 8.0, size=(160, 90), gop=5)


def test_package_import_is_light():
    import subprocess
    import sys

    code = "import sys, engine.features; print('torch' in sys.modules, 'open_clip' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_create_by_name():
    assert isinstance(create_extractor("classic"), ClassicVisualExtractor)
    assert create_extractor("classic", frames_per_segment=4).id.endswith(":k4:w72")
    with pytest.raises(FeatureError, match="unknown extractor"):
        create_extractor("vggish")


def test_defaults_fall_back_to_classic_without_clip_weights(empty_weight_caches, no_network):
    plan = plan_defaults()
    assert plan.visual == "classic" and "openai" in plan.visual_reason
    line = describe_active()
    assert line.startswith("visual: classic") and "mvpt models" in line
    if plan.music == "musicnn" or _classic_music_importable():
        visual, music = default_extractors()
        assert visual.modality == "visual" and isinstance(visual, ClassicVisualExtractor)
        assert music.modality == "music"
        assert "classic" in describe_active(visual, music)


def test_clip_is_the_default_once_weights_are_there(empty_weight_caches):
    from engine.paths import models_dir

    f = models_dir() / "clip" / "ViT-B-32-openai.safetensors"
    f.parent.mkdir(parents=True)
    f.write_bytes(b"planted, not loaded")
    plan = plan_defaults()
    assert plan.visual == "clip" and "app-models" in plan.visual_reason


def test_music_default_follows_musicnn_weights():
    assert plan_defaults().music == ("musicnn" if _musicnn_ready() else "classic-music")


def test_cli_features_classic_then_cached(small_video, capsys):
    assert main(["features", str(small_video), "--extractor", "classic", "--segment-seconds", "4"]) == 0
    out = capsys.readouterr().out
    assert "2 segments × 52" in out and "classic-visual:v1" in out and "realtime" in out
    from engine.features import FeatureCache
    from engine.media.grid import SegmentGrid

    cached = FeatureCache().get(ClassicVisualExtractor(), small_video, SegmentGrid(8.0, 4.0))
    assert cached is not None and cached.shape == (2, 52) and np.isfinite(cached).all()


def test_cli_features_clip_without_weights_says_what_to_do(small_video, empty_weight_caches, no_network, capsys):
    assert main(["features", str(small_video), "--extractor", "clip"]) == 1
    err = capsys.readouterr().err
    assert "not on this computer" in err and "mvpt models" in err


@pytest.mark.skipif(not _musicnn_ready(), reason="musicnn extractor or weights not installed")
def test_cli_features_musicnn_prints_tags(small_video, capsys):
    assert main(["features", str(small_video), "--extractor", "musicnn", "--segment-seconds", "4"]) == 0
    out = capsys.readouterr().out
    assert "2 segments × 400" in out and "tags" in out


def test_cli_models_lists_weights_and_where(empty_weight_caches, capsys):
    from engine.paths import models_dir

    f = models_dir() / "clip" / "ViT-B-32-laion2b_s34b_b79k.safetensors"
    f.parent.mkdir(parents=True)
    f.write_bytes(b"x")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "laion2b_s34b_b79k" in out and str(f) in out and "Hugging Face cache" in out
    # Other weights do not silently replace the configured tag: models trained on one CLIP's
    # features do not read another's.
    assert out.startswith("Active: visual: classic")
