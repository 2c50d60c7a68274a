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
