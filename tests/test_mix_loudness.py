"""Our streamed BS.1770 meter against pyloudnorm (the independent implementation), the
true-peak estimate, the limiter and the master gain."""

from __future__ import annotations

import numpy as np
import pytest

from engine.mix.cuesheet import MixSettings
from engine.mix.envelope import down_regions, duck_amount, duck_keyframes
from engine.mix.loudness import (
    BLOCK,
    BlockMeter,
    block_counts,
    integrated_from_blocks,
    integrated_loudness,
    master_gains,
    true_peak_db,
)

SR = 48000


def _signals():
    rng = np.random.default_rng(3)
    t = np.arange(SR * 9) / SR
    yield np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 440 * t)])
    yield np.stack([0.2 * rng.standard_normal(t.size) * (t > 2), 0.05 * np.sin(2 * np.pi * 60 * t)])
    yield np.stack([0.5 * np.sin(2 * np.pi * 1000 * t) * (np.sin(2 * np.pi * 0.3 * t) > 0),
                    0.1 * rng.standard_normal(t.size)])


@pytest.mark.parametrize("i", range(3))
def test_meter_matches_pyloudnorm_and_chunking_does_not_matter(i):
    import pyloudnorm

    x = list(_signals())[i]
    ref = pyloudnorm.Meter(SR).integrated_loudness(x.T)
    assert integrated_loudness(x) == pytest.approx(ref, abs=0.1)
    m = BlockMeter()
    for a in range(0, x.shape[1], 7777):  # odd chunk sizes
        m.add(x[:, a:a + 7777])
    m.finish()
    assert integrated_from_blocks(m.energy, block_counts(m.n)) == pytest.approx(integrated_loudness(x), abs=1e-6)
    whole = BlockMeter()
    whole.add(x)
    whole.finish()
    assert np.allclose(m.peaks, whole.peaks, atol=1e-9)


def test_true_peak_sees_inter_sample_peaks():
    # a sine at fs/4 sampled at 45 degrees: every sample is 0.707 of the real peak
    n = np.arange(SR)
    x = np.sin(2 * np.pi * (SR / 4) * n / SR + np.pi / 4)[None].repeat(2, 0)
    assert 20 * np.log10(np.abs(x).max()) == pytest.approx(-3.0, abs=0.1)
    assert true_peak_db(x) == pytest.approx(0.0, abs=0.3)


def test_silence_and_too_short_are_minus_infinity_not_errors():
    assert integrated_loudness(np.zeros((2, SR * 2))) == float("-inf")
    assert integrated_loudness(np.full((2, 1000), 0.5)) == float("-inf")  # < 400 ms
    m = master_gains(np.zeros(100), np.zeros(100), 100 * BLOCK, -14.0)
    assert m.gain == 1.0 and "silent" in m.note


def test_master_reaches_the_target_under_the_ceiling():
    rng = np.random.default_rng(0)
    x = 0.05 * rng.standard_normal((2, SR * 6))
    x[:, SR * 3:SR * 3 + 200] = 0.9  # a hot transient
    meter = BlockMeter()
    meter.add(x)
    meter.finish()
    m = master_gains(meter.energy, meter.peaks, x.shape[1], -12.0, -1.0)
    y = x * m.gains(0, x.shape[1])
    assert integrated_loudness(y) == pytest.approx(-12.0, abs=0.2)
    assert true_peak_db(y) <= -1.0
    g = m.gains(0, x.shape[1])
    assert np.abs(np.diff(g)).max() < 0.01  # smooth: no clicks from the limiter itself


def test_ducking_envelope_is_smooth_and_holds_through_short_pauses():
    s = MixSettings(attack=0.15, release=0.6, lookahead=0.2, hold=0.4)
    speech = np.array([[2.0, 3.0], [3.3, 4.0]])
    down = down_regions(speech, s)
    assert down.shape == (1, 2)  # the 0.3 s pause does not let the music up
    t = np.arange(0, 6, 1 / SR)
    a = duck_amount(t, down, s)
    assert a[int(1.7 * SR)] == 0.0 and a[int(1.95 * SR)] == pytest.approx(1.0)  # down before speech starts
    assert a[int(3.15 * SR)] == pytest.approx(1.0) and a[int(4.35 * SR)] == pytest.approx(1.0)
    assert a[int(5.1 * SR)] == 0.0
    assert np.abs(np.diff(a)).max() < 1e-3
    keys = duck_keyframes(speech, s)
    assert keys[0] == (pytest.approx(1.8), 0.0) and keys[1][1] == s.duck_depth_db and len(keys) == 4


def test_block_peaks_stay_in_place_over_a_long_stream():
    """Blocks are moved out of the running array every ~41 s: a peak at 95 s must land in
    its own block whether the stream comes in chunks or whole."""
    x = np.zeros((2, SR * 100), np.float32)
    x[:, SR * 95 + 123] = 0.9  # one hot sample
    x[1, SR * 20:SR * 21] = 0.2 * np.sin(2 * np.pi * 500 * np.arange(SR) / SR)
    m = BlockMeter()
    for a in range(0, x.shape[1], SR):
        m.add(x[:, a:a + SR])
    m.finish()
    p = m.peaks
    assert p.size == SR * 100 // BLOCK
    assert np.argmax(p) == (SR * 95 + 123) // BLOCK and p.max() == pytest.approx(0.9, rel=0.1)
    assert p[(SR * 20) // BLOCK + 5] == pytest.approx(0.2, rel=0.05) and p[(SR * 50) // BLOCK] == 0.0


def test_tighten_lowers_the_limiter_only_where_the_encoded_sound_went_over():
    from engine.mix.loudness import tighten

    rng = np.random.default_rng(1)
    x = 0.05 * rng.standard_normal((2, SR * 4))
    meter = BlockMeter()
    meter.add(x)
    meter.finish()
    m = master_gains(meter.energy, meter.peaks, x.shape[1], -14.0, -1.0)
    after = np.full(m.limiter.size - 1, 10 ** (-3 / 20))
    assert tighten(m, after, -1.0) is None  # nothing over: nothing to do
    after[200] = 10 ** (0.5 / 20)  # the codec pushed one block over
    t = tighten(m, after, -1.0)
    assert t.limiter[200] <= m.limiter[200] * 10 ** (-1.8 / 20) and t.limiter[100] == m.limiter[100]
    assert t.gain == m.gain
