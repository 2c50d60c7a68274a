"""Frame-level signals of a track (16 kHz, 16 ms hops) that the rhythm analysis reads:
mel onsets, low-band onsets, loudness, accents, MFCC and chroma; and small helpers over beat grids."""

from __future__ import annotations

import numpy as np

ANALYSIS_RATE = 16000
"""Everything is measured at 16 kHz (the rate the music encoders decode at, so the scan
hands the same samples over; other rates are resampled first)."""
HOP = 256
"""Frame hop in samples: 16 ms, the resolution of beats before rounding."""
N_FFT = 1024
N_MELS = 64
CHROMA_FFT, CHROMA_HOP = 4096, 1024
SILENCE_DBFS = -60.0

STFT_CHUNK_FRAMES = 4096
"""Spectrogram frames computed at a time (about a minute): memory stays flat in duration,
so a two-hour mix is analysed like a song (a whole 4096-point STFT of it would take GBs)."""


def stft_reduce(y: np.ndarray, n_fft: int, hop: int, reduce) -> np.ndarray:
    """``reduce(power [1 + n_fft // 2, F]) -> [k, F]`` over the centred STFT of ``y`` (the
    frames of ``librosa.stft(center=True)``), chunk by chunk; returns [k, 1 + len(y) // hop]."""
    import librosa

    padded = np.pad(y, n_fft // 2)
    n_frames = 1 + len(y) // hop
    out = []
    for f0 in range(0, n_frames, STFT_CHUNK_FRAMES):
        f1 = min(n_frames, f0 + STFT_CHUNK_FRAMES)
        seg = padded[f0 * hop:(f1 - 1) * hop + n_fft]
        power = np.abs(librosa.stft(seg, n_fft=n_fft, hop_length=hop, center=False)) ** 2  # [bins, f1 - f0]
        out.append(reduce(power[:, : f1 - f0]))
    return np.concatenate(out, axis=1)


class Frames:
    """Frame-level signals of a whole track at 16 kHz, hop 16 ms (T frames)."""

    def __init__(self, y: np.ndarray) -> None:
        import librosa

        sr = ANALYSIS_RATE
        mel_fb = librosa.filters.mel(sr=sr, n_fft=N_FFT, n_mels=N_MELS, fmax=sr / 2)  # [64, 513]
        both = stft_reduce(y, N_FFT, HOP, lambda p: np.vstack([mel_fb @ p, p.sum(axis=0, keepdims=True)]))
        mel, total = both[:N_MELS], both[N_MELS]  # [64, T] mel power, [T] total power
        self.n = mel.shape[1]
        log_mel = librosa.power_to_db(mel, ref=1.0, top_db=None)
        log_mel = np.maximum(log_mel, log_mel.max() - 80.0)
        self.log_mel = log_mel
        # center=False: our spectrogram is already centred; librosa would shift it again.
        self.onset = librosa.onset.onset_strength(S=log_mel, sr=sr, hop_length=HOP, center=False)  # [T]
        low = int(np.searchsorted(librosa.mel_frequencies(N_MELS + 2, fmax=sr / 2)[1:-1], 200.0))
        self.low_onset = librosa.onset.onset_strength(S=log_mel[: max(low, 2)], sr=sr, hop_length=HOP,
                                                      center=False)  # [T] kick and bass
        # frame loudness (dBFS of a full-scale sine = 0): Parseval with the Hann window's 3/8
        self.loud_db = 10 * np.log10(2 * total / (N_FFT * N_FFT * 0.375) + 1e-10) + 3.0  # [T]
        self.peak_dbfs = float(np.percentile(self.loud_db, 99)) if self.n else -100.0
        # loudness rise: what makes a hit sound strong (kicks, snares), little for soft hats
        self.accent = np.maximum(0.0, np.diff(self.loud_db, prepend=self.loud_db[:1]))  # [T]
        # mean rise of the log-mel spectrum per frame and band (dB): low for soft, sustained music
        self.flux_db = float(np.maximum(0.0, np.diff(log_mel, axis=1)).mean()) if self.n > 1 else 0.0
        self.mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=13)[1:]  # [12, T] timbre, no loudness
        chroma = stft_reduce(y, CHROMA_FFT, CHROMA_HOP, lambda p: librosa.feature.chroma_stft(
            S=p, sr=sr, n_fft=CHROMA_FFT, norm=None, tuning=0.0))  # [12, Tc]
        idx = np.minimum(np.arange(self.n) * HOP // CHROMA_HOP, chroma.shape[1] - 1)
        self.chroma = chroma[:, idx]  # [12, T] on the onset grid

    def seconds(self, frames: np.ndarray) -> np.ndarray:
        return np.asarray(frames) * (HOP / ANALYSIS_RATE)


def grid_strength(x: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """``x`` at each frame, its max within +-2 frames (16 ms hops; beats are not sample-exact)."""
    idx = np.clip(np.asarray(frames, int)[:, None] + np.arange(-2, 3)[None, :], 0, len(x) - 1)
    return x[idx].max(axis=1)


def zscore(x: np.ndarray) -> np.ndarray:
    s = x.std()
    return (x - x.mean()) / s if s > 1e-9 else np.zeros_like(x)


def beat_sync(x: np.ndarray, frames: np.ndarray, n: int) -> np.ndarray:
    """``x`` [d, T] averaged over each span between consecutive ``frames`` -> [d, len(frames)]
    (the span of the last frame runs to the end)."""
    edges = np.concatenate([frames, [n]]).astype(int)
    out = np.zeros((x.shape[0], len(frames)), dtype=np.float64)
    for i in range(len(frames)):
        a, b = edges[i], max(edges[i + 1], edges[i] + 1)
        out[:, i] = x[:, a:b].mean(axis=1)
    return out

