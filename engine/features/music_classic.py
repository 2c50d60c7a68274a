"""A weightless music extractor: timbre, rhythm, tempo, harmony and loudness per segment.

The fallback when musicnn's weights are not installed (and a baseline beside it). Needs
only numpy, is deterministic, and reads 16 kHz mono audio. It uses musicnn's front end
(512-point STFT, hop 256 = 16 ms, 96 Slaney mel bands, ``log10(1 + 10000 x)``) so its
timbre block is comparable, plus a 2048-point STFT (hop 512) for chroma.

Feature vector (``dim`` = 235), one per segment:

====  =====  ==============================================================================
 idx  dims   block
====  =====  ==============================================================================
 0    96     log-mel mean over the segment's frames (timbre, spectral balance)
 96   96     log-mel standard deviation (how much each band moves)
 192  4      onset strength (mean over bands of the rise of the log-mel from one frame to
             the next): mean, std, max; onset rate (peaks per second / 10)
 196  2      tempo: log2(bpm / 120) of the strongest periodicity of the onset envelope
             between 40 and 240 bpm (a log-normal prior around 120 bpm, one octave wide,
             as librosa's), and its clarity (autocorrelation at that lag / at lag 0)
 198  8      tempogram: normalised autocorrelation of the onset envelope, max within 8
             log-spaced tempo bands from 40 to 240 bpm (pulse at each tempo)
 206  12     chroma mean: energy per pitch class C, C#, ... B (65 Hz - 2.1 kHz, each frame
             scaled to max 1; near-silent frames count as 0)
 218  12     chroma standard deviation
 230  2      loudness: frame RMS in dB / 20, mean and std
 232  2      brightness: spectral centroid as log2(Hz / 1000), mean and std
 234  1      noisiness: mean spectral flatness (geometric / arithmetic mean power, in [0, 1])
             (both over frames louder than -60 dB only; 0 when there are none)
====  =====  ==============================================================================

Tempo needs a few beats: it is measured over at least ``TEMPO_WINDOW`` seconds centred on
the segment (within the track), even when the segment is shorter.
"""

from __future__ import annotations

import os

import numpy as np

from engine.jobs import CancelCheck, Job, Progress, check_cancel, run
from engine.media.grid import SegmentGrid

from .musicnn.output import MusicnnOutput
from .musicnn.preprocess import FRAME_SECONDS, SAMPLE_RATE, mel_from_power, power_spectrogram

FEATURE_VERSION = 1
TEMPO_WINDOW = 6.0
TEMPO_RANGE = (40.0, 240.0)
N_TEMPO_BANDS = 8
CHROMA_FFT, CHROMA_HOP = 2048, 512
CHROMA_RANGE = (65.0, 2100.0)
SILENCE_DB = -60.0  # frames quieter than this have no chroma, brightness or noisiness

DIM = 96 + 96 + 4 + 2 + N_TEMPO_BANDS + 12 + 12 + 2 + 2 + 1


def chroma_filterbank(sr: int = SAMPLE_RATE, n_fft: int = CHROMA_FFT) -> np.ndarray:
    """float32 ``[12, n_fft // 2 + 1]``: each bin between 65 Hz and 2.1 kHz shared between
    the two pitch classes nearest its frequency (linear in semitones)."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    fb = np.zeros((12, len(freqs)), dtype=np.float32)
    lo, hi = CHROMA_RANGE
    for k, f in enumerate(freqs):
        if not lo <= f <= hi:
            continue
        midi = 69 + 12 * np.log2(f / 440.0)
        below = int(np.floor(midi))
        frac = midi - below
        fb[below % 12, k] += 1 - frac
        fb[(below + 1) % 12, k] += frac
    return fb


_CHROMA_FB = chroma_filterbank()


def onset_envelope(log_mel: np.ndarray) -> np.ndarray:
    """``[T, M]`` -> ``[T]``: mean over bands of the half-wave rectified frame difference."""
    diff = np.diff(log_mel, axis=0, prepend=log_mel[:1])
    return np.maximum(diff, 0.0).mean(axis=1).astype(np.float32)


def _lag(bpm: float) -> float:
    return 60.0 / (bpm * FRAME_SECONDS)


def tempo_features(onsets: np.ndarray) -> np.ndarray:
    """``[T]`` onset envelope -> [log2(bpm / 120), clarity, 8 tempogram bands]."""
    out = np.zeros(2 + N_TEMPO_BANDS, dtype=np.float32)
    x = onsets.astype(np.float64) - onsets.mean()
    max_lag = int(np.ceil(_lag(TEMPO_RANGE[0]))) + 1
    if len(x) < 2 * int(_lag(TEMPO_RANGE[1])) or not np.any(x):
        return out
    n = 1 << int(np.ceil(np.log2(2 * len(x))))
    spec = np.fft.rfft(x, n)
    ac = np.fft.irfft(spec * np.conj(spec), n)[: max_lag + 1]
    ac = ac / ac[0]  # [max_lag + 1], 1 at lag 0
    lags = np.arange(len(ac), dtype=np.float64)
    valid = (lags >= _lag(TEMPO_RANGE[1])) & (lags <= min(_lag(TEMPO_RANGE[0]), len(x) - 1))
    bpm = np.where(lags > 0, 60.0 / (np.maximum(lags, 1e-9) * FRAME_SECONDS), 0.0)
    prior = np.exp(-0.5 * (np.log2(np.maximum(bpm, 1e-9) / 120.0)) ** 2)
    score = np.where(valid, np.maximum(ac, 0.0) * prior, -np.inf)
    best = int(np.argmax(score))
    if np.isfinite(score[best]) and score[best] > 0:
        shift = 0.0
        if 0 < best < len(ac) - 1:  # parabolic interpolation of the peak lag
            a, b, c = ac[best - 1], ac[best], ac[best + 1]
            denom = a - 2 * b + c
            shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
        out[0] = np.log2(60.0 / ((best + shift) * FRAME_SECONDS) / 120.0)
        out[1] = ac[best]
    edges = np.geomspace(TEMPO_RANGE[0], TEMPO_RANGE[1], N_TEMPO_BANDS + 1)
    for i in range(N_TEMPO_BANDS):
        in_band = valid & (bpm >= edges[i]) & (bpm <= edges[i + 1])
        if in_band.any():
            out[2 + i] = max(0.0, float(ac[in_band].max()))
    return out


def _frames_in(start: float, end: float, hop_seconds: float, n: int) -> slice:
    """Frames whose centre (``k * hop``) lies in [start, end); at least one, within [0, n)."""
    a = int(np.ceil(start / hop_seconds - 1e-9))
    b = int(np.ceil(end / hop_seconds - 1e-9))
    a, b = min(max(a, 0), n - 1), min(max(b, 0), n)
    return slice(a, max(b, a + 1))


def _rms_db(total_power: np.ndarray, n_fft: int) -> np.ndarray:
    """Frame RMS in dB (floor -80) from the summed one-sided power of a Hann-windowed FFT
    (Parseval; the window's mean power is 3/8)."""
    rms = np.sqrt(2 * total_power / (n_fft * n_fft * 0.375))
    return 20 * np.log10(rms + 1e-4)


def _mean_std(x: np.ndarray) -> list[float]:
    return [float(x.mean()), float(x.std())] if len(x) else [0.0, 0.0]


def _onset_rate(env: np.ndarray, seconds: float) -> float:
    """Local maxima above mean + std of the envelope, per second, / 10."""
    if len(env) < 3:
        return 0.0
    mid = env[1:-1]
    peaks = (mid > env[:-2]) & (mid >= env[2:]) & (mid > env.mean() + env.std())
    return float(peaks.sum()) / max(seconds, 1e-3) / 10.0


class ClassicMusicExtractor:
    """Weightless music features (see the module docstring for the layout)."""

    modality = "music"
    sample_rate = SAMPLE_RATE
    """Rate (Hz) of the mono samples :meth:`analyse_job` reads."""
    dim = DIM
    id = f"classic-music:v{FEATURE_VERSION}"
    tag_names: list[str] = []

    def __repr__(self) -> str:
        return f"ClassicMusicExtractor({self.id!r})"

    def extract(self, path: str | os.PathLike[str], grid: SegmentGrid,
                cancel: CancelCheck | None = None) -> Job[np.ndarray]:
        """Decode ``path`` and return float32 ``[len(grid), dim]`` as the job's result."""
        out = yield from self.extract_with_tags(path, grid, cancel=cancel)
        return out.features

    def extract_with_tags(self, path: str | os.PathLike[str], grid: SegmentGrid,
                          cancel: CancelCheck | None = None) -> Job[MusicnnOutput]:
        """Like :meth:`extract`, returning features, tag probabilities and tag names
        (decoded by the one analysis pass, :func:`engine.analysis.read.read_media`)."""
        from engine.analysis.read import read_media

        read = yield from read_media(path, self, grid.segment_seconds, grid=grid, cancel=cancel)
        return MusicnnOutput(read.features, read.tags, list(read.tag_names))

    def analyse_audio(self, samples: np.ndarray, grid: SegmentGrid) -> MusicnnOutput:
        """Features for float32 mono 16 kHz ``samples``; ``tags`` is None."""
        return run(self.analyse_job(samples, grid))

    def analyse_job(self, samples: np.ndarray, grid: SegmentGrid,
                    cancel: CancelCheck | None = None) -> Job[MusicnnOutput]:
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1 or samples.size == 0:
            raise ValueError(f"expected non-empty mono samples [n], got shape {samples.shape}")
        samples = samples[: int(np.ceil(grid.duration * SAMPLE_RATE)) + CHROMA_FFT]
        yield Progress("analyse", 0, len(grid))
        frames = _FrameFeatures(samples)
        check_cancel(cancel)
        feats = np.zeros((len(grid), DIM), dtype=np.float32)
        for seg in grid:
            feats[seg.index] = frames.segment(seg.start, seg.end)
            if seg.index % 16 == 15:
                check_cancel(cancel)
                yield Progress("analyse", seg.index + 1, len(grid))
        yield Progress("analyse", len(grid), len(grid))
        return MusicnnOutput(feats, None, [])


class _FrameFeatures:
    """Frame-level signals of a whole track, computed once, pooled per segment."""

    def __init__(self, samples: np.ndarray) -> None:
        power = power_spectrogram(samples)  # [T, 257]
        mel = mel_from_power(power)  # [T, 96]
        self.log_mel = np.log10(np.float32(1.0) + np.float32(10000.0) * mel)
        self.onsets = onset_envelope(self.log_mel)  # [T]
        freqs = np.fft.rfftfreq(512, 1.0 / SAMPLE_RATE).astype(np.float32)
        total = power.sum(axis=1)
        self.centroid = np.log2(np.maximum((power @ freqs) / (total + 1e-12), 20.0) / 1000.0)  # [T]
        eps = np.float32(1e-10)
        self.flatness = np.exp(np.log(power + eps).mean(axis=1)) / (power + eps).mean(axis=1)  # [T]
        self.loud_db = _rms_db(total, 512) / 20.0  # [T], in [-4, ~0]
        self.audible = self.loud_db > SILENCE_DB / 20.0  # [T] centroid/flatness only where audible
        cpow = power_spectrogram(samples, n_fft=CHROMA_FFT, hop=CHROMA_HOP)  # [Tc, 1025]
        chroma = cpow @ _CHROMA_FB.T  # [Tc, 12]
        peak = chroma.max(axis=1, keepdims=True)
        loud = (_rms_db(cpow.sum(axis=1), CHROMA_FFT) > SILENCE_DB)[:, None]
        self.chroma = np.where(loud & (peak > 0), chroma / np.maximum(peak, 1e-20), 0.0).astype(np.float32)

    def segment(self, start: float, end: float) -> np.ndarray:
        n = len(self.log_mel)
        s = _frames_in(start, end, FRAME_SECONDS, n)
        lm, env = self.log_mel[s], self.onsets[s]
        mid, half = 0.5 * (start + end), max(0.5 * (end - start), TEMPO_WINDOW / 2)
        tempo = tempo_features(self.onsets[_frames_in(mid - half, mid + half, FRAME_SECONDS, n)])
        c = self.chroma[_frames_in(start, end, CHROMA_HOP / SAMPLE_RATE, len(self.chroma))]
        seconds = len(env) * FRAME_SECONDS
        parts = [
            lm.mean(axis=0), lm.std(axis=0),
            [env.mean(), env.std(), env.max(), _onset_rate(env, seconds)],
            tempo,
            c.mean(axis=0), c.std(axis=0),
            [self.loud_db[s].mean(), self.loud_db[s].std()],
            _mean_std(self.centroid[s][self.audible[s]]),
            [self.flatness[s][self.audible[s]].mean() if self.audible[s].any() else 0.0],
        ]
        return np.concatenate([np.asarray(p, dtype=np.float32).ravel() for p in parts])
