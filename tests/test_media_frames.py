import numpy as np
import pytest

from engine.jobs import Cancelled
from engine.media.frames import choose_strategy, sample_frames
from engine.media.grid import SegmentGrid
from engine.media.probe import probe


def _sample(path, strategy, per_segment=2, seconds=6.7, short_side=64):
    info = probe(path)
    grid = SegmentGrid(info.duration, seconds)
    return grid, list(sample_frames(path, grid, per_segment, short_side, strategy=strategy))


def test_strategy_follows_keyframe_spacing(video_mp4, video_long_gop):
    dense, sparse = probe(video_mp4), probe(video_long_gop)
    grid = SegmentGrid(20.0, 6.7)
    assert choose_strategy(dense, grid, 2, dense.video.keyframe_interval) == "keyframes"
    assert sparse.video.keyframe_interval is None or sparse.video.keyframe_interval >= 9
    assert choose_strategy(sparse, grid, 2, 10.0) == "sequential"
    # just over one slot (3.35 s) between keyframes: seeking decodes less than going through
    assert choose_strategy(sparse, SegmentGrid(600.0, 6.7), 2, 3.5) == "seek"


@pytest.mark.parametrize("strategy", ["keyframes", "seek", "sequential"])
def test_every_strategy_yields_each_segment_in_order(video_mp4, strategy):
    grid, segs = _sample(video_mp4, strategy)
    assert [s.index for s in segs] == list(range(len(grid)))
    for seg, targets in zip(segs, grid.sample_times(2)):
        assert seg.frames.shape == (2, 64, 114, 3) and seg.frames.dtype == np.uint8
        # keyframes are 1 s apart here: the frame used is within half a keyframe of the target
        tol = 0.5 + 1e-6 if strategy == "keyframes" else 0.05
        assert np.all(np.abs(seg.times - np.array(targets)) <= tol)


def test_exact_strategies_agree_on_pixels(video_mp4):
    _, a = _sample(video_mp4, "seek")
    _, b = _sample(video_mp4, "sequential")
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.times, y.times, atol=0.041)
        assert np.abs(x.frames.astype(int) - y.frames.astype(int)).mean() < 8


def test_frames_change_over_time(video_mp4):
    _, segs = _sample(video_mp4, "auto")
    first, last = segs[0].frames[0].astype(int), segs[-1].frames[-1].astype(int)
    assert np.abs(first - last).mean() > 10


def test_long_gop_is_decoded_through_once(video_long_gop):
    grid, segs = _sample(video_long_gop, "auto", per_segment=3)
    assert len(segs) == len(grid)
    for seg, targets in zip(segs, grid.sample_times(3)):
        assert np.all(np.abs(seg.times - np.array(targets)) <= 0.05)


def test_cancel_stops_sampling(video_mp4):
    info = probe(video_mp4)
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] > 20

    with pytest.raises(Cancelled):
        list(sample_frames(video_mp4, SegmentGrid(info.duration, 1.0), 2, 32, strategy="sequential", cancel=cancel))


def test_a_kept_scaler_gives_the_pixels_a_fresh_one_gives(video_mp4):
    """The pass keeps one FFmpeg scaler per output size (set up once, not per frame): its frames,
    picks and tap alike, are those frame.reformat makes, pixel for pixel."""
    import av

    info = probe(video_mp4)
    grid = SegmentGrid(info.duration, 6.7)
    tapped: dict[float, np.ndarray] = {}
    segs = list(sample_frames(video_mp4, grid, 2, 64, info=info, tap=lambda t, x: tapped.setdefault(t, x.copy()),
                              tap_short_side=24))
    with av.open(str(video_mp4)) as c:
        c.streams.video[0].codec_context.options = {"skip_loop_filter": "all"}  # as the pass decodes
        fresh = {float(f.time): f for f in c.decode(video=0)}
        picks = {float(t): img for s in segs for t, img in zip(s.times, s.frames)}
        assert set(tapped) == set(fresh) and picks
        for t, img in picks.items():
            assert np.array_equal(img, fresh[t].reformat(width=114, height=64, format="rgb24").to_ndarray())
        for t, img in tapped.items():
            assert np.array_equal(img, fresh[t].reformat(width=43, height=24, format="rgb24",
                                                         interpolation="FAST_BILINEAR").to_ndarray())


def test_detect_cuts_reads_the_pixels_a_fresh_scaler_gives(video_mp4):
    """``mvpt cuts`` keeps one scaler for the run (one thread, not a slice pool) and finds what
    frame.reformat per frame found: the same small frames, so the same cuts and energy."""
    import av

    from engine.jobs import run
    from engine.rhythm.video import CutDetector, detect_cuts

    info = probe(video_mp4)
    det = CutDetector(fps=info.video.fps)
    with av.open(str(video_mp4)) as c:
        c.streams.video[0].codec_context.options = {"skip_loop_filter": "all"}
        for f in c.decode(video=0):
            det.push(float(f.time), f.reformat(width=85, height=48, format="rgb24", interpolation="AREA").to_ndarray())
    want, got = det.finish(info.duration), run(detect_cuts(video_mp4))
    assert np.array_equal(want.energy, got.energy) and np.array_equal(want.cuts, got.cuts)
