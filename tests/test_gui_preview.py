"""Preview (a muxed file played by the Player, the playhead in sync) and export (MP4 whose
audio is the chosen music from its offset, and an .otio that OpenTimelineIO reads back)."""

from __future__ import annotations

import numpy as np
from gui_support import make_window, open_and_wait
from PySide6.QtCore import Qt

from engine.media.audio import decode_audio
from engine.media.probe import probe
from mvpt_desktop.models import ObjectRole


def _choose_offset_suggestion(c, lo: float = 2.0, hi: float = 10.0):
    """The track of a per-scene suggestion whose music starts a few seconds after the footage's
    first frame, as the whole-video pick (one cue over everything) from that offset."""
    from engine.mix.cuesheet import CueSheet

    for i, row in enumerate(c.results.per_segment):
        for r in row:
            offset = r.suggestion.start - c.segment_start(i)
            if lo <= offset <= hi:
                c.set_sheet(CueSheet.whole(r.suggestion.path, r.name, c.current.analysis.duration, offset))
                return c.sheet.cues[0], r
    raise AssertionError("no suggestion with an offset")


def test_preview_loads_plays_and_moves_the_playhead(qtbot, world, tmp_path):
    w = make_window(qtbot, world)
    c = w.controller
    assert w.player.available, w.player.unavailable_reason
    open_and_wait(qtbot, w, world["footage"] / "video_5.mp4")
    assert c.choice is not None
    with qtbot.waitSignal(c.previewReady, timeout=60_000) as blocker:
        qtbot.keyClick(w, Qt.Key.Key_Space)  # space: play (the preview is made first)
    preview = blocker.args[0]
    info = probe(preview)
    assert info.video is not None and info.audio is not None
    qtbot.waitUntil(lambda: w.player.is_playing, timeout=20_000)
    qtbot.waitUntil(lambda: w.player.position > 400, timeout=20_000)
    assert w.player.source == preview
    qtbot.waitUntil(lambda: abs(w.timeline.playhead - w.player.position / 1000) < 0.5, timeout=5000)
    assert w.timeline.playhead > 0.2
    qtbot.waitUntil(lambda: w.video.has_image, timeout=10_000)
    qtbot.keyClick(w, Qt.Key.Key_Space)  # pause
    qtbot.waitUntil(lambda: not w.player.is_playing, timeout=5000)
    # clicking a scene seeks the player there
    w.timeline.click_segment(7)
    qtbot.waitUntil(lambda: abs(w.player.position - 14_000) < 300, timeout=5000)
    assert w.timeline.playhead == c.segment_start(7)
    # an audition plays a few seconds of a suggested music segment from its start
    row = w.suggestions.scene_model.index(1, 0).data(ObjectRole)
    w.audition_row(row)
    qtbot.waitUntil(lambda: w.audition.is_playing, timeout=10_000)
    assert w.audition.source == row.suggestion.path
    qtbot.waitUntil(lambda: w.audition.position >= row.suggestion.start * 1000 + 100, timeout=10_000)
    assert w.audition.position < (row.suggestion.start + c.gui.audition_seconds + 1) * 1000
    # a track the player's FFmpeg refuses (headers written twice) is auditioned from a decoded excerpt
    from media_support import write_vorbis_with_repeated_headers

    from engine.media.playable import ffmpeg_plays

    ogg = write_vorbis_with_repeated_headers(tmp_path / "twice.ogg", (440.0, 660.0), seconds=6.0)
    with qtbot.waitSignal(c.auditionReady, timeout=20_000) as ready:
        c.prepare_audition(str(ogg), 2.0, 3.0)
    qtbot.waitUntil(lambda: w.audition.is_playing, timeout=10_000)
    refused = not ffmpeg_plays(ogg)
    assert w.audition.source == ready.args[0] and w.audition.source.endswith(".wav") == refused
    assert ready.args[1] == (0.0 if refused else 2.0)
    qtbot.waitUntil(lambda: w.audition.position >= 100, timeout=10_000)


def test_export_writes_an_mp4_with_the_music_and_an_otio_timeline(qtbot, world, tmp_path):
    import opentimelineio as otio

    w = make_window(qtbot, world, fade_in=0.5, fade_out=1.0)
    c = w.controller
    assert w.export_action.shortcut().toString() == "Ctrl+E"
    video = world["footage"] / "video_0.mp4"
    open_and_wait(qtbot, w, video)
    choice, row = _choose_offset_suggestion(c)
    mp4 = tmp_path / "out" / "video_0 + music.mp4"
    with qtbot.waitSignal(c.exported, timeout=60_000) as blocker:
        w.export(str(mp4))
    result = blocker.args[0]
    assert result.mp4 == mp4 and result.otio == mp4.with_suffix(".otio")
    vin, out = probe(video), probe(mp4)
    assert out.video is not None and out.audio is not None and abs(out.duration - vin.duration) < 0.2
    # the exported sound is the chosen music from its offset (between the fades)
    sr = 16000
    got = decode_audio(mp4, sr)
    want = decode_audio(choice.music_path, sr, start=choice.in_point, duration=vin.duration)
    a, b = int(1.0 * sr), int((min(vin.duration, want.size / sr) - 1.5) * sr)
    assert b - a > 5 * sr
    corr = np.corrcoef(got[a:b], want[a:b])[0, 1]
    assert corr > 0.9, corr
    shifted = decode_audio(choice.music_path, sr, start=choice.in_point + 1.0, duration=vin.duration + 1.0)
    assert np.corrcoef(got[a:b], shifted[a:b])[0, 1] < corr - 0.2  # the offset matters
    # the timeline, read back
    tl = otio.adapters.read_from_file(str(result.otio))
    vtrack, atrack = tl.tracks[0], tl.tracks[1]
    assert vtrack.kind == otio.schema.TrackKind.Video and atrack.kind == otio.schema.TrackKind.Audio
    vclip, aclip = vtrack[0], atrack[0]
    assert vclip.media_reference.target_url.endswith("video_0.mp4")
    assert vclip.source_range.start_time.to_seconds() == 0
    assert abs(vclip.source_range.duration.to_seconds() - vin.duration) < 0.05
    assert aclip.media_reference.target_url.endswith(row.suggestion.path.rsplit("/", 1)[-1])
    assert abs(aclip.source_range.start_time.to_seconds() - choice.in_point) < 1e-3
    assert abs(aclip.source_range.duration.to_seconds()
               - min(vin.duration, probe(choice.music_path).duration - choice.in_point)) < 0.05
    assert abs(tl.duration().to_seconds() - vin.duration) < 0.05
