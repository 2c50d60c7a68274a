"""Silero VAD over consecutive windows in one TorchScript call (see ``speech._silero_windows``).

Its own module: TorchScript compiles ``forward`` from its source and resolves ``Tensor`` and
``torch`` from this module's globals (``engine.mix.speech`` imports torch only when used).
"""

import torch
from torch import Tensor, nn


class Windows(nn.Module):
    """``model(x[:, i:i + 512], 16000)`` for each 512-sample window of ``x [1, N]`` (N a multiple
    of 512), the model's recurrent state carried from window to window: ``[1, N / 512]``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        outs: list[Tensor] = []
        for i in range(0, x.size(1), 512):
            outs.append(self.model(x[:, i:i + 512], 16000))
        return torch.cat(outs, 1)
