"""The OTIO export carries the edit's rhythm: the footage's cuts as markers on the footage
clip, each music clip's downbeats and section starts in its source time (issue 12)."""

from __future__ import annotations

import numpy as np


def test_cuts_downbeats_and_sections_are_markers(tmp_path):
    import opentimelineio as otio

    from engine.mix.cuesheet import Cue, CueSheet, MixSettings
    from engine.mix.otio import build_timeline, write_otio
    from engine.rhythm.music import MusicRhythm
    from engine.rhythm.video import VideoRhythm
    from training.synthmedia import write_audio, write_video

    video = write_video(tmp_path / "v.mp4", 12.0, size=(96, 54), fps=10, gop=10, audio=False)
    song = write_audio(tmp_path / "song.wav", duration=30.0)
    beats = np.arange(0.0, 30.0, 0.5)
    rhythm = MusicRhythm(duration=30.0, steady=True, tempo=120.0, meter=4, beats=beats, downbeats=beats[::4],
                         sections=np.array([0.0, 8.0, 16.0]), ending=28.0)
    cuts = VideoRhythm(duration=12.0, cuts=np.array([2.0, 5.5, 9.1]), cut_confidence=np.ones(3, np.float32))
    sheet = CueSheet((Cue(str(song), "Song", 0.0, 12.0, 6.0),), crossfade=0.0, fade_in=0.0, fade_out=0.0)
    tl = build_timeline(video, sheet, MixSettings(duck=False), np.zeros((0, 2)), {str(song): rhythm}, cuts)
    out = write_otio(tl, tmp_path / "edit.otio")
    back = otio.adapters.read_from_file(str(out))
    footage = [c for c in back.tracks[0] if isinstance(c, otio.schema.Clip)][0]
    cut_marks = [m.marked_range.start_time.to_seconds() for m in footage.markers if m.name == "cut"]
    assert np.allclose(cut_marks, [2.0, 5.5, 9.1], atol=0.06)
    music = [c for c in back.tracks[1] if isinstance(c, otio.schema.Clip)][0]
    downs = sorted(m.marked_range.start_time.to_seconds() for m in music.markers if m.name == "downbeat")
    # the clip plays the track from 6.0 s for 12 s: its downbeats 6, 8, ..., 16 in source time
    assert np.allclose(downs, np.arange(6.0, 18.0, 2.0), atol=0.06)
    sections = sorted((m.name, round(m.marked_range.start_time.to_seconds(), 1)) for m in music.markers
                      if m.name.startswith("section"))
    assert sections == [("section 2", 8.0), ("section 3", 16.0)]


def test_a_track_without_a_steady_beat_gets_no_made_up_markers(tmp_path):
    from engine.mix.cuesheet import Cue, CueSheet
    from engine.mix.otio import build_timeline
    from engine.rhythm.music import MusicRhythm
    from training.synthmedia import write_audio, write_video

    video = write_video(tmp_path / "v.mp4", 6.0, size=(96, 54), fps=10, gop=10, audio=False)
    song = write_audio(tmp_path / "pad.wav", duration=10.0)
    ambient = MusicRhythm(duration=10.0, steady=False, tempo=None)
    sheet = CueSheet((Cue(str(song), "Pad", 0.0, 6.0, 0.0),), crossfade=0.0)
    tl = build_timeline(video, sheet, None, None, {str(song): ambient}, None)
    assert all(not c.markers for c in tl.tracks[1] if hasattr(c, "markers"))
