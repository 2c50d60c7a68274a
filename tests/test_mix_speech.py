"""Speech in the footage's own sound (for ducking): the detectors, the post-processing, and the
job that finds speech when the analysis did not bring it."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from engine.mix.speech import (
    SpeechParams,
    detect_speech,
    frame_labels,
    merge_regions,
    regions_from_probs,
)

SR = 16000


def speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    """A voiced, syllabic signal made in code: a glottal pulse train (110-150 Hz, wobbling)
    through vowel formants that change every 0.22 s, with a syllable envelope."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    f0 = 125 + 20 * np.sin(2 * np.pi * 0.7 * t)
    src = (np.diff(np.floor(np.cumsum(f0) / SR), prepend=0) > 0).astype(float)
    vowels = [(730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (300, 870, 2240), (640, 1190, 2390)]
    syl = int(SR * 0.22)
    out = np.zeros(n)
    for i in range(0, n, syl):
        y = src[i:i + syl].copy()
        for f, bw in zip(vowels[rng.integers(5)], (80, 100, 120)):
            r, th = np.exp(-np.pi * bw / SR), 2 * np.pi * f / SR
            y = lfilter([1 - r], [1, -2 * r * np.cos(th), r * r], y)
        out[i:i + y.size] = y * np.sin(np.pi * np.arange(y.size) / syl) ** 0.5
    return (out / np.abs(out).max() * 0.5).astype(np.float32)


def test_post_processing_merges_short_gaps_and_drops_blips():
    hop = 0.01
    p = np.zeros(1000, np.float32)
    p[100:300] = 1.0   # 1.0-3.0 s
    p[320:400] = 1.0   # a 0.2 s pause: merged
    p[600:610] = 1.0   # a 0.1 s blip: dropped
    r = regions_from_probs(p, hop, 10.0, SpeechParams(min_gap=0.3, min_speech=0.25, pad=0.0))
    assert r.shape == (1, 2) and r[0] == pytest.approx([1.0, 4.0])
    assert merge_regions(np.array([[5.0, 6.0], [0.0, 1.0], [1.1, 2.0]]), 0.2).tolist() == [[0.0, 2.0], [5.0, 6.0]]
    assert frame_labels(r, 10.0).sum() == 300


def test_webrtc_finds_a_speechlike_signal_generated_in_code():
    x = np.zeros(SR * 10, np.float32)
    x[SR * 2:SR * 5] = speechlike(3.0)
    r = detect_speech(x, SR, detector="webrtc")
    assert len(r) == 1 and r[0, 0] == pytest.approx(2.0, abs=0.15) and r[0, 1] == pytest.approx(5.0, abs=0.15)
    assert detect_speech(np.zeros(SR * 3, np.float32), SR, detector="webrtc").shape == (0, 2)


def test_any_rate_and_stereo_input_are_accepted():
    x = np.zeros(44100 * 6, np.float32)
    t = np.arange(44100 * 3) / 44100
    from scipy.signal import resample_poly

    x[44100:44100 * 4] = resample_poly(speechlike(3.0), 441, 160)[: t.size]
    r = detect_speech(np.stack([x, x]), 44100, detector="webrtc")
    assert len(r) == 1 and r[0, 0] == pytest.approx(1.0, abs=0.15)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed (tools/system-deps.sh)")
def test_default_detector_finds_real_speech_under_music_and_the_mix_ducks_there(tmp_path):
    from engine.jobs import run
    from engine.media.audio import decode_audio
    from engine.mix.cuesheet import Cue, CueSheet, MixSettings
    from engine.mix.render import prepare_mix
    from training.synthmedia import write_audio, write_video

    wav = tmp_path / "say.wav"
    subprocess.run(["espeak-ng", "-v", "en", "-w", str(wav),
                    "Hello and welcome back. Today we walk through the old town by the river."], check=True)
    speech = decode_audio(wav, SR)
    x = np.zeros(SR * 12, np.float32)
    x[SR * 3:SR * 3 + speech.size] = 0.8 * speech / np.abs(speech).max()
    t = np.arange(x.size) / SR
    x += (0.05 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t))).astype(np.float32)  # music under
    r = detect_speech(x, SR)  # the default detector (silero)
    end = 3 + speech.size / SR
    assert len(r) >= 1 and r[0, 0] == pytest.approx(3.0, abs=0.3) and r[-1, 1] == pytest.approx(end, abs=0.5)
    assert r[0, 0] > 1.0  # the music alone is not speech
    # the export job finds the same speech in a video's own sound and ducks the music there
    video = write_video(tmp_path / "talk.mp4", 12.0, size=(64, 36), fps=10, gop=10, audio=False)
    talk = write_audio(tmp_path / "talk.wav", np.stack([x, x]), sample_rate=SR)
    from engine.media.audio import decode_audio_channels
    from engine.media.writer import write_with_audio

    mono48 = decode_audio_channels(talk, 48000)
    run(write_with_audio(video, tmp_path / "talk_av.mp4", iter([mono48])))
    tone = write_audio(tmp_path / "tone.wav", duration=12.0, freq=330.0)
    plan = run(prepare_mix(tmp_path / "talk_av.mp4", CueSheet((Cue(str(tone), "t", 0, 12, 0),)),
                           MixSettings(original="off", loudness_target=None)))
    assert len(plan.speech) >= 1 and plan.speech[0, 0] == pytest.approx(3.0, abs=0.4)
    y = plan.samples()
    lvl = [10 * np.log10(np.mean(y[:, int(a * 48000):int(b * 48000)] ** 2)) for a, b in ((0.5, 2.0), (4.0, 5.0))]
    assert lvl[1] - lvl[0] == pytest.approx(-12.0, abs=1.0)


@pytest.mark.parametrize("detector", ["silero", "webrtc"])
def test_a_stream_of_pieces_finds_what_the_whole_signal_gives(detector):
    """Fed piece by piece (as the analysis pass hears the footage), the detector gives the same
    frame probabilities, bit for bit, and the same regions as on the whole signal at once."""
    from engine.mix.speech import DETECTORS, SpeechStream

    x = np.zeros(SR * 9, np.float32)
    x[SR * 1:SR * 4] = speechlike(3.0)
    x[SR * 6:int(SR * 8.5)] = speechlike(2.5, seed=2)
    x += 0.01 * np.random.default_rng(0).standard_normal(x.size).astype(np.float32)
    fresh = DETECTORS[detector]  # a new one each time: the WebRTC detector adapts as it listens
    frames = fresh().stream()
    cuts = [0, 700, 5000, 5001, 40000, 77777, x.size]  # pieces that split frames anywhere
    probs = np.concatenate([frames.push(x[a:b]) for a, b in zip(cuts, cuts[1:])] + [frames.flush()])
    assert np.array_equal(probs, fresh().frame_probs(x))
    s = SpeechStream(fresh())
    for a, b in zip(cuts, cuts[1:]):
        s.push(x[a:b])
    assert np.array_equal(s.regions(), detect_speech(x, SR, detector=fresh())) and len(s.regions()) >= 2


def test_silero_in_blocks_computes_what_its_own_window_by_window_call_computes():
    """The block runner (front end batched, the LSTM cell stepped) against Silero's own
    ``audio_forward`` (one call per window): the same probabilities but for the last bits of
    the batched sums, and so the same regions."""
    import torch

    from engine.mix.speech import SileroDetector, regions_from_probs

    x = np.zeros(SR * 7, np.float32)
    x[SR * 1:SR * 3] = speechlike(2.0, seed=3)
    x[int(SR * 4.2):SR * 6] = speechlike(1.8, seed=4)
    x += 0.02 * np.random.default_rng(1).standard_normal(x.size).astype(np.float32)
    det = SileroDetector()
    with torch.inference_mode():
        own = det.model.audio_forward(torch.from_numpy(x)[None], SR)[0].numpy()  # [frames] (+ a padded last one)
    det.model.reset_states()
    ours = det.frame_probs(x)
    own = own[:x.size // 512]
    assert ours.shape == own.shape and np.abs(ours - own).max() < 1e-5
    assert np.array_equal(regions_from_probs(ours, det.hop, 7.0), regions_from_probs(own, det.hop, 7.0))


def test_the_shared_webrtc_detector_hears_each_signal_afresh():
    """get_detector caches one detector for the process; what it heard before (another video,
    another thread's) must not change the next signal's frames."""
    from engine.mix.speech import get_detector

    det = get_detector("webrtc")
    x = np.zeros(SR * 6, np.float32)
    x[SR * 2:SR * 4] = speechlike(2.0)
    x += 0.003 * np.random.default_rng(1).standard_normal(x.size).astype(np.float32)
    first = det.frame_probs(x)
    loud = 0.8 * np.random.default_rng(2).standard_normal(SR * 20).astype(np.float32)  # 20 s of loud noise
    det.frame_probs(loud)
    assert np.array_equal(det.frame_probs(x), first)
    frames = det.stream()
    det.frame_probs(loud)  # a whole signal between a stream's pieces does not touch the stream's state
    probs = np.concatenate([frames.push(x[:SR * 3]), frames.push(x[SR * 3:])])
    assert np.array_equal(probs, first)
