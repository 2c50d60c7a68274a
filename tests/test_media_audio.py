import numpy as np
import pytest
from conftest import dominant_hz

from engine.media.audio import decode_audio, iter_audio
from engine.media.probe import probe


def test_decode_to_mono_16k(song_steps):
    x = decode_audio(song_steps, 16000)
    assert x.dtype == np.float32 and x.ndim == 1
    assert x.size == pytest.approx(30 * 16000, abs=200)
    assert dominant_hz(x[16000 * 1: 16000 * 4], 16000) == pytest.approx(200, abs=3)
    assert dominant_hz(x[16000 * 26: 16000 * 29], 16000) == pytest.approx(700, abs=3)


def test_window_from_start(song_steps):
    x = decode_audio(song_steps, 22050, start=12.0, duration=2.0)
    assert x.size == 2 * 22050
    assert dominant_hz(x, 22050) == pytest.approx(400, abs=3)  # 10-15 s is the 400 Hz step


def test_chunks_are_bounded(song_steps):
    sizes = [c.size for c in iter_audio(song_steps, 16000)]
    assert len(sizes) > 10 and max(sizes) < 16000  # streamed, never the whole file at once
    assert sum(sizes) == pytest.approx(30 * 16000, abs=200)


def test_audio_from_video(video_mp4):
    x = decode_audio(video_mp4, 16000)
    assert x.size == pytest.approx(probe(video_mp4).duration * 16000, rel=0.01)
    assert dominant_hz(x[:32000], 16000) == pytest.approx(440, abs=3)


def test_truncated_audio_returns_readable_part(tmp_path, song_steps):
    from engine.media import CorruptMedia
    from training.synthmedia import write_audio

    mp3 = write_audio(tmp_path / "s.mp3", duration=20.0)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(mp3.read_bytes()[: mp3.stat().st_size // 2])
    x = decode_audio(cut, 16000)
    assert 5 * 16000 < x.size < 15 * 16000
    # Garbage in the middle of a FLAC: frames after it are still found (resync), or a clear error.
    data = bytearray(song_steps.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 20000] = bytes(20000)
    bad = tmp_path / "bad.flac"
    bad.write_bytes(bytes(data))
    try:
        y = decode_audio(bad, 16000)
        assert y.size > 10 * 16000
    except CorruptMedia as e:
        assert e.decoded_seconds > 5


def test_layout_switching_mid_stream_decodes_whole(tmp_path):
    """Issue 13: a stream that changes from mono to stereo (joined ADTS/HE-AAC, broadcast
    2.0 <-> 5.1) was refused ("Frame does not match AudioResampler setup"); the resampler is
    re-created where the frames change."""
    import av

    from engine.media.audio import decode_audio_channels
    from training.synthmedia import encode_audio

    def adts(path, layout, freq, sr=44100, seconds=2.0):
        with av.open(str(path), "w", format="adts") as c:
            s = c.add_stream("aac", rate=sr)
            s.layout = layout
            t = np.arange(int(seconds * sr)) / sr
            x = np.repeat((0.3 * np.sin(2 * np.pi * freq * t))[None], len(s.layout.channels), 0).astype(np.float32)
            encode_audio(c, s, x, sr)
        return path.read_bytes()

    joined = tmp_path / "joined.aac"
    joined.write_bytes(adts(tmp_path / "a.aac", "mono", 300) + adts(tmp_path / "b.aac", "stereo", 500))
    mono = decode_audio(joined, 16000)
    assert mono.size / 16000 == pytest.approx(4.0, abs=0.15)
    st = decode_audio_channels(joined, 48000)
    assert st.shape[0] == 2 and st.shape[1] / 48000 == pytest.approx(4.0, abs=0.15)
    assert np.abs(st[:, 48000 * 3:48000 * 3 + 4800]).max(axis=1).min() > 0.1  # the stereo half, both sides


def test_vorbis_that_ffmpeg_refuses_is_read_by_libsndfile(tmp_path):
    """Real Ogg Vorbis tracks with their headers written twice (HyperRogue's soundtrack,
    libVorbis 1.3.1) play everywhere but FFmpeg refuses them; the library called them damaged.
    libsndfile reads them: probe, decode, a window, stereo kept, tags kept."""
    from media_support import write_vorbis_with_repeated_headers

    from engine.media import MediaError, NotMediaError
    from engine.media.audio import decode_audio_channels
    from engine.media.container import open_media

    ogg = write_vorbis_with_repeated_headers(tmp_path / "twice.ogg", (440.0, 660.0), seconds=5.0)
    try:
        with open_media(ogg):
            pytest.skip("this FFmpeg opens Ogg files with repeated headers; nothing to fall back from")
    except NotMediaError:
        pass
    info = probe(ogg)
    assert info.container.endswith("(libsndfile)") and info.video is None
    assert info.duration == pytest.approx(5.0, abs=0.01)
    assert (info.audio.channels, info.audio.sample_rate, info.title) == (2, 44100, "Twice")
    x = decode_audio_channels(ogg, 48000)
    assert x.shape[0] == 2 and x.shape[1] == pytest.approx(5 * 48000, abs=50)
    assert dominant_hz(x[0], 48000) == pytest.approx(440, abs=3)
    assert dominant_hz(x[1], 48000) == pytest.approx(660, abs=3)
    w = decode_audio(ogg, 16000, start=2.0, duration=1.5)
    assert w.size == 24000 and dominant_hz(w, 16000) in (pytest.approx(440, abs=3), pytest.approx(660, abs=3))
    assert np.abs(w).max() > 0.1
    # What neither decoder reads still gets the clear "damaged" error.
    junk = tmp_path / "junk.ogg"
    junk.write_bytes(b"these are my notes, not a song\n" * 200)
    for read in (probe, lambda p: decode_audio(p, 16000)):
        with pytest.raises(MediaError, match="damaged|truncated"):
            read(junk)


def test_audition_plays_a_decoded_excerpt_only_where_ffmpeg_refuses(tmp_path, monkeypatch):
    """The app's player decodes with FFmpeg: a track only libsndfile reads is auditioned from
    a WAV of the window asked for (kept, reused, the oldest pruned); any other file as it is."""
    import soundfile
    from media_support import write_vorbis_with_repeated_headers

    import engine.media.playable as playable
    from engine.media import MediaError
    from engine.media.playable import ffmpeg_plays, playable_audio
    from training.synthmedia import write_audio

    ogg = write_vorbis_with_repeated_headers(tmp_path / "twice.ogg", (440.0, 660.0), seconds=5.0)
    if ffmpeg_plays(ogg):
        pytest.skip("this FFmpeg opens Ogg files with repeated headers; nothing to work around")
    plain = write_audio(tmp_path / "plain.flac", duration=4.0, freq=330.0)
    cache = tmp_path / "auditions"
    assert playable_audio(plain, 1.5, 2.0, cache) == (str(plain), 1.5) and not cache.exists()

    wav, start = playable_audio(ogg, 2.0, 1.5, cache)
    assert start == 0.0 and wav.endswith(".wav") and ffmpeg_plays(wav)
    x, sr = soundfile.read(wav, always_2d=True)  # [N, 2]
    assert sr == 48000 and x.shape == (72000, 2)
    assert dominant_hz(x[:, 0], sr) == pytest.approx(440, abs=3)
    assert dominant_hz(x[:, 1], sr) == pytest.approx(660, abs=3)
    monkeypatch.setattr(playable, "decode_audio_channels", lambda *a, **k: pytest.fail("decoded again"))
    assert playable_audio(ogg, 2.0, 1.5, cache) == (wav, 0.0)
    monkeypatch.undo()

    monkeypatch.setattr(playable, "KEEP_EXCERPTS", 2)
    for s in (0.0, 1.0, 3.0):
        playable_audio(ogg, s, 0.5, cache)
    assert len(list(cache.glob("*.wav"))) == 2 and not list(cache.glob(".*partial"))
    junk = tmp_path / "junk.ogg"
    junk.write_bytes(b"these are my notes, not a song\n" * 200)
    with pytest.raises(MediaError, match="damaged|truncated"):
        playable_audio(junk, 0.0, 1.0, cache)
