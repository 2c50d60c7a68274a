"""The context-free track path (``track_head``): the model's forward gives it as ``cls``, the
segment loss trains it, and older configs (without the field) load with it off."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from engine.model.config import MVPTConfig, config_from_dict, config_to_dict
from engine.model.encoder import TRACK_CLS_WEIGHT
from engine.model.factory import build_model
from engine.model.windows import encode_sequence
from training.recipe import LARGE, LEGACY, auto_recipe

torch.set_num_threads(1)
SMALL = dict(visual_dim=6, music_dim=5, d_model=8, n_layers=2, n_heads=2, ff_dim=16, out_dim=8, seq_len=7,
             dropout=0.0, cls_mean=True)


def test_cls_is_the_track_paths_normalised_mean_with_the_cls_and_ignores_padding():
    torch.manual_seed(0)
    model = build_model(MVPTConfig(**SMALL, track_head=12)).eval()
    x = torch.randn(2, 4, 6)
    padded = torch.cat([x, torch.randn(2, 3, 6)], dim=1)  # (2, 7, 6): three padded rows of noise
    mask = torch.tensor([[True] * 4 + [False] * 3] * 2)
    with torch.no_grad():
        out, out_p = model.visual(x), model.visual(padded, mask)
        per_seg = F.normalize(model.visual.track.mlp(x), dim=-1)  # (2, 4, 8): the head of each segment alone
        alone = model.visual(x[:, :1])
        model.visual.cfg = dataclasses.replace(model.visual.cfg, track_head=0)  # the same weights, [CLS] only
        plain_cls = model.visual(x).cls  # (2, 8)
    assert torch.allclose(out.track_segments, per_seg, atol=1e-6)
    head = F.normalize(per_seg.mean(1), dim=-1)  # (2, 8): the normalised mean of the path's segments
    assert torch.allclose(out.cls, F.normalize(head + TRACK_CLS_WEIGHT * plain_cls, dim=-1), atol=1e-6)
    assert 0 < TRACK_CLS_WEIGHT < 1  # the track path leads, the [CLS] adds its view
    assert torch.allclose(out_p.cls, out.cls, atol=1e-5) and torch.all(out_p.track_segments[:, 4:] == 0)
    # context-free: a segment's track embedding does not depend on its neighbours
    assert torch.allclose(alone.track_segments[:, 0], out.track_segments[:, 0], atol=1e-6)


def test_the_segment_path_is_the_same_model_with_or_without_the_track_path():
    torch.manual_seed(0)
    plain = build_model(MVPTConfig(**SMALL)).eval()
    headed = build_model(MVPTConfig(**SMALL, track_head=12)).eval()
    missing, unexpected = headed.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(".track." in k for k in missing)
    x = torch.randn(1, 5, 5)
    with torch.no_grad():
        a, b = plain.music(x), headed.music(x)
    assert torch.equal(a.segments, b.segments) and a.track_segments is None
    assert not torch.allclose(a.cls, b.cls)


def test_windowed_inference_uses_the_track_path():
    """What the library and the recommender store for a track (``cls`` over windows of L)."""
    torch.manual_seed(0)
    model = build_model(MVPTConfig(**SMALL, track_head=12)).eval()
    feats = torch.randn(7, 6)  # one window: exactly the forward's cls
    with torch.no_grad():
        cls = encode_sequence(model.visual, feats).cls
        ref = model.visual(feats[None]).cls[0]
    assert torch.allclose(cls, ref, atol=1e-5)


def test_an_old_config_without_the_field_loads_with_it_off():
    old = config_to_dict(MVPTConfig(**SMALL))
    del old["track_head"]  # a checkpoint written before the field existed
    cfg = config_from_dict(old)
    assert cfg.track_head == 0
    model = build_model(cfg)
    assert model.visual.track is None and not any(k.startswith(("visual.track.", "music.track."))
                                                  for k in model.state_dict())


def test_the_segment_loss_trains_the_track_path():
    from training.distributed import DistInfo
    from training.train import TrainConfig, compute_loss

    torch.manual_seed(0)
    model = build_model(MVPTConfig(**SMALL, track_head=12))
    v, m = torch.randn(3, 7, 6), torch.randn(3, 7, 5)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[0, 5:] = False
    cfg = TrainConfig(data="unused", out="unused", model="mvpt", tau=0.1, track_weight=0.0)
    ov, om = model(v, m, mask)
    compute_loss(cfg, ov, om, mask, DistInfo()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.visual.track.parameters())


def test_recipes_turn_it_on_for_new_trainings_only():
    assert LEGACY["track_head"] == 0  # epochs given: the fixed recipe of the benchmark figures, unchanged
    assert LARGE["track_head"] > 0
    assert auto_recipe(300, np.full(300, 20))["track_head"] > 0
    assert dataclasses.replace(MVPTConfig(), track_head=0) == MVPTConfig()


def test_the_track_path_stops_at_its_own_best():
    from training.track_path import TrackPathStop

    torch.manual_seed(0)
    model = build_model(MVPTConfig(**SMALL, track_head=12))
    stop = TrackPathStop(model, patience=2)
    res = lambda r10: {"track": {d: {"R@1": 0.0, "R@5": 0.0, "R@10": r10} for d in ("v2m", "m2v")}}  # noqa: E731
    assert not stop.update(res(50.0))
    best = {n: p.detach().clone() for n, p in stop.params.items()}
    with torch.no_grad():
        for p in stop.params.values():
            p.add_(1.0)  # training moves on and the held-out track score drops
    assert not stop.update(res(40.0)) and stop.update(res(45.0))  # two validations without progress
    assert stop.frozen and all(torch.equal(p, best[n]) and not p.requires_grad for n, p in stop.params.items())
    assert all(p.requires_grad for n, p in model.named_parameters() if ".track." not in n)
    assert not stop.update(res(99.0))  # frozen for good
    assert not TrackPathStop(build_model(MVPTConfig(**SMALL))).active  # no track path: nothing to do


def test_a_resumed_run_keeps_the_track_path_frozen():
    from training.track_path import TrackPathStop

    model = build_model(MVPTConfig(**SMALL, track_head=12))
    stop = TrackPathStop(model, patience=1)
    stop.update({"track": {d: {"R@1": 0.0, "R@5": 0.0, "R@10": 50.0} for d in ("v2m", "m2v")}})
    stop.freeze()
    state = stop.state()
    resumed = build_model(MVPTConfig(**SMALL, track_head=12))  # its weights would come from RUN/last
    again = TrackPathStop(resumed)
    again.load_state(state)
    assert again.frozen and not again.active and again.best == stop.best
    assert not any(p.requires_grad for p in again.params.values())
