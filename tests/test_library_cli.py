"""``mvpt library add|status|remove`` end to end on generated media."""

from __future__ import annotations

import json

from library_support import music_extractor, save_random_checkpoint, write_songs

from engine.cli import main


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_add_status_remove(tmp_path, capsys, monkeypatch):
    name, _, _ = music_extractor()
    folder = tmp_path / "music"
    write_songs(folder, 3, seconds=10.0)
    (folder / "broken.flac").write_bytes(b"fLaC" + bytes(200))
    data = tmp_path / "data"
    monkeypatch.setenv("MVPT_DATA_DIR", str(data))  # the default data dir, no --data-dir needed

    assert main(["library", "add", str(folder), "--extractor", name, "--workers", "2", "--json"]) == 0
    out = _json(capsys)
    assert out["kind"] == "music" and out["counts"] == {"ok": 3, "failed": 1}
    assert out["embed"] is None and "need a model" in out["note"]
    assert [p.endswith("broken.flac") for p, _ in out["scan"]["failed"]] == [True]
    assert (data / "library" / "catalog.sqlite").is_file()

    # With a checkpoint: unchanged files are skipped, the library is embedded and indexed.
    ck = save_random_checkpoint(tmp_path / "ck")
    assert main(["library", "add", str(folder), "--checkpoint", str(ck.path), "--json"]) == 0
    out = _json(capsys)
    assert out["scan"]["skipped"] == 4 and out["scan"]["processed"] == []
    assert out["embed"]["embedded"] == 3 and out["embed"]["vectors"]["track"] == 3

    assert main(["library", "status", "--failures", "--json"]) == 0
    st = _json(capsys)
    assert st["kinds"]["music"]["ok"] == 3 and st["kinds"]["music"]["failed"] == 1
    assert st["kinds"]["music"]["failures"][0]["path"].endswith("broken.flac")
    assert st["checkpoints"][0]["items_embedded"]["music"] == 3

    assert main(["library", "status"]) == 0
    text = capsys.readouterr().out
    assert "3 ok, 1 failed" in text and "3 music" in text

    assert main(["library", "remove", str(folder), "--json"]) == 0
    assert _json(capsys) == {"removed": 4}
    assert main(["library", "remove", str(folder)]) == 1
    assert main(["library", "status", "--json", "--data-dir", str(data)]) == 0
    assert _json(capsys)["kinds"]["music"] == {"folders": [], "ok": 0, "failed": 0}


def test_add_prints_a_progress_bar_and_a_summary(tmp_path, capsys):
    name, _, _ = music_extractor()
    folder = tmp_path / "music"
    write_songs(folder, 2, seconds=5.0)
    assert main(["library", "add", str(folder), "--extractor", name, "--data-dir", str(tmp_path / "d")]) == 0
    cap = capsys.readouterr()
    assert "scan" in cap.err and "2/2" in cap.err
    assert "2 files, 2 analysed, 0 failed" in cap.out and "need a model" in cap.out
