"""Per-video project state: saved atomically, restored, damaged files set aside."""

from __future__ import annotations

from engine.mix.cuesheet import CueSheet, scene_cue
from engine.project import Project, last_video, load_project, project_file, save_project


def test_project_round_trip_last_video_and_damage(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"x")
    data = tmp_path / "data"
    assert load_project(video, data) == Project(str(video.resolve()))
    assert last_video(data) is None
    sheet = CueSheet.whole("a.wav", "A", 10.0).placed(scene_cue("b.wav", "B", 2.0, 4.0, 7.0))
    save_project(Project(str(video), sheet, (("drums", 0.5), ("calm", -0.25))), data)
    back = load_project(video, data)
    assert back.sheet == sheet and back.weight_map == {"drums": 0.5, "calm": -0.25}
    assert last_video(data) == str(video.resolve())
    assert not [p for p in (data / "projects").iterdir() if p.name.startswith(".")]  # no temp files left
    project_file(video, data).write_text("{ damaged")
    assert load_project(video, data).sheet == CueSheet()
    assert project_file(video, data).with_name(project_file(video, data).name + ".damaged").exists()
    video.unlink()
    assert last_video(data) is None  # a video that is gone is not offered
