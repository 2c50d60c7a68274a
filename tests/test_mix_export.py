"""The mix rendered and exported (issue 15, issue 16's cue sheet and bug 1): a three-cue
sheet to MP4 and OTIO, ducking, loudness targets, and bad input."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

from engine.jobs import Cancelled, run
from engine.media.audio import decode_audio_channels
from engine.media.probe import probe
from engine.mix.cuesheet import Cue, CueSheet, MixSettings, Piece
from engine.mix.export import export_job, preview_job
from engine.mix.loudness import integrated_loudness, true_peak_db
from engine.mix.render import layout, prepare_mix

SR = 48000
PLAIN = MixSettings(duck=False, original="off", loudness_target=None)
"""No ducking, no footage sound, no normalisation: the music as it is."""


def _stereo_song(path, f_left, f_right, seconds=30.0, sr=44100, amp=0.4):
    from training.synthmedia import write_audio

    t = np.arange(int(seconds * sr)) / sr
    # a pitch glide makes every instant of the track distinct (correlation finds the in-point)
    left = amp * np.sin(2 * np.pi * (f_left * t + 3 * t ** 2))
    right = 0.5 * amp * np.sin(2 * np.pi * (f_right * t + 5 * t ** 2))
    return write_audio(path, np.stack([left, right]).astype(np.float32), sample_rate=sr)


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    d = tmp_path_factory.mktemp("songs")
    return [_stereo_song(d / f"s{i}.flac", f, f * 1.5) for i, f in enumerate((200, 310, 420))]


@pytest.fixture(scope="module")
def silent_video(tmp_path_factory):
    from training.synthmedia import write_video

    return write_video(tmp_path_factory.mktemp("v") / "mute.mp4", 12.0, size=(64, 36), fps=25, gop=25, audio=False)


def _three(songs, duration=20.0):
    return CueSheet((Cue(str(songs[0]), "one", 0.0, 7.0, 4.0), Cue(str(songs[1]), "two", 7.0, 14.0, 10.0),
                     Cue(str(songs[2]), "three", 14.0, duration, 2.0)), crossfade=1.0, fade_in=0.0, fade_out=0.0)


def _corr(a, b):
    return float(np.corrcoef(a, b)[0, 1])


def test_three_cue_sheet_to_mp4_and_otio(video_mp4, songs, tmp_path):
    import opentimelineio as otio

    sheet = _three(songs)
    mp4, tl_path = tmp_path / "three.mp4", tmp_path / "three.otio"
    result = run(export_job(video_mp4, sheet, PLAIN, mp4=mp4, otio=tl_path))
    assert result.mp4 == mp4 and result.otio == tl_path
    info = probe(mp4)
    assert info.audio.channels == 2 and info.audio.sample_rate == SR and info.audio.codec == "aac"
    got = decode_audio_channels(mp4, SR)
    for cue in sheet.cues:  # each range, away from the crossfades, is its track from its in-point
        lo, hi = cue.start + 0.8, cue.end - 0.8
        want = decode_audio_channels(cue.music_path, SR, start=cue.in_point + (lo - cue.start), duration=hi - lo)
        seg = got[:, int(lo * SR):int(lo * SR) + want.shape[1]]
        for ch in (0, 1):
            assert _corr(seg[ch], want[ch, :seg.shape[1]]) > 0.99, (cue.title, ch)
        # left and right stay different (stereo kept, not folded to mono)
        assert _corr(seg[0], seg[1]) < 0.5
    tl = otio.adapters.read_from_file(str(tl_path))
    music = tl.tracks[1]
    clips = [x for x in music if isinstance(x, otio.schema.Clip)]
    trans = [x for x in music if isinstance(x, otio.schema.Transition)]
    assert len(clips) == 3 and len(trans) == 2
    assert [round(c.source_range.start_time.to_seconds(), 3) for c in clips] == [4.0, 10.0, 2.0]
    total = sum(x.source_range.duration.to_seconds() for x in music if not isinstance(x, otio.schema.Transition))
    assert abs(total - probe(video_mp4).duration) < 1e-3
    assert abs(trans[0].in_offset.to_seconds() + trans[0].out_offset.to_seconds() - 1.0) < 1e-3


def test_preview_is_the_export(video_mp4, songs, tmp_path):
    sheet = _three(songs)
    s = MixSettings(loudness_target=-16.0, original="speech")
    speech = np.array([[3.0, 5.0]])
    plan = run(prepare_mix(video_mp4, sheet, s, speech=speech))
    a, b = plan.samples(), plan.samples()  # the render pass gives the same samples every time
    assert a.shape == (2, int(round(probe(video_mp4).duration * SR))) and np.array_equal(a, b)
    p = run(preview_job(video_mp4, sheet, s, out=tmp_path / "p.mp4", speech=speech))
    e = run(export_job(video_mp4, sheet, s, mp4=tmp_path / "e.mp4", speech=speech)).mp4
    assert np.array_equal(decode_audio_channels(p, SR), decode_audio_channels(e, SR))


def test_ducking_lowers_the_music_under_speech_without_clicks(silent_video, songs, tmp_path):
    sheet = CueSheet((Cue(str(songs[0]), "one", 0.0, 12.0, 0.0),), fade_in=0.0, fade_out=0.0)
    speech = np.array([[4.0, 6.0], [6.3, 7.0]])  # a short pause: no pumping
    s = MixSettings(duck=True, duck_depth_db=-12.0, original="off", loudness_target=None)
    x = run(prepare_mix(silent_video, sheet, s, speech=speech)).samples()

    def level(a, b):
        return 10 * np.log10(np.mean(x[:, int(a * SR):int(b * SR)] ** 2))

    outside = level(1.0, 3.0)
    assert level(4.2, 6.8) - outside == pytest.approx(-12.0, abs=0.5)
    assert level(10.0, 11.5) - outside == pytest.approx(0.0, abs=0.5)
    # the pause 6.0-6.3 s stays down (hold)
    assert level(6.05, 6.25) - outside < -11.0
    # the gain changes smoothly: no sample step larger than the music's own
    plain = run(prepare_mix(silent_video, sheet, PLAIN)).samples()
    assert np.abs(np.diff(x, axis=1)).max() <= np.abs(np.diff(plain, axis=1)).max() * 1.01


@pytest.mark.parametrize("target", [-14.0, -23.0])
def test_loudness_target_and_true_peak(video_mp4, songs, tmp_path, target):
    import pyloudnorm

    s = MixSettings(loudness_target=target, original="full", duck=False)
    r = run(export_job(video_mp4, _three(songs), s, mp4=tmp_path / "l.mp4"))
    x = decode_audio_channels(r.mp4, SR)
    assert integrated_loudness(x) == pytest.approx(target, abs=0.5)
    assert pyloudnorm.Meter(SR).integrated_loudness(x.T.astype(np.float64)) == pytest.approx(target, abs=0.5)
    assert true_peak_db(x) <= -1.0 + 0.3  # the AAC encoder may overshoot the limiter's -1.3 a little


def test_clipping_input_is_limited_to_the_ceiling(silent_video, songs, tmp_path):
    from dataclasses import replace

    from training.synthmedia import write_audio

    t = np.arange(12 * 44100) / 44100
    square = (np.sign(np.sin(2 * np.pi * 110 * t)) * (0.5 + 0.5 * ((t % 0.5) < 0.05))).astype(np.float32)
    song = write_audio(tmp_path / "hot.wav", np.stack([square, square]), sample_rate=44100)  # full scale, clipping
    sheet = CueSheet((Cue(str(song), "hot", 0, 12, 0, gain_db=12.0),))
    s = MixSettings(loudness_target=-9.0, original="off")
    plan = run(prepare_mix(silent_video, sheet, s))
    x = plan.samples()
    assert np.isfinite(x).all() and np.abs(x).max() <= 1.0
    assert integrated_loudness(x) == pytest.approx(-9.0, abs=0.5)
    # the encoder's band-limiting and quantisation ring a clipped square over its samples'
    # peaks, most where it crossfades in: the export checks its decoded sound and limits again
    between = CueSheet((Cue(str(songs[0]), "a", 0, 4, 1.0), Cue(str(song), "hot", 4, 8, 2.0),
                        Cue(str(songs[1]), "c", 8, 12, 1.0)))
    hotter = replace(s, loudness_target=-7.0)  # the first encode peaks at -0.3 dBTP, over the ceiling
    r = run(export_job(silent_video, between, hotter, mp4=tmp_path / "hot.mp4", speech=np.array([[5.0, 6.0]])))
    y = decode_audio_channels(r.mp4, SR)
    assert true_peak_db(y) <= -1.0 and r.true_peak_dbtp <= -1.0
    assert integrated_loudness(y) == pytest.approx(-7.0, abs=0.5)


def test_silent_music_is_not_blown_up(silent_video, tmp_path):
    from training.synthmedia import write_audio

    song = write_audio(tmp_path / "silence.wav", np.zeros((2, 44100 * 12), np.float32), sample_rate=44100)
    sheet = CueSheet((Cue(str(song), "silence", 0, 12, 0),))
    r = run(export_job(silent_video, sheet, MixSettings(loudness_target=-14.0), mp4=tmp_path / "s.mp4"))
    x = decode_audio_channels(r.mp4, SR)
    assert np.isfinite(x).all() and np.abs(x).max() < 1e-3
    assert "silent" in r.note and r.gain_db == pytest.approx(0.0)


def _write_51(path, seconds=6.0, sr=48000):
    t = np.arange(int(seconds * sr)) / sr
    x = np.zeros((6, t.size), np.float32)
    x[0] = 0.4 * np.sin(2 * np.pi * 300 * t)  # front left only
    x[1] = 0.4 * np.sin(2 * np.pi * 500 * t)  # front right only
    with av.open(str(path), "w") as c:
        s = c.add_stream("flac", rate=sr)
        s.layout = "5.1"
        s.format = "s16"
        for i in range(0, t.size, 4096):
            f = av.AudioFrame.from_ndarray((x[:, i:i + 4096] * 32767).astype(np.int16), format="s16p", layout="5.1")
            f.sample_rate = sr
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.mark.parametrize("kind", ["mono22050", "stereo44100", "surround51"])
def test_mono_surround_and_odd_rates(silent_video, tmp_path, kind):
    from conftest import dominant_hz

    from training.synthmedia import write_audio

    if kind == "surround51":
        song = _write_51(tmp_path / "s51.flac")
    else:
        sr = 22050 if kind == "mono22050" else 44100
        t = np.arange(6 * sr) / sr
        if kind == "mono22050":
            song = write_audio(tmp_path / "m.wav", (0.4 * np.sin(2 * np.pi * 300 * t))[None].astype(np.float32),
                               sample_rate=sr, channels=1)
        else:
            song = write_audio(tmp_path / "s.wav", np.stack([0.4 * np.sin(2 * np.pi * 300 * t),
                                                             0.4 * np.sin(2 * np.pi * 500 * t)]).astype(np.float32),
                               sample_rate=sr)
    sheet = CueSheet((Cue(str(song), kind, 0, 6, 0),), fade_in=0, fade_out=0)
    x = run(prepare_mix(silent_video, sheet, PLAIN)).samples()
    left, right = x[0, SR:4 * SR], x[1, SR:4 * SR]
    assert dominant_hz(left, SR) == pytest.approx(300, abs=3)
    if kind == "mono22050":
        assert np.allclose(left, right)  # mono on both sides
    else:
        assert dominant_hz(right, SR) == pytest.approx(500, abs=3)
    assert np.abs(x[:, 7 * SR:]).max() == 0.0  # the track is over: silence, no error


def test_footage_without_audio_still_exports_with_ducking_on(silent_video, songs, tmp_path):
    r = run(export_job(silent_video, CueSheet((Cue(str(songs[0]), "a", 0, 12, 0),)), MixSettings(),
                       mp4=tmp_path / "m.mp4"))
    assert probe(r.mp4).audio.channels == 2 and len(r.speech) == 0


def test_cancel_during_export_keeps_the_earlier_export(video_mp4, songs, tmp_path):
    out = tmp_path / "keep.mp4"
    run(export_job(video_mp4, _three(songs), PLAIN, mp4=out))
    before = out.read_bytes()
    def cancel():  # once the new file is being written
        return any(p.name.endswith(".part.mp4") and p.stat().st_size > 0 for p in tmp_path.iterdir())

    with pytest.raises(Cancelled):
        run(export_job(video_mp4, CueSheet((Cue(str(songs[1]), "b", 0, 20, 0),)), PLAIN, mp4=out, cancel=cancel))
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]


def test_pieces_play_their_source_ranges_with_a_crossfade(silent_video, songs, tmp_path):
    pieces = (Piece(2.0, 8.0, 0.0), Piece(15.0, 21.0, 6.0, crossfade=0.5))
    sheet = CueSheet((Cue(str(songs[0]), "re-edit", 0.0, 12.0, 2.0, pieces=pieces),), fade_in=0, fade_out=0)
    x = run(prepare_mix(silent_video, sheet, PLAIN)).samples()
    for at, src in ((1.0, 3.0), (7.0, 16.0)):
        want = decode_audio_channels(songs[0], SR, start=src, duration=3.0)
        assert _corr(x[0, int(at * SR):int(at * SR) + want.shape[1]], want[0]) > 0.99
    segs = layout(sheet, 12.0)
    assert len(segs) == 2 and segs[0].t1 == pytest.approx(6.25) and segs[1].t0 == pytest.approx(5.75)


def test_fades_land_on_downbeats_when_the_rhythm_has_them(songs):
    from engine.rhythm.music import MusicRhythm

    sheet = CueSheet((Cue(str(songs[0]), "a", 0.0, 20.0, 4.0),), fade_in=0.5, fade_out=2.0)
    rhythm = MusicRhythm(duration=30.0, steady=True, tempo=120.0, meter=4,
                         beats=np.arange(0, 30, 0.5), downbeats=np.arange(0.3, 30, 2.0))
    plain = layout(sheet, 20.0)[0]
    beat = layout(sheet, 20.0, {str(songs[0]): rhythm})[0]
    assert plain.ramps[1].a == pytest.approx(18.0)
    # fade-out starts on a downbeat: track time 4 + (a - 0) is one of 0.3 + 2k
    a = beat.ramps[1].a
    assert ((4.0 + a - 0.3) / 2.0) == pytest.approx(round((4.0 + a - 0.3) / 2.0), abs=1e-6)
    assert 16.0 <= a <= 19.0
    unsteady = MusicRhythm(duration=30.0, steady=False, tempo=None)
    assert layout(sheet, 20.0, {str(songs[0]): unsteady})[0].ramps == plain.ramps


def test_cli_export_track_and_cue_sheet(video_mp4, songs, tmp_path, capsys):
    from engine.cli import main

    out, tl = tmp_path / "cli.mp4", tmp_path / "cli.otio"
    assert main(["export", str(video_mp4), str(songs[0]), "--offset", "3", "--out", str(out), "--otio", str(tl),
                 "--no-duck", "--original", "off", "--loudness", "-20", "--no-beats", "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mp4"] == str(out) and report["loudness_lufs"] == pytest.approx(-20, abs=0.3)
    assert probe(out).audio.channels == 2 and tl.is_file()
    sheet = tmp_path / "sheet.json"
    sheet.write_text(_three(songs).to_json())
    out2 = tmp_path / "cues.mp4"
    assert main(["export", str(video_mp4), "--cues", str(sheet), "--out", str(out2), "--loudness", "broadcast",
                 "--no-duck", "--original", "full", "--quiet", "--no-beats"]) == 0
    assert "wrote" in capsys.readouterr().out and out2.is_file()
    assert main(["export", str(video_mp4), "--out", str(out2)]) == 2
    assert main(["export", str(video_mp4), str(tmp_path / "missing.mp3"), "--out", str(out2)]) == 1
    assert "file not found" in capsys.readouterr().err


def test_otio_has_pieces_as_clips_with_transitions_and_speech_markers(silent_video, songs, tmp_path):
    import opentimelineio as otio

    from engine.mix.otio import build_timeline, write_otio

    pieces = (Piece(2.0, 8.0, 0.0), Piece(15.0, 21.0, 6.0, crossfade=0.5))
    sheet = CueSheet((Cue(str(songs[0]), "re-edit", 0.0, 12.0, 2.0, pieces=pieces),))
    speech = np.array([[3.0, 4.5], [8.0, 9.0]])
    path = write_otio(build_timeline(silent_video, sheet, MixSettings(), speech), tmp_path / "p.otio")
    tl = otio.adapters.read_from_file(str(path))
    video, music = tl.tracks
    assert [(m.name, round(m.marked_range.start_time.to_seconds(), 3)) for m in video[0].markers] == [
        ("speech", 3.0), ("speech", 8.0)]
    clips = [x for x in music if isinstance(x, otio.schema.Clip)]
    assert [type(x).__name__ for x in music] == ["Clip", "Transition", "Clip"]
    assert [round(c.source_range.start_time.to_seconds(), 3) for c in clips] == [2.0, 15.0]
    total = sum(x.source_range.duration.to_seconds() for x in clips)
    assert total == pytest.approx(12.0, abs=1e-3)
    orig = video[0].metadata["mvpt"]["volume_keyframes"]
    assert orig[0][1] == pytest.approx(20 * np.log10(MixSettings().original_level)) and max(k[1] for k in orig) == 0.0
    keys = clips[0].metadata["mvpt"]["volume_keyframes"]
    assert keys and all(db in (0.0, MixSettings().duck_depth_db) for _, db in keys)


def test_unknown_original_mode_is_a_clear_error(silent_video, songs):
    with pytest.raises(ValueError, match="full, speech or off"):
        run(prepare_mix(silent_video, CueSheet((Cue(str(songs[0]), "a", 0, 12, 0),)), MixSettings(original="low")))


def test_full_disk_keeps_the_earlier_export_and_says_so(video_mp4, songs, tmp_path):
    import os
    import subprocess

    from engine.media import OutputError

    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        (mnt / "old.mp4").write_bytes(b"x" * 1000)
        with pytest.raises(OutputError, match="disk is full"):
            run(export_job(video_mp4, _three(songs), PLAIN, mp4=mnt / "old.mp4"))
        (mnt / "fill").write_bytes(b"y" * (60 * 1024))
        with pytest.raises(OutputError, match="disk is full"):
            run(export_job(video_mp4, _three(songs), PLAIN, otio=mnt / "t.otio"))
        assert sorted(os.listdir(mnt)) == ["fill", "old.mp4"] and (mnt / "old.mp4").read_bytes() == b"x" * 1000
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_a_track_without_sound_or_cut_short(silent_video, songs, tmp_path):
    from engine.media import NoAudioStream

    with pytest.raises(NoAudioStream, match="no audio track"):
        run(prepare_mix(silent_video, CueSheet((Cue(str(silent_video), "a video", 0, 12, 0),)), PLAIN))
    data = songs[0].read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 3])  # a truncated download: plays what is there
    x = run(prepare_mix(silent_video, CueSheet((Cue(str(cut), "cut", 0, 12, 0),), fade_in=0, fade_out=0),
                        PLAIN)).samples()
    assert np.isfinite(x).all() and np.abs(x[:, SR:2 * SR]).max() > 0.1
