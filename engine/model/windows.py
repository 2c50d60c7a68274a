"""Media longer than L segments: windows of L with overlap, merged.

A video or track of T segments is read in windows ``[s, s+L)`` with ``stride = L − overlap``;
the last window is aligned to the end so every segment is covered. Each window is encoded
on its own (with its own temporal embeddings from 0 and its own ``[CLS]``); a segment's
output is the mean of its outputs over the windows that contain it, re-normalised; the
track's output is the mean of the windows' ``[CLS]`` outputs, re-normalised; rollout weights
are averaged the same way. Media of at most L segments are one window, unpadded.

:func:`encode_sequence` (one medium) and :func:`encode_many` (a batch, for evaluation and
library scans) are the same code path; evaluation and the recommender both use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .rollout import attention_rollout


@dataclass
class WindowAttention:
    weights: Tensor                      # (T,) rollout weight per segment, sums to 1
    windows: list[tuple[int, int]]       # (start, length) of each window
    maps: list[list[Tensor]]             # per window, per layer (H, n+1, n+1) attention


class WindowedOutput(NamedTuple):
    segments: Tensor                     # (T, out_dim), unit norm
    cls: Tensor                          # (out_dim,), unit norm
    attention: WindowAttention | None    # only with need_weights=True


def plan_windows(T: int, L: int, overlap: int | None = None) -> list[tuple[int, int]]:
    """Windows ``(start, length)`` covering ``range(T)``; ``overlap`` defaults to L // 2."""
    if T < 1 or L < 1:
        raise ValueError(f"need T >= 1 and L >= 1, got T={T}, L={L}")
    if T <= L:
        return [(0, T)]
    overlap = L // 2 if overlap is None else overlap
    if not 0 <= overlap < L:
        raise ValueError(f"overlap must be in [0, L), got {overlap} with L={L}")
    stride = L - overlap
    starts = list(range(0, T - L + 1, stride))
    if starts[-1] + L < T:
        starts.append(T - L)
    return [(s, L) for s in starts]


def _context_length(encoder: nn.Module, L: int | None, T: int) -> int:
    if not getattr(encoder, "windowed", True):
        return T  # context-free towers (the MLP baseline) read the whole track at once
    max_len = int(encoder.max_len)
    L = max_len if L is None else L
    if L > max_len:
        raise ValueError(f"L={L} exceeds the encoder's temporal-embedding table ({max_len})")
    return L


@torch.no_grad()
def encode_many(encoder: nn.Module, features: Sequence[Tensor], L: int | None = None,
                overlap: int | None = None, need_weights: bool = False,
                batch_windows: int = 256, device: str | torch.device | None = None) -> list[WindowedOutput]:
    """Encode several media with one modality's tower. ``features[i]``: (T_i, D).
    Returns CPU float32 outputs in the same order. The tower is put in eval mode meanwhile."""
    if device is None:
        device = next(encoder.parameters()).device
    plans: list[list[tuple[int, int]]] = []
    jobs: list[tuple[int, int, int]] = []  # (item, start, length)
    for i, x in enumerate(features):
        if x.dim() != 2 or x.shape[0] < 1:
            raise ValueError(f"features must be (T, D) with T >= 1, got {tuple(x.shape)}")
        plan = plan_windows(x.shape[0], _context_length(encoder, L, x.shape[0]), overlap)
        plans.append(plan)
        jobs.extend((i, s, n) for s, n in plan)

    seg_out: list[list[Tensor]] = [[] for _ in features]
    cls_out: list[list[Tensor]] = [[] for _ in features]
    w_out: list[list[Tensor]] = [[] for _ in features]
    m_out: list[list[list[Tensor]]] = [[] for _ in features]
    was_training = encoder.training
    encoder.eval()
    try:
        for b in range(0, len(jobs), batch_windows):
            chunk = jobs[b:b + batch_windows]
            n_max = max(n for _, _, n in chunk)
            D = features[chunk[0][0]].shape[1]
            x = torch.zeros(len(chunk), n_max, D)  # (W, n_max, D), zero padding after the real segments
            mask = torch.zeros(len(chunk), n_max, dtype=torch.bool)
            for j, (i, s, n) in enumerate(chunk):
                x[j, :n] = features[i][s:s + n].float().cpu()
                mask[j, :n] = True
            out = encoder(x.to(device), mask.to(device), need_weights=need_weights)
            segs, cls = out.segments.float().cpu(), out.cls.float().cpu()
            if need_weights and out.attentions:
                maps = [a.float().cpu() for a in out.attentions]  # per layer (W, H, n_max+1, n_max+1)
                weights = attention_rollout(maps)  # (W, n_max)
            for j, (i, _start, n) in enumerate(chunk):
                seg_out[i].append(segs[j, :n])
                cls_out[i].append(cls[j])
                if need_weights and out.attentions:
                    w_out[i].append(weights[j, :n])
                    m_out[i].append([a[j, :, :n + 1, :n + 1] for a in maps])
    finally:
        encoder.train(was_training)

    results: list[WindowedOutput] = []
    for i, x in enumerate(features):
        T = x.shape[0]
        acc = torch.zeros(T, seg_out[i][0].shape[1])
        count = torch.zeros(T, 1)
        wacc = torch.zeros(T)
        for k, (s, n) in enumerate(plans[i]):
            acc[s:s + n] += seg_out[i][k]
            count[s:s + n] += 1
            if w_out[i]:
                wacc[s:s + n] += w_out[i][k]
        segments = F.normalize(acc / count, dim=-1)
        cls = F.normalize(torch.stack(cls_out[i]).mean(0), dim=-1)
        attention = None
        if w_out[i]:
            w = wacc / count[:, 0]
            attention = WindowAttention(weights=w / w.sum().clamp_min(1e-12), windows=plans[i], maps=m_out[i])
        results.append(WindowedOutput(segments, cls, attention))
    return results


def encode_sequence(encoder: nn.Module, features: Tensor, L: int | None = None, overlap: int | None = None,
                    need_weights: bool = False) -> WindowedOutput:
    """One video's or track's features (T, D) -> ``(segments (T, d), cls (d,), attention)``.
    ``L`` defaults to the encoder's L; ``overlap`` to L // 2."""
    return encode_many(encoder, [features], L=L, overlap=overlap, need_weights=need_weights)[0]
