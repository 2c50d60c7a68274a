"""musicnn's input: log-compressed mel spectrogram patches, in numpy float32, without librosa.

The original (``musicnn/extractor.py``) computes
``librosa.feature.melspectrogram(y, sr=16000, hop_length=256, n_fft=512, n_mels=96)``,
transposes it to time x mel, rounds it to float16 and takes ``log10(10000 x + 1)``.
Here the same is written out: a periodic Hann window, ``center=True`` framing with zero
padding (librosa >= 0.10's default ``pad_mode="constant"``; checked against the reference
inputs), the power spectrum, librosa's Slaney mel filterbank with Slaney area
normalisation, the float16 round trip (musicnn's models were trained on float16
spectrograms), and the log compression in float32: musicnn does it in float16, which
overflows to ``inf`` under NumPy 2.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187
"""Frames per 3 s patch: ``librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1``."""
FRAME_SECONDS = HOP / SAMPLE_RATE  # 16 ms
_F16_MAX = float(np.finfo(np.float16).max)


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa ``htk=False``): linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    mel = hz / f_sp
    log_part = hz >= min_log_hz
    return np.where(log_part, min_log_mel + np.log(np.maximum(hz, min_log_hz) / min_log_hz) / logstep, mel)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS,
                   fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """float32 ``[n_mels, n_fft // 2 + 1]``, equal to ``librosa.filters.mel`` with its defaults
    (triangles on the Slaney mel scale, each scaled to unit area: ``norm="slaney"``)."""
    fmax = sr / 2 if fmax is None else fmax
    fft_freqs = np.fft.rfftfreq(n_fft, d=1.0 / sr)  # [F]
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))  # [M + 2]
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)  # [M + 2, F]
    weights = np.zeros((n_mels, len(fft_freqs)), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights


_MEL_BASIS = mel_filterbank()
_MEL_BASIS_64 = _MEL_BASIS.astype(np.float64)
_WINDOW = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann, float64


def power_spectrogram(samples: np.ndarray, n_fft: int = N_FFT, hop: int = HOP,
                      window: np.ndarray | None = None) -> np.ndarray:
    """float32 ``[frames, n_fft // 2 + 1]`` power STFT, centred frames, zero padded.

    As librosa: the window is float64, so the FFT runs in float64 and is then rounded to
    complex64 before ``|X| ** 2``."""
    if window is None:
        window = _WINDOW if n_fft == N_FFT else 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    y = np.pad(np.asarray(samples, dtype=np.float32), n_fft // 2)
    n_frames = 1 + (len(y) - n_fft) // hop
    frames = np.lib.stride_tricks.as_strided(
        y, shape=(n_frames, n_fft), strides=(hop * y.strides[0], y.strides[0]), writeable=False)
    out = np.empty((n_frames, n_fft // 2 + 1), dtype=np.float32)
    block = 4096  # frames per FFT call, to bound the float64 temporaries
    for s in range(0, n_frames, block):
        spec = np.fft.rfft(frames[s:s + block] * window, axis=-1).astype(np.complex64)
        out[s:s + block] = np.abs(spec) ** 2
    return out


def mel_spectrogram(samples: np.ndarray) -> np.ndarray:
    """float32 ``[frames, 96]``: librosa's ``melspectrogram(...).T`` for musicnn's settings."""
    return mel_from_power(power_spectrogram(samples))


def mel_from_power(power: np.ndarray) -> np.ndarray:
    """``[T, 257]`` power spectrogram (512-point FFT at 16 kHz) -> float32 ``[T, 96]`` mel power.

    Summed in float64: a float32 product's last bit can depend on how many frames are
    multiplied at once, and musicnn's float16 rounding that follows would turn that into a
    5e-4 difference between computing a track whole and in pieces."""
    return (power.astype(np.float64) @ _MEL_BASIS_64.T).astype(np.float32)


def log_compress(mel: np.ndarray) -> np.ndarray:
    """musicnn's ``log10(10000 x + 1)`` after its float16 round trip, computed in float32."""
    x = np.minimum(mel, _F16_MAX).astype(np.float16).astype(np.float32)
    return np.log10(np.float32(10000.0) * x + np.float32(1.0))


def log_mel(samples: np.ndarray) -> np.ndarray:
    """float32 ``[frames, 96]``, the representation musicnn cuts into patches."""
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples [n], got shape {samples.shape}")
    return log_compress(mel_spectrogram(samples))


def repeat_pad(rep: np.ndarray, min_frames: int = PATCH_FRAMES) -> np.ndarray:
    """Tile a representation shorter than one patch until it fills one ([T, M] -> [>=min, M]).

    musicnn's training config says ``"pad_short": "repeat-pad"``: short clips were repeated,
    so the models have seen that, never silence."""
    if len(rep) >= min_frames:
        return rep
    if len(rep) == 0:
        return np.zeros((min_frames, rep.shape[1]), dtype=rep.dtype)
    reps = -(-min_frames // len(rep))
    return np.concatenate([rep] * reps, axis=0)[:min_frames]


def patch_starts(n_frames: int, hop_frames: int, patch_frames: int = PATCH_FRAMES) -> np.ndarray:
    """Start frames of patches every ``hop_frames``, plus one flush with the end when the
    regular ones leave a tail uncovered, so every frame is in at least one patch."""
    if n_frames <= patch_frames:
        return np.zeros(1, dtype=np.int64)
    last = n_frames - patch_frames
    starts = np.arange(0, last + 1, hop_frames, dtype=np.int64)
    if starts[-1] != last:
        starts = np.append(starts, last)
    return starts


def make_patches(rep: np.ndarray, starts: np.ndarray, patch_frames: int = PATCH_FRAMES) -> np.ndarray:
    """float32 ``[P, patch_frames, 96]`` patches of ``rep`` ``[T, 96]`` (T >= patch_frames)."""
    idx = starts[:, None] + np.arange(patch_frames)[None, :]  # [P, 187]
    return np.ascontiguousarray(rep[idx], dtype=np.float32)


def reference_batch(samples: np.ndarray) -> np.ndarray:
    """The exact batch ``musicnn.extractor.batch_data`` builds: consecutive, non-overlapping
    187-frame patches, the tail dropped. For comparing with the original."""
    rep = log_mel(samples)
    starts = np.arange(0, len(rep) - PATCH_FRAMES + 1, PATCH_FRAMES)
    return make_patches(rep, starts)
