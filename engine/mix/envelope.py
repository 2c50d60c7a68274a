"""The ducking envelope: how far the music is pulled down at each instant, from speech regions.

``duck_amount(t)`` is 0 (music at its level) .. 1 (music ``duck_depth_db`` down). Around each
speech region ``[s, e]`` it falls over ``attack`` seconds starting ``lookahead`` before ``s``
(so the first syllable is already clear), stays down through the speech and for ``hold``
after it (pauses shorter than ``hold`` never let the music back up: no pumping), then
rises over ``release``. Ramps are raised-cosine in dB (smooth: no clicks). The envelope is a
pure function of time, so a chunked render evaluates it chunk by chunk and the OTIO export
writes the same curve as keyframes (:func:`duck_keyframes`).
"""

from __future__ import annotations

import numpy as np

from .cuesheet import MixSettings
from .speech import merge_regions


def down_regions(speech: np.ndarray, s: MixSettings) -> np.ndarray:
    """float64 ``[n, 2]`` stretches where the music is fully down (before the ramps)."""
    regs = np.asarray(speech, np.float64).reshape(-1, 2)
    if regs.shape[0] == 0:
        return regs
    down = np.stack([regs[:, 0] - s.lookahead + s.attack, regs[:, 1] + s.hold], axis=1)
    down[:, 1] = np.maximum(down[:, 1], down[:, 0])
    # ramps that would meet (a pause shorter than hold + release + attack) stay down instead
    return merge_regions(down, s.attack + s.release)


def duck_amount(t: np.ndarray, down: np.ndarray, s: MixSettings) -> np.ndarray:
    """float32 ``[n]`` duck amount (0..1) at times ``t [n]`` (seconds) given :func:`down_regions`."""
    a = np.zeros(t.shape, np.float64)
    if down.shape[0] == 0 or t.size == 0:
        return a.astype(np.float32)
    lo, hi = float(t.min()), float(t.max())
    att, rel = max(s.attack, 1e-3), max(s.release, 1e-3)
    sel = (down[:, 1] + rel >= lo) & (down[:, 0] - att <= hi)  # regions that touch this chunk
    for d0, d1 in down[sel]:
        up = np.clip((t - (d0 - att)) / att, 0.0, 1.0)       # 0 -> 1 over the attack
        dn = np.clip(((d1 + rel) - t) / rel, 0.0, 1.0)       # 1 -> 0 over the release
        r = np.minimum(up, dn)
        np.maximum(a, 0.5 - 0.5 * np.cos(np.pi * r), out=a)  # raised cosine
    return a.astype(np.float32)


def duck_keyframes(speech: np.ndarray, s: MixSettings, start: float = 0.0,
                   end: float = float("inf")) -> list[tuple[float, float]]:
    """(time s, gain dB) corners of the ducking envelope between ``start`` and ``end``, for the
    OTIO export (an NLE interpolates between them; ours is a raised cosine between the same
    corners)."""
    if not s.duck:
        return []
    down = down_regions(speech, s)
    keys: list[tuple[float, float]] = []
    for d0, d1 in down:
        for t, db in ((d0 - s.attack, 0.0), (d0, s.duck_depth_db), (d1, s.duck_depth_db),
                      (d1 + s.release, 0.0)):
            if start <= t <= end:
                keys.append((round(float(t), 4), float(db)))
    return keys
