"""The command line: probe, and the cheap checks of recommend / fit / footage / attribute."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from engine.cli import main


def test_probe_prints_streams_and_segments(video_mp4, capsys):
    assert main(["probe", str(video_mp4)]) == 0
    out = capsys.readouterr().out
    assert "h264 320×180" in out and "aac 44100 Hz" in out and "3 × 6.7 s" in out


def test_probe_json(video_mp4, capsys):
    assert main(["probe", "--json", str(video_mp4)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["video"]["width"] == 320 and data["segments"] == 3


def test_probe_bad_file_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "song.mp3"
    bad.write_text("hello")
    assert main(["probe", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: song.mp3:") and "Traceback" not in err


# -- recommend / fit / footage / attribute: the cheap checks come first, in the CLI's words --------

@pytest.fixture(scope="module")
def lib(tmp_path_factory) -> dict:
    """A data folder with 3 songs and 3 short clips, embedded by a small random model."""
    from library_support import save_random_checkpoint, write_songs

    from training.synthmedia import write_video

    root = tmp_path_factory.mktemp("cli-lib")
    songs = write_songs(root / "music", 3, seconds=10.0)
    (root / "footage").mkdir()
    for i in range(3):
        write_video(root / "footage" / f"clip{i}.mp4", 8.0 + 3 * i, size=(96, 54), fps=10, gop=10, hue=0.3 * i)
    ck = save_random_checkpoint(root / "ck").path
    data = root / "data"
    for folder, extra in ((root / "music", []), (root / "footage", ["--footage"])):
        assert main(["library", "add", str(folder), *extra, "--checkpoint", str(ck), "--data-dir", str(data),
                     "--workers", "1", "--json"]) == 0
    return {"root": root, "data": data, "ck": ck, "songs": songs, "clip": root / "footage" / "clip0.mp4"}


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_recommend_a_song_answers_in_cli_words(lib, song_steps, capsys):
    from training.synthmedia import write_video

    assert main(["recommend", str(song_steps), "--checkpoint", str(lib["ck"]), "--data-dir", str(lib["data"])]) == 1
    err = _err(capsys)
    assert (f"error: steps.flac has no video stream: `mvpt recommend` takes footage; for footage that fits a song "
            f"use `mvpt footage {song_steps}`") in err
    assert "drop footage" not in err
    silent = lib["root"] / "silent.mp4"
    write_video(silent, 2.0, size=(96, 54), fps=10, audio=False)
    assert main(["footage", str(silent), "--checkpoint", str(lib["ck"]), "--data-dir", str(lib["data"])]) == 1
    assert (f"error: silent.mp4 has no audio: `mvpt footage` takes a song; for music that fits this footage use "
            f"`mvpt recommend {silent}`") in _err(capsys)


def test_fit_a_missing_file_says_file_not_found(lib, capsys, tmp_path):
    args = ["--checkpoint", str(lib["ck"]), "--data-dir", str(lib["data"])]
    assert main(["fit", str(lib["clip"]), "missing.mp3", *args]) == 1
    assert "error: file not found: missing.mp3" in _err(capsys)
    assert main(["fit", str(tmp_path / "nope.mp4"), str(lib["songs"][0]), *args]) == 1
    assert f"error: file not found: {tmp_path / 'nope.mp4'}" in _err(capsys)
    elsewhere = tmp_path / "other.flac"
    elsewhere.write_bytes(lib["songs"][0].read_bytes())
    assert main(["fit", str(lib["clip"]), str(elsewhere), *args]) == 1
    err = _err(capsys)
    assert "other.flac is not in the music library: add its folder with `mvpt library add" in err
    assert "reading" not in err  # the video was never analysed (its progress starts with "reading …")
    assert main(["fit", str(lib["clip"]), str(lib["songs"][1]), *args]) == 0
    assert "start the track at" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["recommend", "VIDEO"], ["fit", "VIDEO", "SONG"], ["footage", "SONG"],
                                     ["attribute", "list"], ["attribute", "delete", "x"], ["library", "status"],
                                     ["library", "remove", "SONG"]])
def test_a_mistyped_data_dir_is_refused_not_created(lib, tmp_path, capsys, command):
    typo = tmp_path / "dta"
    argv = [{"VIDEO": str(lib["clip"]), "SONG": str(lib["songs"][0])}.get(a, a) for a in command]
    assert main([*argv, "--data-dir", str(typo)]) == 1
    err = _err(capsys)
    assert f"error: data folder {typo} does not exist" in err
    assert f"`mvpt library add FOLDER --data-dir {typo}`" in err
    assert not typo.exists()


def test_an_empty_library_is_said_before_the_video_is_analysed(lib, tmp_path, capsys):
    from library_support import save_random_checkpoint

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["recommend", str(lib["clip"]), "--checkpoint", str(lib["ck"]), "--data-dir", str(empty)]) == 1
    cap = capsys.readouterr()
    assert f"error: the music library is empty: add a folder of music with `mvpt library add FOLDER " \
           f"--data-dir {empty}` (with the same `--checkpoint`, if you gave one)" in cap.err
    assert "reading" not in cap.err and not (empty / "analyses").exists()  # the video was never read
    # music there, but not embedded for this other model
    other = save_random_checkpoint(tmp_path / "other-ck", seed=1).path
    assert main(["recommend", str(lib["clip"]), "--checkpoint", str(other), "--data-dir", str(lib["data"])]) == 1
    err = _err(capsys)
    assert "the music library has no tracks indexed for this model" in err and "reading" not in err
    assert main(["footage", str(lib["songs"][0]), "--checkpoint", str(lib["ck"]), "--data-dir", str(empty)]) == 1
    assert "error: the footage library is empty: add a folder of footage with `mvpt library add FOLDER --footage" \
        in _err(capsys)


def test_an_unknown_attribute_is_said_before_the_video_is_analysed(lib, capsys):
    assert main(["recommend", str(lib["clip"]), "--checkpoint", str(lib["ck"]), "--data-dir", str(lib["data"]),
                 "--attribute", "drums:0.5"]) == 1
    err = _err(capsys)
    assert "error: no attribute named drums for this model (it has none)" in err and "reading" not in err


def test_attribute_list_runs_without_a_model(lib, tmp_path, capsys):
    from library_support import save_random_checkpoint

    from engine.library import Library

    other = save_random_checkpoint(tmp_path / "other-ck", seed=1)
    data = tmp_path / "data"
    with Library(data) as library:
        for loaded, name in ((lib["ck"], "drums"), (other.path, "bright")):
            from engine.library.embed import checkpoint_id
            from engine.model.checkpoint import load_checkpoint

            m = load_checkpoint(loaded)
            ck = checkpoint_id(m)
            library.catalog.register_checkpoint(ck, dim=32, path=str(loaded))
            library.catalog.save_attribute(name, ck, "music" if name == "drums" else "visual",
                                           np.ones(32, np.float32), {"examples": 4, "audio": "/x"})
    assert main(["attribute", "list", "--data-dir", str(data)]) == 0  # no --checkpoint, none in settings
    out = capsys.readouterr().out
    assert "no active model" in out
    assert f"model {lib['ck']}" in out and f"model {other.path}" in out
    assert "drums" in out and "bright" in out
    assert main(["attribute", "list", "--data-dir", str(data), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["name"], r["checkpoint"]) for r in rows} == {("drums", str(lib["ck"])), ("bright", str(other.path))}
    assert main(["attribute", "list", "--data-dir", str(data), "--checkpoint", str(lib["ck"])]) == 0
    out = capsys.readouterr().out
    assert "drums" in out and "bright" not in out  # with a model: that model's only


def test_footage_offers_variety(lib, song_steps, capsys):
    args = ["--checkpoint", str(lib["ck"]), "--data-dir", str(lib["data"]), "--json", "--top", "2"]
    assert main(["footage", str(song_steps), *args, "--max-per-clip", "0"]) == 0
    free = json.loads(capsys.readouterr().out)
    assert len(free) == 4 and all(len(row) == 2 for row in free)  # 30 s at 6.7 s; 3 clips
    assert max(Counter(s["item_id"] for row in free for s in row).values()) > 2  # 8 picks of 3 clips
    assert main(["footage", str(song_steps), *args]) == 0  # default: at most 2 segments per clip
    rows = json.loads(capsys.readouterr().out)
    uses = Counter(s["item_id"] for row in rows for s in row)
    assert max(uses.values()) <= 2 and len(uses) == 3
    assert all(row for row in rows)  # every segment still gets its best free clip
    for row in rows:
        assert [s["score"] for s in row] == sorted((s["score"] for s in row), reverse=True)


def test_spread_picks_gives_a_clip_to_the_segments_it_fits_best():
    from engine.cli.recommend_cmds import spread_picks
    from engine.recommend import SegmentSuggestion

    def s(item: int, score: float) -> SegmentSuggestion:
        return SegmentSuggestion(item, f"/c{item}.mp4", f"c{item}", None, 0, 0.0, score)

    # clip 1 is everyone's favourite, best for rows 2 and 0
    rows = [[s(1, 0.8), s(2, 0.5), s(3, 0.1)], [s(1, 0.7), s(3, 0.6), s(2, 0.2)], [s(1, 0.9), s(2, 0.3), s(3, 0.2)]]
    out = spread_picks(rows, 1, 2)
    assert [[x.item_id for x in row] for row in out] == [[1], [3], [1]]
    out = spread_picks(rows, 2, 1)
    assert [[x.item_id for x in row] for row in out] == [[2], [3], [1]]
    assert spread_picks(rows, 2, 0) == [row[:2] for row in rows]


def test_attribute_create_counts_the_examples_given(lib, capsys):
    """Three songs are three examples (segments, when more, are counted apart), in the summary and the list."""
    args = ["--checkpoint", str(lib["ck"]), "--data-dir", str(lib["data"])]
    assert main(["attribute", "create", "band", "--audio", str(lib["root"] / "music"), *args]) == 0
    out = capsys.readouterr().out
    assert "attribute 'band' saved for" in out and "from 3 examples (norm" in out  # 1 segment each
    assert main(["attribute", "list", *args]) == 0
    assert "band" in (line := next(x for x in capsys.readouterr().out.splitlines() if "band" in x)) and \
        " 3 examples" in line
    assert main(["attribute", "delete", "band", *args]) == 0
