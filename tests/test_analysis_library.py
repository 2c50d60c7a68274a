"""Tags and the attribute matrix from a real library: songs scanned with musicnn (tags) and
embedded by the hue-pitch probe model (tests/analysis_support.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from engine.library.catalog import Catalog
from training.analysis.probe_world import write_image_set
from training.analysis.tags import library_tags


def test_tag_summary_of_a_library(tagged_library, tmp_path, capsys):
    from training.cli import main

    s = library_tags(tagged_library["data_dir"])
    assert len(s.tracks) == 4 and s.untagged == 0 and s.extractor.startswith("musicnn:MTT_musicnn")
    assert sum(s.genres.values()) == pytest.approx(100.0)
    cat = Catalog(tagged_library["data_dir"] / "library" / "catalog.sqlite")
    try:  # each track's top tag is the catalog's own
        for t in s.tracks:
            assert t.top[0][0] == cat.tags(t.item_id).top(1)[0][0]
    finally:
        cat.close()
    assert main(["analyze", "tags", "--library", str(tagged_library["data_dir"]), "--out", str(tmp_path)]) == 0
    md = (tmp_path / "tags.md").read_text()
    assert "Most common genre" in md and "Song 0" in md
    for png in ("tags_genres.png", "tags_mean.png"):
        with Image.open(tmp_path / png) as im:
            assert im.format == "PNG" and im.height > 40
    assert str(tmp_path / "tags.md") in capsys.readouterr().out


def test_attribute_matrix_from_library_genres(tagged_library, tmp_path):
    from training.cli import main

    images = write_image_set(tmp_path / "hues", "hue-pitch", per_class=4)
    assert main(["analyze", "attributes", "--checkpoint", str(tagged_library["checkpoint"]), "--images", str(images),
                 "--library", str(tagged_library["data_dir"]), "--out", str(tmp_path / "out"), "--device", "cpu",
                 "--quiet"]) == 0
    res = json.loads((tmp_path / "out" / "attributes.json").read_text())
    assert res["classes"] == ["hue0", "hue1", "hue2", "hue3"]
    assert sum(map(sum, res["counts"])) == 4 * 8  # four songs of eight segments, each one query
    np.testing.assert_allclose(np.sum(res["percent"], axis=1), 100.0, atol=0.05)
    assert "musicnn genre tags" in res["label_source"]
