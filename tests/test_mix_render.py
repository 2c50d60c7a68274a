"""The renderer's layout against the fit-to-length module's own rendering of pieces."""

from __future__ import annotations

import numpy as np
import pytest

from engine.jobs import run
from engine.media.audio import decode_audio_channels
from engine.mix.cuesheet import Cue, CueSheet, MixSettings, Piece
from engine.mix.render import layout, prepare_mix

SR = 48000


@pytest.fixture(scope="module")
def glide_48k(tmp_path_factory):
    from training.synthmedia import write_audio

    t = np.arange(20 * SR) / SR
    x = np.stack([0.4 * np.sin(2 * np.pi * (200 * t + 4 * t ** 2)), 0.3 * np.sin(2 * np.pi * (330 * t + 6 * t ** 2))])
    return write_audio(tmp_path_factory.mktemp("g") / "glide.flac", x.astype(np.float32), sample_rate=SR)


@pytest.fixture(scope="module")
def mute_video(tmp_path_factory):
    from training.synthmedia import write_video

    return write_video(tmp_path_factory.mktemp("v") / "mute.mp4", 10.0, size=(64, 36), fps=25, gop=25, audio=False)


def test_pieces_render_like_the_fit_module(glide_48k, mute_video):
    from engine.rhythm.fit import render_pieces

    # fit's convention: a piece with crossfade x starts x s before its splice (source and output),
    # the previous piece ends at the splice
    pieces = (Piece(0.0, 4.5, 0.0, 0.0), Piece(9.5, 14.0, 4.0, 0.5), Piece(2.0, 6.0, 8.0, 0.5))
    sheet = CueSheet((Cue(str(glide_48k), "re-edit", 0.0, 10.0, 0.0, pieces=pieces),), fade_in=0.0, fade_out=0.0)
    plan = run(prepare_mix(mute_video, sheet, MixSettings(duck=False, original="off", loudness_target=None)))
    ours = plan.samples()  # [2, n]
    src = decode_audio_channels(glide_48k, SR)
    theirs = render_pieces(src.T, SR, pieces).T  # [2, n']
    n = min(theirs.shape[1], int(9.9 * SR))
    assert np.abs(ours[:, :n] - theirs[:, :n]).max() < 2e-3
    segs = layout(sheet, 10.0)
    assert [(s.t0, s.t1) for s in segs] == [(0.0, 4.5), (4.0, 8.5), (8.0, 10.0)]


def test_overlapping_and_meeting_cues_crossfade_gaps_fade():
    sheet = CueSheet((Cue("a", "a", 0.0, 5.0, 0.0), Cue("b", "b", 5.0, 8.0, 0.0), Cue("c", "c", 9.0, 12.0, 0.0)),
                     crossfade=1.0, fade_in=0.5, fade_out=2.0)
    a, b, c = layout(sheet, 12.0)
    assert (a.t1, b.t0) == (5.5, 4.5)  # centred 1 s crossfade
    assert [r.rising for r in b.ramps] == [True, False] and b.ramps[1].b == 8.0  # fades out into the gap
    assert c.ramps[0].a == 9.0 and c.ramps[0].b == 9.5 and c.ramps[-1].a == 10.0  # fade in, fade out
    # equal power across the crossfade
    t = np.linspace(4.5, 5.5, 101)
    g = a.ramps[-1].gain(t) ** 2 + b.ramps[0].gain(t) ** 2
    assert np.allclose(g, 1.0)


def test_a_crossfade_on_a_downbeat_keeps_the_cut_on_the_cue_boundary():
    from engine.rhythm.music import MusicRhythm

    sheet = CueSheet((Cue("a", "a", 0.0, 8.0, 0.192), Cue("b", "b", 8.0, 16.0, 4.0)), crossfade=1.0)
    r = MusicRhythm(duration=30.0, steady=True, tempo=120.0, meter=4, beats=np.arange(0.0, 30, 0.5),
                    downbeats=np.arange(-0.016, 30, 2.0)[1:])  # a bar line of "a" at video 7.792
    a, b = layout(sheet, 16.0, {"a": r})
    assert (b.t0, a.t1) == (pytest.approx(7.292), pytest.approx(8.292))  # centred on the downbeat
    assert a.edit1 == b.edit0 == 8.0  # the edit's cut stays where the editor put it
    far = MusicRhythm(duration=30.0, steady=True, tempo=120.0, meter=4, beats=np.arange(0.0, 30, 0.5),
                      downbeats=np.array([7.1]))  # 1.1 s before the cut: the crossfade would not span it
    a, b = layout(sheet, 16.0, {"a": far})
    assert (b.t0, a.t1) == (7.5, 8.5)


@pytest.fixture(scope="module")
def short_song(tmp_path_factory):
    """A ~24 s generated techno song with its true grid, written as FLAC (22.05 kHz)."""
    from engine.rhythm.music import MusicRhythm
    from training.demo_music import SR as DEMO_SR
    from training.demo_music import plan_track, render_track
    from training.synthmedia import write_audio

    spec = plan_track(2, 5, (22.0, 26.0), style="techno")
    x = render_track(spec).astype(np.float32)  # [2, n]
    beats = np.arange(spec.bars * spec.beats_per_bar) * spec.beat_seconds
    rhythm = MusicRhythm(spec.duration, True, spec.bpm, meter=4, beats=beats, downbeats=beats[::4],
                         sections=np.array([s.start_bar * spec.bar_seconds for s in spec.sections]),
                         ending=spec.bars * spec.bar_seconds)
    path = write_audio(tmp_path_factory.mktemp("song") / "song.flac", x, sample_rate=DEMO_SR)
    return path, rhythm


def test_a_fitted_cue_renders_exactly_the_asked_length_and_ends_on_the_tracks_ending(short_song, tmp_path):
    """The plan's pieces and stretch, carried by the Cue, render (streamed, chunk by chunk)
    like the fit module renders the plan whole: the same envelope, the music ending where the
    plan ends it, the re-edit exactly the video's length."""
    from engine.rhythm.fit import fit_to_length, fitted_cue, render_plan, sound_end
    from training.synthmedia import write_video

    path, rhythm = short_song
    src = decode_audio_channels(path, SR).T.copy()  # [n, 2] at 48 kHz
    target = 16.0  # 8.9 bars of 1.80 s: one splice and a 1.1 % stretch land it
    plan = fit_to_length(src, SR, rhythm, target, fps=25.0)[0]
    assert abs(plan.stretch - 1) > 1e-3 and abs(plan.length - target) <= 1 / 25
    cue = fitted_cue(plan, str(path), "song")
    assert (cue.start, cue.end, cue.stretch, cue.pieces) == (0.0, target, plan.stretch, plan.pieces)
    video = write_video(tmp_path / "v.mp4", target, size=(32, 18), fps=25, gop=25, audio=False)
    sheet = CueSheet((cue,), fade_in=0.0, fade_out=0.0)
    mix = run(prepare_mix(video, sheet, MixSettings(duck=False, original="off", loudness_target=None)))
    ours = mix.samples().T  # [n, 2]
    assert len(ours) == round(target * SR)
    theirs = render_plan(src, SR, plan)  # [n, 2], exactly target long
    assert len(theirs) == len(ours)
    # the same music at the same times (WSOLA per piece vs on the whole: envelopes, not samples)
    w = SR // 20

    def env(y):
        n = len(y) // w
        return 20 * np.log10(np.sqrt((y[: n * w] ** 2).mean(1).reshape(n, w).mean(1)) + 1e-6)

    a, b = env(ours), env(theirs)
    loud = b > b.max() - 30
    assert np.median(np.abs(a[loud] - b[loud])) < 0.5 and np.percentile(np.abs(a[loud] - b[loud]), 95) < 3.0
    # the track's real ending: its sound ends where the plan says, to the frame
    last = plan.pieces[-1]
    want = (last.at + sound_end(src, SR) - last.source_start) / plan.stretch
    assert sound_end(ours, SR) == pytest.approx(min(want, plan.length), abs=1 / 25)
    assert sound_end(ours, SR) == pytest.approx(sound_end(theirs, SR), abs=1 / 25)
    # the OTIO export carries the stretch on each clip of the re-edit, the track still adds up
    import opentimelineio as otio

    from engine.mix.otio import build_timeline

    tl = build_timeline(video, sheet)
    music = [t for t in tl.tracks if t.name == "Music"][0]
    clips = [c for c in music if isinstance(c, otio.schema.Clip)]
    assert len(clips) == len(plan.pieces)
    for c in clips:
        warps = [e for e in c.effects if isinstance(e, otio.schema.LinearTimeWarp)]
        assert len(warps) == 1 and warps[0].time_scalar == pytest.approx(plan.stretch)
    assert music.duration().to_seconds() == pytest.approx(target, abs=1 / 25)
