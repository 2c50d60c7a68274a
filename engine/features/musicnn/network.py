"""musicnn (Pons & Serra) as a PyTorch module, in inference mode, loadable from its TF1 checkpoint.

The graph is ``musicnn/models.py:build_musicnn`` with ``num_filt_midend=64``,
``num_units_backend=200`` (the MTT and MSD models). TF works in NHWC with H = time and
W = mel; here the front end is NCHW with the same H and W, the mid end Conv1d over time::

    x [B, 187, 96] -> input batch norm (one scalar channel)
    front end, 5 branches, each conv -> ReLU -> BN -> max over the whole mel axis:
      timbral  7x38, 7x67 (204 filters, time padded 3+3, mel 'valid')   -> [B, 204, 187] x 2
      temporal 128x1, 64x1, 32x1 (51 filters, TF 'same': pad (k-1)//2 before, k//2 after)
                                                                        -> [B, 51, 187] x 3
      concat                                                            -> [B, 561, 187]
    mid end: 3 x (Conv1d k=7 pad 3 -> ReLU -> BN) with 64 filters, residual on the 2nd and 3rd
      dense concat [front, m1, m2, m3]                                  -> [B, 753, 187]
    back end: max and mean over time -> interleaved [max_0, mean_0, max_1, ...] (TF flattens
      [753, 2]) -> BN -> Dense 200 + ReLU -> BN (= "penultimate") -> Dense 50 (logits)

Batch norm uses the stored moving statistics with TF's default epsilon (1e-3), folded into
one scale and shift per channel. Dropout is the identity at inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.features.base import FeatureError
from engine.features.tensorbundle import TensorBundle

from .fftconv import MelFFTConvMax

BN_EPSILON = 1e-3  # tf.compat.v1.layers.batch_normalization's default
N_MELS = 96
TIMBRAL_WIDTHS = (int(0.4 * N_MELS), int(0.7 * N_MELS))  # (38, 67)
TEMPORAL_LENGTHS = (128, 64, 32)
FRONT_TIMBRAL, FRONT_TEMPORAL = int(1.6 * 128), int(1.6 * 32)  # 204, 51 filters
FRONT_CHANNELS = 2 * FRONT_TIMBRAL + 3 * FRONT_TEMPORAL  # 561
MID_FILTERS = 64
POOL_CHANNELS = FRONT_CHANNELS + 3 * MID_FILTERS  # 753
PENULTIMATE = 200
N_TAGS = 50


@dataclass
class MusicnnOutputs:
    """Per patch. ``logits`` [B, 50], ``penultimate`` [B, 200], ``mean_pool`` and
    ``max_pool`` [B, 753]; ``taggram`` = sigmoid(logits)."""
    logits: torch.Tensor
    penultimate: torch.Tensor
    mean_pool: torch.Tensor
    max_pool: torch.Tensor

    @property
    def taggram(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)


class FrozenBatchNorm(nn.Module):
    """Inference-mode batch norm as ``x * scale + shift`` over dimension 1."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("scale", torch.ones(channels))
        self.register_buffer("shift", torch.zeros(channels))

    def set_from(self, gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray, var: np.ndarray) -> None:
        inv = gamma.astype(np.float32) / np.sqrt(var.astype(np.float32) + np.float32(BN_EPSILON))
        self.scale.copy_(torch.from_numpy(inv))
        self.shift.copy_(torch.from_numpy(beta - mean * inv))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x * self.scale.view(shape) + self.shift.view(shape)


class _Branch(nn.Module):
    """conv -> ReLU -> BN -> max over the whole mel axis: ``[B, 1, T, F]`` -> ``[B, C, T]``.

    Computed as BN(ReLU(max)) where the BN scale is >= 0 and BN(ReLU(min)) where it is
    negative (an affine map with a negative slope turns the max into a min; ReLU commutes
    with both): the same numbers as the original, with no pass over the [B, C, T, F]
    activation but one reduction. The min is taken as ``-max(-z)``, with the sign folded
    into the filters by :meth:`prepare`."""

    def __init__(self, out_ch: int, kernel: tuple[int, int], time_pad: tuple[int, int]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, out_ch, kernel)
        self.bn = FrozenBatchNorm(out_ch)
        self.time_pad = time_pad
        self.register_buffer("sign", torch.ones(out_ch))
        self.register_buffer("signed_weight", self.conv.weight.detach().clone())

    @torch.no_grad()
    def prepare(self) -> None:
        """Recompute the sign-folded filters; call after changing the weights."""
        self.sign.copy_(torch.where(self.bn.scale >= 0, 1.0, -1.0))
        self.signed_weight.copy_(self.conv.weight * self.sign.view(-1, 1, 1, 1))

    def signed_max(self, x: torch.Tensor) -> torch.Tensor:
        """``max_F(sign * conv(x))`` without bias: ``[B, 1, T, F]`` -> ``[B, C, T]``."""
        z = F.conv2d(F.pad(x, (0, 0) + self.time_pad), self.signed_weight)  # [B, C, T, F']
        return z.amax(dim=3)

    def finish(self, signed_max: torch.Tensor) -> torch.Tensor:
        """Bias, ReLU and BN on ``max_F(sign * conv)`` ``[B, C, T]``."""
        s = self.sign.view(1, -1, 1)
        return self.bn((signed_max * s + self.conv.bias.view(1, -1, 1)).clamp_min_(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x [B, 1, T, F]
        return self.finish(self.signed_max(x))


class Musicnn(nn.Module):
    """The musicnn tagger; ``forward`` returns :class:`MusicnnOutputs` for ``x`` [B, T, 96].

    After :meth:`prepare` (done by :func:`load_musicnn`), the timbral filters run through
    :class:`~.fftconv.MelFFTConvMax`; ``use_fft = False`` gives the direct convolutions."""

    def __init__(self, n_tags: int = N_TAGS) -> None:
        super().__init__()
        self.input_bn = FrozenBatchNorm(1)
        self.timbral = nn.ModuleList(
            _Branch(FRONT_TIMBRAL, (7, w), (3, 3)) for w in TIMBRAL_WIDTHS)
        self.temporal = nn.ModuleList(
            _Branch(FRONT_TEMPORAL, (k, 1), ((k - 1) // 2, k // 2)) for k in TEMPORAL_LENGTHS)
        self.mid_convs = nn.ModuleList(
            nn.Conv1d(c, MID_FILTERS, 7, padding=3) for c in (FRONT_CHANNELS, MID_FILTERS, MID_FILTERS))
        self.mid_bns = nn.ModuleList(FrozenBatchNorm(MID_FILTERS) for _ in range(3))
        self.pool_bn = FrozenBatchNorm(2 * POOL_CHANNELS)
        self.dense = nn.Linear(2 * POOL_CHANNELS, PENULTIMATE)
        self.dense_bn = FrozenBatchNorm(PENULTIMATE)
        self.out = nn.Linear(PENULTIMATE, n_tags)
        self.timbral_fft: MelFFTConvMax | None = None
        self.use_fft = True
        self.prepare()
        self.eval()

    @torch.no_grad()
    def prepare(self) -> None:
        """Derive the fast-path buffers from the weights; call after changing them."""
        for branch in (*self.timbral, *self.temporal):
            branch.prepare()
        self.timbral_fft = MelFFTConvMax([b.conv.weight for b in self.timbral],
                                         [b.sign for b in self.timbral]).to(self.input_bn.scale.device)

    def front_end(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, T, 96]`` spectrogram patches -> ``[B, 561, T]`` front-end features."""
        x = self.input_bn(x.unsqueeze(1))  # [B, 1, T, 96]
        if self.use_fft and self.timbral_fft is not None:
            pooled = self.timbral_fft(F.pad(x[:, 0], (0, 0, 3, 3)))  # 2 x [B, 204, T]
            timbral = [b.finish(m) for b, m in zip(self.timbral, pooled, strict=True)]
        else:
            timbral = [b(x) for b in self.timbral]
        return torch.cat(timbral + [b(x) for b in self.temporal], dim=1)  # [B, 561, T]

    def forward(self, x: torch.Tensor) -> MusicnnOutputs:
        if x.is_cuda and torch.backends.cudnn.allow_tf32:
            # cuDNN convolutions default to TF32 (10-bit mantissa): 1e-3 off the original.
            # The engine runs models on one inference thread, so a toggle is safe here.
            torch.backends.cudnn.allow_tf32 = False
            try:
                return self._forward(x)
            finally:
                torch.backends.cudnn.allow_tf32 = True
        return self._forward(x)

    def _forward(self, x: torch.Tensor) -> MusicnnOutputs:
        front = self.front_end(x)  # [B, 561, T]
        m1 = self.mid_bns[0](F.relu(self.mid_convs[0](front)))  # [B, 64, T]
        m2 = self.mid_bns[1](F.relu(self.mid_convs[1](m1))) + m1
        m3 = self.mid_bns[2](F.relu(self.mid_convs[2](m2))) + m2
        feats = torch.cat([front, m1, m2, m3], dim=1)  # [B, 753, T]
        max_pool, mean_pool = feats.amax(dim=2), feats.mean(dim=2)  # [B, 753] each
        flat = torch.stack([max_pool, mean_pool], dim=2).flatten(1)  # [B, 1506], interleaved
        penultimate = self.dense_bn(F.relu(self.dense(self.pool_bn(flat))))  # [B, 200]
        return MusicnnOutputs(self.out(penultimate), penultimate, mean_pool, max_pool)


# --- loading from the TF checkpoint -------------------------------------------------------

_CONVS = ["conv2d", "conv2d_1", "conv2d_2", "conv2d_3", "conv2d_4"]  # f74, f77, s128, s64, s32
_MID = ["conv2d_5", "conv2d_6", "conv2d_7"]


def _bn(bundle: TensorBundle, index: int) -> tuple[np.ndarray, ...]:
    name = "batch_normalization" + (f"_{index}" if index else "")
    return tuple(bundle.get(f"{name}/{p}") for p in ("gamma", "beta", "moving_mean", "moving_variance"))


def _copy(param: torch.Tensor, value: np.ndarray, what: str) -> None:
    if tuple(param.shape) != value.shape:
        raise FeatureError(f"checkpoint tensor {what} has shape {value.shape}, expected "
                           f"{tuple(param.shape)}: this is not a musicnn (MTT/MSD) checkpoint")
    param.copy_(torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)))


@torch.no_grad()
def load_musicnn(bundle: TensorBundle, n_tags: int = N_TAGS) -> Musicnn:
    """A :class:`Musicnn` with the weights of a TF checkpoint (kernels converted from
    TF's [kh, kw, in, out] and [in, out] to PyTorch's [out, in, kh, kw] and [out, in])."""
    net = Musicnn(n_tags)
    net.input_bn.set_from(*_bn(bundle, 0))
    for i, (branch, name) in enumerate(zip([*net.timbral, *net.temporal], _CONVS, strict=True)):
        _copy(branch.conv.weight, bundle.get(f"{name}/kernel").transpose(3, 2, 0, 1), f"{name}/kernel")
        _copy(branch.conv.bias, bundle.get(f"{name}/bias"), f"{name}/bias")
        branch.bn.set_from(*_bn(bundle, i + 1))
    for i, (conv, bn, name) in enumerate(zip(net.mid_convs, net.mid_bns, _MID, strict=True)):
        kernel = bundle.get(f"{name}/kernel")  # [7, C_in, 1, 64]
        _copy(conv.weight, kernel[:, :, 0, :].transpose(2, 1, 0), f"{name}/kernel")  # [64, C_in, 7]
        _copy(conv.bias, bundle.get(f"{name}/bias"), f"{name}/bias")
        bn.set_from(*_bn(bundle, i + 6))
    net.pool_bn.set_from(*_bn(bundle, 9))
    _copy(net.dense.weight, bundle.get("dense/kernel").T, "dense/kernel")
    _copy(net.dense.bias, bundle.get("dense/bias"), "dense/bias")
    net.dense_bn.set_from(*_bn(bundle, 10))
    _copy(net.out.weight, bundle.get("dense_1/kernel").T, "dense_1/kernel")
    _copy(net.out.bias, bundle.get("dense_1/bias"), "dense_1/bias")
    net.prepare()
    return net.eval()
