import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.media.grid import SegmentGrid


@settings(deadline=None, max_examples=60)
@given(duration=st.floats(0.05, 4000), t=st.floats(0.5, 30))
def test_grid_covers_media_contiguously(duration, t):
    grid = SegmentGrid(duration, t)
    segs = list(grid)
    assert len(segs) == len(grid) >= 1
    assert segs[0].start == 0.0
    assert math.isclose(segs[-1].end, duration)
    for a, b in zip(segs, segs[1:]):
        assert a.end == pytest.approx(b.start)
    # every segment but the last is exactly t; the last is between min_tail*t and 1.5 t
    for s in segs[:-1]:
        assert s.duration == pytest.approx(t)
    if len(segs) > 1:
        assert 0.5 * t - 1e-6 <= segs[-1].duration <= 1.5 * t + 1e-6
    # starts stay on multiples of t
    assert all(s.start == pytest.approx(s.index * t) for s in segs)


def test_tail_policy():
    assert len(SegmentGrid(20.0, 6.7)) == 3  # tail 6.6 s kept as its own segment
    g = SegmentGrid(14.0, 6.7)  # tail 0.6 s merged into the previous segment
    assert len(g) == 2 and g[-1].end == 14.0 and g[-1].duration == pytest.approx(7.3)
    g = SegmentGrid(3.0, 6.7)  # shorter than one segment: one segment
    assert len(g) == 1 and g[0].end == 3.0


def test_sample_times_inside_segments():
    g = SegmentGrid(20.0, 6.7)
    times = g.sample_times(2)
    for seg, ts in zip(g, times):
        assert all(seg.start < x < seg.end for x in ts)
    assert g.index_at(7.0) == 1 and g.index_at(1e9) == len(g) - 1 and g.index_at(-3) == 0


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_grid_refuses_bad_duration(bad):
    with pytest.raises(ValueError):
        SegmentGrid(bad, 6.7)
