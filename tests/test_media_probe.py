from pathlib import Path

import av
import numpy as np
import pytest

from engine.media import (
    MediaFileMissing,
    MediaTooLarge,
    NoAudioStream,
    NotMediaError,
    NoVideoStream,
)
from engine.media.audio import decode_audio
from engine.media.frames import sample_frames
from engine.media.grid import SegmentGrid
from engine.media.probe import probe
from training.synthmedia import write_audio, write_video


def test_probe_h264_aac(video_mp4):
    info = probe(video_mp4)
    assert info.container.startswith("mov")
    assert info.duration == pytest.approx(20.0, abs=0.1)
    assert (info.video.width, info.video.height) == (320, 180)
    assert info.video.fps == pytest.approx(25.0)
    assert info.video.codec == "h264" and not info.video.vfr
    assert info.video.frame_count == 500
    assert info.video.keyframe_interval == pytest.approx(1.0)
    assert info.audio.sample_rate == 44100 and info.audio.channels == 2


def test_probe_video_without_audio(video_long_gop):
    info = probe(video_long_gop)
    assert info.audio is None and info.video is not None
    with pytest.raises(NoAudioStream, match="no audio"):
        decode_audio(video_long_gop)


@pytest.mark.parametrize("ext", ["mp3", "m4a", "ogg", "opus", "flac", "wav", "aiff"])
def test_audio_only_formats(tmp_path, ext):
    path = write_audio(tmp_path / f"song.{ext}", duration=2.0, freq=440.0, tags={"title": "Song Ü", "artist": "Ärtist"})
    info = probe(path)
    assert info.video is None and info.audio is not None
    assert info.duration == pytest.approx(2.0, abs=0.1)
    if ext != "aiff":  # FFmpeg's AIFF muxer writes no artist tag
        assert info.title == "Song Ü" and info.artist == "Ärtist"
    with pytest.raises(NoVideoStream):
        list(sample_frames(path, SegmentGrid(info.duration, 6.7)))


def test_variable_frame_rate(tmp_path):
    path = write_video(tmp_path / "vfr.mkv", 6.0, fps=25, vfr=True, audio=False)
    info = probe(path)
    assert info.duration == pytest.approx(6.0, abs=1.0)
    segs = list(sample_frames(path, SegmentGrid(info.duration, 2.0), per_segment=2, short_side=32))
    assert len(segs) == len(SegmentGrid(info.duration, 2.0))
    times = np.concatenate([s.times for s in segs])
    assert np.all(np.diff(times) >= 0)


def test_rotated_video_frames_are_upright(tmp_path):
    w, h = 64, 32

    def marked(i):  # a white block in the top-left corner of a black landscape picture
        img = np.zeros((h, w, 3), np.uint8)
        img[:8, :8] = 255
        return img

    path = write_video(tmp_path / "rot.mp4", 1.0, size=(w, h), fps=10, rotation=90, frames_fn=marked, audio=False)
    info = probe(path)
    assert info.video.rotation == 90
    assert info.video.display_size == (h, w)
    frame = next(sample_frames(path, SegmentGrid(info.duration, 1.0), per_segment=1, short_side=None)).frames[0]
    assert frame.shape[:2] == (w, h)  # portrait now
    # 90° counter-clockwise moves the top-left corner to the bottom-left.
    assert frame[-4:, :4].mean() > 200 and frame[:4, :4].mean() < 50


def test_odd_size_and_shorter_than_one_segment(tmp_path):
    path = write_video(tmp_path / "odd.mkv", 1.5, size=(17, 9), fps=10, codec="mpeg4", audio=True)
    info = probe(path)
    assert (info.video.width, info.video.height) == (17, 9)
    grid = SegmentGrid(info.duration, 6.7)
    segs = list(sample_frames(path, grid, per_segment=2, short_side=18))
    assert len(segs) == 1
    assert segs[0].frames.shape == (2, 18, 34, 3)


def test_truncated_video_reads_what_it_can(video_mp4, tmp_path):
    from engine.media import CorruptMedia, MediaError

    data = video_mp4.read_bytes()
    path = tmp_path / "trunc.mp4"
    path.write_bytes(data[: len(data) // 2])
    # Our writer puts the MP4 index at the end: half a file has no index and cannot be opened.
    with pytest.raises(MediaError):
        probe(path)
    # A streamable container (MPEG-TS) truncated half-way decodes its first half.
    ts = write_video(tmp_path / "full.ts", 20.0, size=(160, 90), fps=25, gop=25, audio=False)
    cut = tmp_path / "cut.ts"
    cut.write_bytes(ts.read_bytes()[: ts.stat().st_size // 2])
    grid = SegmentGrid(20.0, 5.0)
    got = []
    with pytest.raises(CorruptMedia, match="ends at|stops decoding") as err:
        for seg in sample_frames(cut, grid, per_segment=1, short_side=32):
            got.append(seg.index)
    assert got and got == list(range(len(got))) and len(got) < len(grid)
    assert 0 < err.value.decoded_seconds < 20.0


def test_random_bytes_with_media_extension(tmp_path):
    path = tmp_path / "song.mp3"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(NotMediaError):
        probe(path)


def test_disguised_concat_list_is_refused(tmp_path, video_mp4):
    """A text file named .mp3 that FFmpeg would open as a concat list of another file."""
    path = tmp_path / "song.mp3"
    path.write_text(f"ffconcat version 1.0\nfile '{video_mp4}'\n")
    with pytest.raises(NotMediaError, match="playlist"):
        probe(path)
    with pytest.raises(NotMediaError):
        decode_audio(path)


def test_protocol_in_name_is_a_plain_file(tmp_path, video_mp4):
    weird = tmp_path / "concat:a.mp4"
    weird.write_bytes(video_mp4.read_bytes())
    assert probe(weird).video is not None


def test_empty_missing_and_folder(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(NotMediaError, match="empty"):
        probe(empty)
    with pytest.raises(MediaFileMissing, match="not found"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(MediaFileMissing, match="folder"):
        probe(tmp_path)


def test_huge_frame_is_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.mkv"
    with av.open(str(path), "w") as c:  # one 10000×10000 grey intra frame
        s = c.add_stream("mjpeg", rate=1)
        s.width = s.height = 10000
        s.pix_fmt = "yuvj420p"
        frame = av.VideoFrame(10000, 10000, "yuvj420p")
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
    with pytest.raises(MediaTooLarge, match="10000×10000"):
        probe(path)


def test_non_utf8_tags_are_replaced(tmp_path, video_mp4):
    """A Latin-1 title in an MP3 ID3v1 tag must not raise."""
    path = write_audio(tmp_path / "latin.mp3", duration=1.0)
    data = bytearray(path.read_bytes())
    tag = bytearray(b"TAG" + "Caf\xe9 \xff\xfe".encode("latin-1").ljust(30, b"\0") + b"\0" * 95)
    path.write_bytes(bytes(data + tag))
    info = probe(path)
    assert isinstance(info.title, str)


def test_unreadable_file(tmp_path, video_mp4):
    import os

    path = tmp_path / "locked.mp4"
    path.write_bytes(Path(video_mp4).read_bytes())
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads everything
        pytest.skip("running as root: permissions are not enforced")
    from engine.media import MediaUnreadable

    with pytest.raises(MediaUnreadable, match="permission"):
        probe(path)
