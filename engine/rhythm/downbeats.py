"""Downbeats and the meter of a beat grid (own code: librosa has no downbeats)."""

from __future__ import annotations

import numpy as np

from engine.rhythm.signals import Frames, beat_sync, grid_strength, zscore

DOWNBEAT_WEIGHTS = (1.0, 1.0, 0.5)
"""Weights of a beat's low onset (kick, bass), harmonic change and loudness accent (each
z-scored over the track) in the evidence that it starts a bar."""
SWITCH_PENALTY = 3.0
"""Cost (in standard deviations of the downbeat evidence) of a bar-phase jump in the
downbeat path: a missed or doubled beat may shift the bar, noise should not."""


def bar_positions(f: Frames, beats: np.ndarray) -> tuple[int, np.ndarray]:
    """(meter, int8 [n] position of each beat in its bar, 1 = downbeat).

    Own code (librosa has no downbeats): each beat's evidence of starting a bar is a low
    onset (kick, bass note), a harmonic change (chroma of the beat after vs the beat before)
    and a loud accent. For 3 and 4 beats per bar a Viterbi path over bar positions puts the
    downbeats where that evidence peaks, allowing a phase jump at a cost (a missed beat).
    The meter whose downbeats stand out more wins; 4 unless 3 is clearly better.
    """
    n = len(beats)
    low = grid_strength(f.low_onset, beats)
    acc = grid_strength(f.accent, beats)
    chroma = beat_sync(f.chroma, beats, f.n)  # [12, n]
    chroma = chroma / (np.linalg.norm(chroma, axis=0, keepdims=True) + 1e-9)
    change = np.zeros(n)
    change[1:] = 1.0 - np.sum(chroma[:, 1:] * chroma[:, :-1], axis=0)
    w_low, w_change, w_acc = DOWNBEAT_WEIGHTS
    evidence = w_low * zscore(low) + w_change * zscore(change) + w_acc * zscore(acc)  # [n]
    best: tuple[float, int, np.ndarray] | None = None
    for meter in (4, 3):
        pos, score = _viterbi_positions(evidence, meter)
        score /= max(n, 1)  # per beat
        if meter == 3:
            score -= 0.05  # prefer 4/4 unless 3/4 is clearly better
        if best is None or score > best[0]:
            best = (score, meter, pos)
    assert best is not None
    return best[1], (best[2] + 1).astype(np.int8)


def _viterbi_positions(evidence: np.ndarray, meter: int) -> tuple[np.ndarray, float]:
    """(int [n] bar position (0 = downbeat) per beat, the path's score): the path maximising
    the evidence on downbeats minus SWITCH_PENALTY per jump, positions otherwise advancing
    by one per beat."""
    n = len(evidence)
    emit = np.zeros((n, meter))
    emit[:, 0] = evidence
    score = emit[0].copy()
    back = np.zeros((n, meter), dtype=int)
    prev_of = (np.arange(meter) - 1) % meter  # the state that advances into each state
    for i in range(1, n):
        stay = score[prev_of]  # [meter]: advance without a jump
        jump_from = int(np.argmax(score))
        jump = score[jump_from] - SWITCH_PENALTY
        take_jump = jump > stay
        back[i] = np.where(take_jump, jump_from, prev_of)
        score = np.where(take_jump, jump, stay) + emit[i]
    pos = np.zeros(n, dtype=int)
    pos[-1] = int(np.argmax(score))
    for i in range(n - 1, 0, -1):
        pos[i - 1] = back[i, pos[i]]
    return pos, float(score.max())

