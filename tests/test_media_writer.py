import os
import subprocess

import numpy as np
import pytest
from conftest import dominant_hz

from engine.jobs import Cancelled, run
from engine.media import NoVideoStream, OutputError
from engine.media.audio import decode_audio, decode_audio_channels
from engine.media.frames import sample_frames
from engine.media.grid import SegmentGrid
from engine.media.probe import probe
from engine.media.writer import SoundtrackSpec, write_with_soundtrack


def test_export_has_the_music_from_its_offset(video_mp4, song_steps, tmp_path):
    out = tmp_path / "export.mp4"
    spec = SoundtrackSpec(str(song_steps), music_offset=10.0, fade_in=0.5, fade_out=1.0)
    assert run(write_with_soundtrack(video_mp4, spec, out)) == out
    info = probe(out)
    assert info.video.codec == "h264" and info.audio.codec == "aac"
    assert info.duration == pytest.approx(20.0, abs=0.1)
    x = decode_audio(out, 16000)
    # video 0-5 s = song 10-15 s (400 Hz), video 10-15 s = song 20-25 s (600 Hz); not the 440 Hz original
    assert dominant_hz(x[16000 * 1:16000 * 4], 16000) == pytest.approx(400, abs=4)
    assert dominant_hz(x[16000 * 11:16000 * 14], 16000) == pytest.approx(600, abs=4)
    # fades: quiet at the very start and end, full in the middle
    mid = np.abs(x[16000 * 8:16000 * 9]).max()
    assert np.abs(x[:400]).max() < 0.2 * mid
    assert np.abs(x[-800:]).max() < 0.3 * mid
    # the pictures are the original's (stream copy)
    grid = SegmentGrid(20.0, 6.7)
    a = next(sample_frames(video_mp4, grid, 1, 32)).frames
    b = next(sample_frames(out, grid, 1, 32)).frames
    assert np.array_equal(a, b)
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)


def test_keep_original_sound_low(video_mp4, song_steps, tmp_path):
    out = tmp_path / "mix.mp4"
    spec = SoundtrackSpec(str(song_steps), music_offset=0.0, original_level=0.5, fade_in=0, fade_out=0)
    run(write_with_soundtrack(video_mp4, spec, out))
    x = decode_audio(out, 16000)[16000:16000 * 4]
    spec_ = np.abs(np.fft.rfft(x))
    hz = np.fft.rfftfreq(x.size, 1 / 16000)
    assert spec_[np.abs(hz - 200) < 3].max() > 0.1 * spec_.max()  # music
    assert spec_[np.abs(hz - 440) < 3].max() > 0.1 * spec_.max()  # original, kept


def test_music_shorter_than_video_is_silent_after(video_mp4, tmp_path):
    from training.synthmedia import write_audio

    song = write_audio(tmp_path / "short.wav", duration=5.0, freq=300)
    out = tmp_path / "short.mp4"
    run(write_with_soundtrack(video_mp4, SoundtrackSpec(str(song), fade_out=0.5), out))
    x = decode_audio(out, 16000)
    assert np.abs(x[16000 * 7:]).max() < 1e-3 and np.abs(x[16000 * 2:16000 * 3]).max() > 0.1


def test_cancel_leaves_nothing_and_keeps_existing_file(video_mp4, song_steps, tmp_path):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"previous export")
    with pytest.raises(Cancelled):
        run(write_with_soundtrack(video_mp4, SoundtrackSpec(str(song_steps)), out, cancel=lambda: True))
    assert out.read_bytes() == b"previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]


def test_audio_only_input_is_refused(song_steps, tmp_path):
    with pytest.raises(NoVideoStream):
        run(write_with_soundtrack(song_steps, SoundtrackSpec(str(song_steps)), tmp_path / "x.mp4"))


def test_full_disk_gives_clear_error_and_no_half_file(video_mp4, song_steps, tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        (mnt / "old.mp4").write_bytes(b"x" * 1000)
        with pytest.raises(OutputError, match="disk is full"):
            run(write_with_soundtrack(video_mp4, SoundtrackSpec(str(song_steps)), mnt / "old.mp4"))
        assert os.listdir(mnt) == ["old.mp4"]
        assert (mnt / "old.mp4").read_bytes() == b"x" * 1000
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_bug1_stereo_music_stays_stereo(video_mp4, tmp_path):
    """Issue 16, bug 1: stereo music became "aac 48000 Hz, 1 ch". Both writers keep two
    channels, and what differs between left and right survives."""
    from engine.mix.cuesheet import Cue, CueSheet, MixSettings
    from engine.mix.export import export_job
    from training.synthmedia import write_audio

    sr = 44100
    t = np.arange(25 * sr) / sr
    song = write_audio(tmp_path / "lr.flac", np.stack([0.4 * np.sin(2 * np.pi * 300 * t),
                                                       0.4 * np.sin(2 * np.pi * 500 * t)]).astype(np.float32),
                       sample_rate=sr)
    old = run(write_with_soundtrack(video_mp4, SoundtrackSpec(str(song), original_level=0.2), tmp_path / "old.mp4"))
    new = run(export_job(video_mp4, CueSheet((Cue(str(song), "lr", 0, 20, 0),)), MixSettings(),
                         mp4=tmp_path / "new.mp4", speech=np.zeros((0, 2)))).mp4
    for out in (old, new):
        info = probe(out)
        assert info.audio.channels == 2 and info.audio.sample_rate == 48000
        x = decode_audio_channels(out, 48000)[:, 48000 * 3:48000 * 6]
        assert dominant_hz(x[0], 48000) == pytest.approx(300, abs=3)
        assert dominant_hz(x[1], 48000) == pytest.approx(500, abs=3)
