"""The one analysis pass (issue 13): scenes stream in, one decode feeds every consumer, a
re-opened file comes from the cache, a file opens without a model, audio whose layout
changes mid-stream decodes, and a failed atomic write keeps the old file."""

from __future__ import annotations

import av
import numpy as np
import pytest

from engine.jobs import run


def _drive(job):
    events = []
    while True:
        try:
            events.append(next(job))
        except StopIteration as stop:
            return events, stop.value


def test_scenes_stream_in_then_the_cache_answers(world, tmp_path, monkeypatch):
    from gui_support import fresh_video

    from engine.analysis import PartialAnalysis, pipeline
    from engine.recommend import analyse_video, recommend_segments

    monkeypatch.setattr(pipeline, "PARTIAL_EVERY", 0.0)  # every batch of scenes, for the test
    monkeypatch.setattr(pipeline, "PARTIAL_SHARE", 0.0)
    s = world["session"]
    video = fresh_video(tmp_path, 0.3, seconds=12.0)  # 6 scenes of 2 s in this world
    events, a = _drive(analyse_video(s, video))
    parts = [e.data for e in events if isinstance(e.data, PartialAnalysis)]
    T = len(a)
    assert T == 6 and len(parts) >= T - 2  # one per scene read (the last one is the final result)
    assert [p.done for p in parts] == sorted(p.done for p in parts) and parts[0].done < T
    for p in parts:
        assert p.embeddings.shape == (p.done, a.embeddings.shape[1]) and p.total == T
        assert np.allclose(p.starts, a.starts[:p.done]) and len(p.thumbnails) == p.done
        assert np.allclose(np.linalg.norm(p.embeddings, axis=1), 1.0, atol=1e-4)
        # provisional lists come from the same search as the final ones
        rows = recommend_segments(s, p, k=2)
        assert len(rows) == p.done and all(len(r) == 2 for r in rows)
    # with all scenes in, the provisional vectors are close to the final (context changes them a little)
    assert float(np.mean(np.sum(parts[-1].embeddings * a.embeddings[:parts[-1].done], axis=1))) > 0.5
    events2, b = _drive(analyse_video(s, video))
    assert any(e.message == "from cache" for e in events2)
    assert np.array_equal(a.embeddings, b.embeddings) and len(b.thumbnails) == T
    assert not any(isinstance(e.data, PartialAnalysis) for e in events2)


def test_the_tap_sees_every_frame_of_the_one_decode(tmp_path):
    from engine.media.frames import sample_frames
    from engine.media.grid import SegmentGrid
    from engine.media.probe import probe
    from training.synthmedia import write_video

    video = write_video(tmp_path / "v.mp4", 7.3, size=(128, 72), fps=12, gop=48, audio=False)
    with av.open(str(video)) as c:
        all_times = [float(f.time) for f in c.decode(video=0)]
    seen: list[tuple[float, tuple]] = []
    grid = SegmentGrid(probe(video).duration, 2.0)
    segs = list(sample_frames(video, grid, per_segment=3, short_side=64,
                              tap=lambda t, img: seen.append((t, img.shape)), tap_short_side=24))
    assert len(segs) == len(grid)
    assert [t for t, _ in seen] == pytest.approx(all_times)  # every frame once, in order, none skipped
    assert {shape for _, shape in seen} == {(24, 43, 3)}
    for seg in segs:  # the picks are the same frames the plain pass picks
        assert seg.frames.shape[1:] == (64, 114, 3)


def test_footage_opens_without_a_model(tmp_path):
    from engine.recommend import analyse_video, best_soundtracks, recommend_segments
    from engine.session import EngineSession
    from engine.settings import EngineSettings
    from training.synthmedia import write_video

    video = write_video(tmp_path / "clip.mp4", 12.0, size=(96, 54), fps=10, gop=10, audio=False)  # 2 scenes
    s = EngineSession(EngineSettings(data_dir=str(tmp_path / "data"), checkpoint=None))
    try:
        assert not s.has_model
        a = run(analyse_video(s, video))
        assert not a.has_model and len(a) == 2 and len(a.thumbnails) == 2 and a.checkpoint_id == ""
        assert recommend_segments(s, a, k=3) == [[], []] and best_soundtracks(s, a, k=3) == []
    finally:
        s.close()


def _mp3(path, channels: int, seconds: float, freq: float) -> bytes:
    from training.synthmedia import encode_audio

    rate = 44100
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w", format="mp3") as c:
        st = c.add_stream("libmp3lame", rate=rate)
        st.layout = layout
        t = np.arange(int(seconds * rate)) / rate
        x = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
        encode_audio(c, st, np.tile(x, (channels, 1)), rate)
    return path.read_bytes()


def test_audio_whose_layout_changes_mid_stream_decodes_whole(tmp_path):
    """A joined MP3 (mono, then stereo) used to fail with 'Frame does not match
    AudioResampler setup'; FFmpeg decodes it whole, and so do we."""
    from engine.media.audio import decode_audio

    joined = tmp_path / "joined.mp3"
    joined.write_bytes(_mp3(tmp_path / "a.mp3", 1, 3.0, 440.0) + _mp3(tmp_path / "b.mp3", 2, 3.0, 660.0))
    x = decode_audio(joined, 16000)
    assert 5.8 < x.size / 16000 < 6.3
    first, second = x[8000:40000], x[56000:88000]  # the middle of each half

    def hz(y):
        spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
        return np.fft.rfftfreq(y.size, 1 / 16000)[int(np.argmax(spec))]

    assert abs(hz(first) - 440) < 5 and abs(hz(second) - 660) < 5


def test_a_failed_atomic_write_keeps_the_old_file(tmp_path):
    from engine.atomic import atomic_path, atomic_write_text

    target = tmp_path / "settings.json"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full, say")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["settings.json"]
    atomic_write_text(target, "new")
    assert target.read_text() == "new"


def test_prefetch_keeps_order_passes_errors_and_stops_when_closed():
    import threading

    from engine.analysis.prefetch import prefetch

    assert list(prefetch(iter(range(50)), depth=3)) == list(range(50))

    def broken():
        yield 1
        raise ValueError("stream stops decoding")

    it = prefetch(broken())
    assert next(it) == 1
    with pytest.raises(ValueError, match="stops decoding"):
        next(it)
    made = []

    def endless():
        i = 0
        while True:
            made.append(i)
            yield i
            i += 1

    it = prefetch(endless(), depth=2)
    assert [next(it) for _ in range(5)] == [0, 1, 2, 3, 4]
    it.close()  # a cancel: the decoder thread stops, having run at most a few items ahead
    assert not any(t.name == "mvpt-decode" and t.is_alive() for t in threading.enumerate())
    assert len(made) <= 5 + 2 + 2


def _talking_video(path, seconds: float = 10.0):
    """Small footage whose sound speaks at 2-5 s and 7-9 s (speech-like, generated in code)."""
    from test_mix_speech import speechlike

    from training.synthmedia import _frame_rgb, encode_audio

    sr = 16000
    x = np.zeros(int(seconds * sr), np.float32)
    x[2 * sr:5 * sr] = speechlike(3.0)
    x[7 * sr:9 * sr] = speechlike(2.0, seed=1)
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=12, options={"preset": "ultrafast", "g": "24"})
        vs.width, vs.height, vs.pix_fmt = 64, 36, "yuv420p"
        aus = c.add_stream("aac", rate=44100)
        aus.layout = "stereo"
        for i in range(int(seconds * 12)):
            f = av.VideoFrame.from_ndarray(_frame_rgb(i, 12, 64, 36), format="rgb24")
            f.pts = i
            for pkt in vs.encode(f):
                c.mux(pkt)
        for pkt in vs.encode():
            c.mux(pkt)
        encode_audio(c, aus, np.tile(x, (2, 1)), sr)
    return path


def test_speech_is_heard_after_the_pass_and_stored_with_the_analysis(tmp_path, monkeypatch):
    """The pass does not listen (the suggestions do not need the sound); add_speech hears the
    sound as it is decoded, region for region what the detector finds on the whole signal,
    and stores the regions with the analysis, so the next open has them without listening."""
    from engine.analysis import add_speech, speech_regions
    from engine.media.audio import iter_audio
    from engine.mix import speech
    from engine.recommend import analyse_video
    from engine.session import EngineSession
    from engine.settings import EngineSettings

    video = _talking_video(tmp_path / "talk.mp4")
    s = EngineSession(EngineSettings(data_dir=str(tmp_path / "data"), checkpoint=None))
    try:
        pushed = []
        real = speech.SpeechStream.push
        monkeypatch.setattr(speech.SpeechStream, "push", lambda self, x: pushed.append(x.size) or real(self, x))
        a = run(analyse_video(s, video))
        assert a.speech is None and not pushed  # the pass never listened
        events, b = _drive(add_speech(s, a))
        assert events and {e.stage for e in events} == {"speech"}
        assert len(pushed) >= 10 and max(pushed) < 2 * speech.VAD_RATE  # streamed, about a second a time
        on = lambda t: any(x <= t <= y for x, y in b.speech)  # noqa: E731
        assert on(3.5) and on(8.0) and not on(1.0) and not on(6.0)
        whole = np.concatenate(list(iter_audio(video, speech.VAD_RATE)))
        assert np.array_equal(b.speech, speech.detect_speech(whole, speech.VAD_RATE))  # bit for bit
        assert np.array_equal(run(speech_regions(video)), b.speech)
        assert np.array_equal(b.embeddings, a.embeddings) and b.video_rhythm == a.video_rhythm
        pushed.clear()
        c = run(analyse_video(s, video))  # re-opened: from the cache, speech included
        assert c.speech == pytest.approx(b.speech) and run(add_speech(s, c)) is c and not pushed
    finally:
        s.close()


def test_a_failing_or_cancelled_hearing_keeps_the_stored_analysis(tmp_path, monkeypatch):
    from engine.analysis import add_speech
    from engine.jobs import Cancelled
    from engine.mix import speech
    from engine.recommend import analyse_video
    from engine.session import EngineSession
    from engine.settings import EngineSettings

    video = _talking_video(tmp_path / "talk.mp4")
    s = EngineSession(EngineSettings(data_dir=str(tmp_path / "data"), checkpoint=None))
    try:
        a = run(analyse_video(s, video))
        stored = sorted((tmp_path / "data" / "analyses").glob("*.npz"))
        before = [p.read_bytes() for p in stored]

        def broken(*args, **kwargs):
            raise RuntimeError("detector broke")

        with monkeypatch.context() as m:
            m.setattr(speech.SpeechStream, "push", broken)
            with pytest.raises(RuntimeError, match="detector broke"):
                run(add_speech(s, a))
        with pytest.raises(Cancelled):
            run(add_speech(s, a, cancel=lambda: True))
        assert [p.read_bytes() for p in stored] == before  # the stored analysis is as it was
        assert run(analyse_video(s, video)).speech is None
    finally:
        s.close()


def test_a_sound_track_that_breaks_part_way_is_heard_as_far_as_it_goes(tmp_path, caplog, monkeypatch):
    """Speech is heard up to where the sound stops decoding, with a warning; a sound that
    cannot be decoded at all is an error that says so."""
    from engine.analysis import speech_regions
    from engine.media import CorruptMedia
    from engine.media import audio as media_audio

    video = _talking_video(tmp_path / "talk.mp4")
    real = media_audio.iter_audio

    def breaks_after(seconds):
        def it(path, rate, **kw):
            n = 0
            for piece in real(path, rate, **kw):
                if n >= seconds * rate:
                    raise CorruptMedia(path, "audio stops decoding here")
                n += piece.size
                yield piece
        return it

    monkeypatch.setattr(media_audio, "iter_audio", breaks_after(6.0))
    with caplog.at_level("WARNING"):
        r = run(speech_regions(video))
    assert len(r) >= 1 and r[0, 0] < 3.5 < r[0, 1] and r.max() <= 6.5  # the first words, none after
    assert "heard in the first" in caplog.text
    monkeypatch.setattr(media_audio, "iter_audio", breaks_after(0.0))
    with pytest.raises(CorruptMedia):
        run(speech_regions(video))


def test_provisional_updates_reread_only_the_last_context_lengths():
    """A provisional update sends only the last PROVISIONAL_TAIL x L scenes through the model
    again (its cost and its memory stay flat in the duration); the scenes before keep what the
    last update gave them, and every row has a value."""
    from types import SimpleNamespace

    from engine.analysis import pipeline

    calls: list[int] = []

    def encode(modality, f):  # [n, 1]: each scene sums itself and the one before it (context)
        calls.append(f.shape[0])
        return SimpleNamespace(segments=f + np.concatenate([f[:1] * 0, f[:-1]]))

    loaded = SimpleNamespace(config=SimpleNamespace(seq_len=3), encode=encode)
    feats = np.arange(1, 41, dtype=np.float32)[:, None]  # [40, 1]
    shown = np.zeros((0, 0), np.float32)
    for n in (5, 12, 20, 33, 40):
        out = pipeline._provisional(loaded, "visual", feats[:n], shown)
        assert out.shape == (n, 1)
        # rows inside the re-read tail (past its first window) are what the whole prefix gives
        whole = encode("visual", feats[:n]).segments
        calls.pop()
        assert np.array_equal(out[-9:], whole[-9:])
        shown = out
    assert max(calls) <= pipeline.PROVISIONAL_TAIL * 3 + 10 and calls[0] == 5
