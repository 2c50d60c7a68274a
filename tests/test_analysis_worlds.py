"""The analyses on trained probe worlds with a known cue (tests/analysis_support.py):
a model trained where brightness carries the signal must lose R@10 under brightness x 0.5,
one trained where it carries none must not; the attribute matrix must show the cue."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from engine.jobs import run
from training.analysis.attributes import AttributesConfig, attribute_matrix, write_attributes
from training.analysis.probe_world import write_image_set
from training.analysis.robustness import RobustnessConfig, robustness, write_robustness

_CURVES: dict = {}


def _curves(worlds, world: str):
    if world not in _CURVES:
        w = worlds[world]
        _CURVES[world] = run(robustness(RobustnessConfig(str(w["run"]), str(w["data"]), factors=(0.5,), pools=1)))
    return _CURVES[world]


def _drop(result, kind: str, r: float = 0.5) -> float:
    r10 = result.r10(kind)
    return r10[1.0] - r10[r]


def test_robustness_sees_which_cue_a_model_uses(worlds, tmp_path):
    bt, hp = _curves(worlds, "brightness-tempo"), _curves(worlds, "hue-pitch")
    for res in (bt, hp):
        # r = 1 re-reads the media with the checkpoint's own extractors: the stored features' figure
        for kind in ("brightness", "hue", "tempo"):
            assert res.r10(kind)[1.0] == pytest.approx(res.stored["avg_R@10"], abs=1e-6)
        assert res.extractors == {"visual": "classic-visual:v1:k8:w72", "music": "classic-music:v1"}
    chance = 100 * 10 / bt.pool
    assert bt.stored["avg_R@10"] > chance + 20 and hp.stored["avg_R@10"] > chance + 20
    # brightness carries the signal in one world and none in the other
    assert _drop(bt, "brightness") >= 20
    assert _drop(bt, "brightness") > 4 * max(1.0, _drop(hp, "brightness"))
    # hue: the other way round
    assert _drop(hp, "hue") >= 40
    assert _drop(bt, "hue") < 0.5 * _drop(hp, "hue")
    # tempo: slower music hurts the model that reads the pulse; the pitch model keeps its
    # figure (atempo keeps the pitch)
    assert abs(_drop(hp, "tempo")) <= 4
    assert _drop(bt, "tempo") > _drop(hp, "tempo") + 3
    report = write_robustness(bt, tmp_path / "bt")
    text = report.read_text()
    assert "classic-visual:v1:k8:w72" in text and "atempo" in text and "| 0.5 |" in text
    with Image.open(tmp_path / "bt" / "robustness.png") as im:
        assert im.format == "PNG" and im.width >= 400
    saved = json.loads((tmp_path / "bt" / "robustness.json").read_text())
    assert saved["curves"]["brightness"][0]["r"] == 0.5


def test_attribute_matrix_finds_the_learned_cue(worlds, tmp_path):
    bt, hp = worlds["brightness-tempo"], worlds["hue-pitch"]
    bright_images = write_image_set(tmp_path / "brightness", "brightness-tempo", per_class=8)
    hue_images = write_image_set(tmp_path / "hue", "hue-pitch", per_class=8)

    def matrix(w, images):
        return run(attribute_matrix(AttributesConfig(str(w["run"]), str(images), data=str(w["data"]),
                                                     labels=str(w["labels"]))))

    bt_bright, hp_bright, hp_hue = matrix(bt, bright_images), matrix(hp, bright_images), matrix(hp, hue_images)
    for res in (bt_bright, hp_bright, hp_hue):
        assert res.genres == ["state0", "state1", "state2", "state3"]
        np.testing.assert_allclose(res.matrix().sum(axis=1), 100.0, atol=0.05)
        assert res.images_per_class == 8
    diag = {name: float(np.mean(np.diag(r.matrix()))) for name, r in
            (("bt_bright", bt_bright), ("hp_bright", hp_bright), ("hp_hue", hp_hue))}
    # a state's music retrieves pictures of the same state by the cue the model learned ...
    assert diag["bt_bright"] > 75 and diag["hp_hue"] > 75
    # ... and not by a cue it was never shown carrying the signal
    assert diag["hp_bright"] < diag["bt_bright"] - 25
    # the diagonal stands out from uniform (48 test segments: a state with few may not reach significance)
    assert sum(bt_bright.marked[i][i] for i in range(4)) >= 3
    md = write_attributes(bt_bright, tmp_path / "out")
    text = md.read_text()
    assert "Cells far from uniform" in text and "gender" in text and "ships no such data" in text
    with Image.open(tmp_path / "out" / "attributes.png") as im:
        assert im.format == "PNG"


def test_attribute_set_is_balanced(worlds, tmp_path):
    images = write_image_set(tmp_path / "set", "hue-pitch", per_class=6)
    for extra in range(3):  # one class gets more images: they are left out
        Image.new("RGB", (64, 36), (250, 0, 0)).save(images / "hue0" / f"extra{extra}.png")
    w = worlds["hue-pitch"]
    res = run(attribute_matrix(AttributesConfig(str(w["run"]), str(images), data=str(w["data"]),
                                                labels=str(w["labels"]))))
    assert res.images_per_class == 6 and res.images_found["hue0"] == 9
    assert any("balanced to 6" in n for n in res.notes)


def test_cli_attention_and_robustness(worlds, tmp_path, capsys):
    from training.cli import main

    w = worlds["brightness-tempo"]
    video = sorted(w["media"].glob("*.mp4"))[0]
    assert main(["analyze", "attention", str(video), "--checkpoint", str(w["run"]), "--out", str(tmp_path / "att"),
                 "--device", "cpu", "--quiet"]) == 0
    result = json.loads((tmp_path / "att" / "attention.json").read_text())
    assert len(result["weights"]) == 8 and sum(result["weights"]) == pytest.approx(1.0, abs=1e-5)
    assert "Most attended segments" in (tmp_path / "att" / "attention.md").read_text()
    with Image.open(tmp_path / "att" / "attention.png") as im:
        px = np.asarray(im.convert("RGB"))
    assert px.shape[1] > 8 * 50  # eight thumbnails side by side
    assert main(["analyze", "robustness", "--checkpoint", str(w["run"]), "--data", str(w["data"]),
                 "--kinds", "brightness", "--factors", "0.5", "--pools", "1", "--max-items", "3",
                 "--out", str(tmp_path / "rob"), "--device", "cpu", "--quiet"]) == 0
    assert (tmp_path / "rob" / "robustness.png").exists()
    out = capsys.readouterr()
    assert str(tmp_path / "rob" / "robustness.md") in out.out
    # a dataset that was not built from media says what to do, in one line
    assert main(["analyze", "robustness", "--checkpoint", str(w["run"]), "--data", str(w["data"]),
                 "--media", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "--media" in capsys.readouterr().err
