"""engine.model: losses, temporal-embedding options, padding invariance, windows, rollout."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine.model import MVPT, BaselineConfig, MVPTConfig, attention_rollout, build_model, count_parameters
from engine.model.encoder import EncoderOutput
from engine.model.losses import info_nce, info_nce_gathered, triplet
from engine.model.windows import encode_many, encode_sequence, plan_windows

torch.set_num_threads(1)

SMALL = dict(visual_dim=12, music_dim=10, d_model=16, n_layers=2, n_heads=4, ff_dim=32, out_dim=8,
             seq_len=10, dropout=0.0)


def small(segment_time="visual") -> MVPT:
    torch.manual_seed(0)
    return MVPT(MVPTConfig(segment_time=segment_time, **SMALL)).eval()


def test_info_nce_equals_hand_computation():
    g = torch.Generator().manual_seed(1)
    v, m = torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g)
    tau = 0.3
    s = np.array([[float(F.cosine_similarity(v[i], m[j], dim=0)) for j in range(4)] for i in range(4)])
    l_vm = np.mean([-(s[i, i] / tau - math.log(sum(math.exp(s[i, j] / tau) for j in range(4)))) for i in range(4)])
    l_mv = np.mean([-(s[i, i] / tau - math.log(sum(math.exp(s[j, i] / tau) for j in range(4)))) for i in range(4)])
    assert float(info_nce(v, m, tau)) == pytest.approx(l_vm + l_mv, rel=1e-5)


def test_info_nce_mask_drops_padding_from_anchors_and_negatives():
    g = torch.Generator().manual_seed(2)
    v, m = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    valid = torch.tensor([1, 1, 0, 1, 0, 1], dtype=torch.bool)
    assert float(info_nce(v, m, valid=valid)) == pytest.approx(float(info_nce(v[valid], m[valid])), rel=1e-6)
    # the DDP form with one rank is the same loss
    got = info_nce_gathered(v, m, v, m, 0, valid, valid=valid)
    assert float(got) == pytest.approx(float(info_nce(v[valid], m[valid])), rel=1e-5)


def test_triplet_hand_computation_and_zero_when_separated():
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    m = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    # s = [[1, .6], [0, .8]]; v anchors: max(0,.2-1+.6)=0, max(0,.2-.8+0)=0; m anchors: col0: .2-1+0 -> 0; col1: .2-.8+.6=0
    assert float(triplet(v, m, margin=0.2)) == pytest.approx(0.0, abs=1e-6)
    assert float(triplet(v, m, margin=0.5)) == pytest.approx((0.1 + 0.0) / 2 + (0.0 + 0.3) / 2, abs=1e-6)


@pytest.mark.parametrize("option,visual_time,music_time", [
    ("visual", True, False), ("music", False, True), ("both", True, True), ("none", False, False)])
def test_segment_time_options_do_what_they_say(option, visual_time, music_time):
    model = small(option)
    assert (model.visual.time is not None) == visual_time
    assert (model.music.time is not None) == music_time
    g = torch.Generator().manual_seed(3)
    perm = torch.randperm(7, generator=g)
    for tower, dim, has_time in ((model.visual, 12, visual_time), (model.music, 10, music_time)):
        x = torch.randn(1, 7, dim, generator=g)
        a, b = tower(x), tower(x[:, perm])
        equivariant = torch.allclose(a.segments[:, perm], b.segments, atol=1e-5) and torch.allclose(a.cls, b.cls, atol=1e-5)
        assert equivariant != has_time  # without time, order carries no information


def test_padding_is_invisible():
    model = small("both")
    g = torch.Generator().manual_seed(4)
    x = torch.randn(1, 6, 12, generator=g)
    padded = torch.cat([x, 100 * torch.randn(1, 4, 12, generator=g)], dim=1)
    mask = torch.tensor([[True] * 6 + [False] * 4])
    for need_weights in (False, True):
        a = model.visual(x, need_weights=need_weights)
        b = model.visual(padded, mask, need_weights=need_weights)
        assert torch.allclose(a.segments, b.segments[:, :6], atol=1e-5)
        assert torch.allclose(a.cls, b.cls, atol=1e-5)
        assert torch.all(b.segments[:, 6:] == 0)
    assert torch.allclose(b.segments.norm(dim=-1)[0, :6], torch.ones(6), atol=1e-5)


def test_default_model_has_about_5_5_million_parameters():
    n = count_parameters(build_model(MVPTConfig(visual_dim=512, music_dim=512)))
    assert 5.2e6 < n < 6.0e6
    nb = count_parameters(build_model(BaselineConfig(visual_dim=512, music_dim=512)))
    assert abs(nb - n) / n < 0.05  # the baseline is matched in capacity, as in the paper


def test_plan_windows_cover_and_align_to_the_end():
    assert plan_windows(5, 30) == [(0, 5)]
    assert plan_windows(30, 30) == [(0, 30)]
    assert plan_windows(50, 30) == [(0, 30), (15, 30), (20, 30)]
    assert plan_windows(7, 3, overlap=0) == [(0, 3), (3, 3), (4, 3)]
    for T, L in ((31, 30), (100, 7), (64, 1)):
        covered = set()
        for s, n in plan_windows(T, L):
            assert n == L and 0 <= s and s + n <= T
            covered |= set(range(s, s + n))
        assert covered == set(range(T))


class WindowProbe(nn.Module):
    """Segment output = normalise(x + mean of its window): reveals how windows are merged."""

    windowed = True
    max_len = 3

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x, mask=None, need_weights=False):
        mask = torch.ones(x.shape[:2], dtype=torch.bool) if mask is None else mask
        m = mask[..., None].float()
        mean = (x * m).sum(1, keepdim=True) / m.sum(1, keepdim=True)
        return EncoderOutput(F.normalize(x + mean, dim=-1) * m, F.normalize(mean[:, 0], dim=-1), None)


def test_window_merge_averages_over_the_windows_that_contain_a_segment():
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(5))
    out = encode_sequence(WindowProbe(), x, L=3, overlap=1)  # windows [0,3) and [2,5)
    w1, w2 = x[0:3].mean(0), x[2:5].mean(0)
    expect = [F.normalize(x[0] + w1, dim=0), F.normalize(x[1] + w1, dim=0),
              F.normalize(F.normalize(x[2] + w1, dim=0) + F.normalize(x[2] + w2, dim=0), dim=0),
              F.normalize(x[3] + w2, dim=0), F.normalize(x[4] + w2, dim=0)]
    assert torch.allclose(out.segments, torch.stack(expect), atol=1e-6)
    assert torch.allclose(out.cls, F.normalize(F.normalize(w1, dim=0) + F.normalize(w2, dim=0), dim=0), atol=1e-6)


def test_encode_many_matches_single_pass_and_batches_consistently():
    model = small("visual")
    g = torch.Generator().manual_seed(6)
    short, long_ = torch.randn(7, 12, generator=g), torch.randn(23, 12, generator=g)
    direct = model.visual(short[None])
    one = encode_sequence(model.visual, short)
    assert torch.allclose(one.segments, direct.segments[0], atol=1e-5)
    assert torch.allclose(one.cls, direct.cls[0], atol=1e-5)
    both = encode_many(model.visual, [short, long_], batch_windows=2)
    alone = encode_sequence(model.visual, long_)
    assert torch.allclose(both[1].segments, alone.segments, atol=1e-5)
    assert both[1].segments.shape == (23, 8)


def test_rollout_weights():
    N = 5  # CLS + 4 segments
    uniform = [torch.full((2, N, N), 1.0 / N) for _ in range(3)]
    w = attention_rollout(uniform)
    assert w.shape == (4,) and torch.allclose(w, torch.full((4,), 0.25), atol=1e-6)
    focused = torch.zeros(2, N, N)
    focused[:, :, 3] = 1.0  # every token attends to segment index 2 (token 3)
    w = attention_rollout([focused, focused])
    assert int(w.argmax()) == 2 and float(w.sum()) == pytest.approx(1.0)
    model = small("visual")
    x = torch.randn(1, 6, 12)
    mask = torch.tensor([[True] * 4 + [False] * 2])
    with torch.no_grad():
        out = model.visual(x, mask, need_weights=True)
    assert len(out.attentions) == 2 and out.attentions[0].shape == (1, 4, 7, 7)
    w = attention_rollout(out.attentions)
    assert w.shape == (1, 6) and torch.all(w[0, 4:] == 0) and float(w.sum()) == pytest.approx(1.0, abs=1e-5)
    seq = encode_sequence(model.visual, torch.randn(25, 12), need_weights=True)
    assert seq.attention.weights.shape == (25,) and float(seq.attention.weights.sum()) == pytest.approx(1.0, abs=1e-5)


def test_baseline_tower_is_context_free_and_track_level_uses_the_mean():
    torch.manual_seed(0)
    model = build_model(BaselineConfig(visual_dim=6, music_dim=5, hidden_dim=16, out_dim=4, dropout=0.0)).eval()
    x = torch.randn(40, 6)
    out = encode_sequence(model.visual, x)
    assert torch.allclose(out.segments[3], model.visual.embed(x[3]), atol=1e-6)
    assert torch.allclose(out.cls, model.visual.embed(x.mean(0)), atol=1e-5)
