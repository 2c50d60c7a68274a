"""Silero VAD over blocks of consecutive windows in one TorchScript call (see ``speech._silero_blocks``).

Its own module: TorchScript compiles ``forward`` from its source and resolves ``Tensor`` and
``torch`` from this module's globals (``engine.mix.speech`` imports torch only when used).
"""

import torch
from torch import Tensor, nn


class Blocks(nn.Module):
    """Silero's 16 kHz network (``model._model`` of the loaded VAD) over a block of consecutive
    windows, what ``model(window, 16000)`` called window by window computes. Per window the
    network is a stateless front end (STFT and four convolutions of the window and the 64
    samples before it) and one step of an LSTM cell (the only state); the front end and the
    output layer run on the whole block at once, only the cell steps one window at a time.
    That costs half of the window-by-window call (whose per-call overhead is most of it), and
    holds the interpreter's lock for none of it.

    ``forward(x [N, 512], state [2, 1, 128], context [1, 64])`` -> (probabilities ``[N]``, the
    state and the context after the block's last window)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor, state: Tensor, context: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        before = torch.cat([context, x[:-1, -64:]], 0)  # [N, 64]: the 64 samples before each window
        feats = self.net.encoder(self.net.stft(torch.cat([before, x], 1)))  # [N, 128, 1]
        feats = feats.squeeze(-1)  # [N, 128]
        h, c = state[0], state[1]  # [1, 128] each
        hs: list[Tensor] = []
        for i in range(feats.size(0)):
            h, c = self.net.decoder.rnn(feats[i:i + 1], (h, c))
            hs.append(h)
        out = self.net.decoder.decoder(torch.cat(hs, 0).unsqueeze(-1))  # [N, 1, 1]
        return out.squeeze(1).mean(1), torch.stack([h, c]), x[-1:, -64:]
