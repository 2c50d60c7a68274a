import json

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
