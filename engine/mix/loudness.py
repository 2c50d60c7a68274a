"""Loudness (ITU-R BS.1770-4 / EBU R128) and true peak, streamed, and the master gain.

The meter is our own streaming implementation so that a 2-hour mix is measured chunk by
chunk in flat memory; it keeps one K-weighted energy per 10 ms block (2 h: 720 k floats,
~6 MB) so the gating (400 ms blocks, 75 % overlap, -70 LUFS absolute and -10 LU relative
gates) is exact, and so the limiter's effect on loudness can be predicted before the render
pass. ``tests/test_mix_loudness.py`` checks it against pyloudnorm (the independent
implementation) on the same signals; ``bench/mix.py`` checks the exports with FFmpeg's
ebur128 filter as well.

True peak: 4x oversampled (48-tap polyphase FIR through scipy's ``upfirdn``) peak per 10 ms
block, as BS.1770-4 Annex 2 suggests. :func:`master_gains` turns the block peaks into a smooth
gain curve (look-ahead attack, release) that keeps the master under the ceiling, and
raises the overall gain again for the loudness the limiter took away.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

RATE = 48000
BLOCK = 480
"""Samples per 10 ms block: the resolution of the stored energies, peaks and limiter gains."""
MAX_GAIN_DB = 30.0
"""Never raise a mix by more than this to reach a target (a near-silent mix stays quiet)."""
SILENCE_LUFS = -70.0

# BS.1770-4 K-weighting at 48 kHz (the standard's own coefficients): pre-filter (high shelf)
# then the RLB high-pass.
_K_SHELF = (np.array([1.53512485958697, -2.69169618940638, 1.19839281085285]),
            np.array([1.0, -1.69065929318241, 0.73248077421585]))
_K_HIGHPASS = (np.array([1.0, -2.0, 1.0]), np.array([1.0, -1.99004745483398, 0.99007225036621]))


def _tp_filter() -> np.ndarray:
    """48-tap (12 per phase) interpolation low-pass for 4x oversampling, as BS.1770-4 Annex 2
    sizes it: windowed sinc at the original Nyquist, gain 4 for the zero-stuffed input."""
    n = np.arange(48) - 23.5
    h = np.sinc(n / 4) * np.kaiser(48, 5.0)
    return h * (4 / h.sum())


_TP_FIR = _tp_filter()
_TP_DELAY = 23  # the filter's delay in output samples (23.5: half a sample early, no matter for peaks)


class BlockMeter:
    """Feed stereo chunks ``[2, n]`` at 48 kHz in order; read K-weighted energy and 4x true
    peak per 10 ms block afterwards (:attr:`energy`, :attr:`peaks`)."""

    CONTEXT = 16  # input samples of context each side for the oversampling filter

    def __init__(self, channels: int = 2) -> None:
        from scipy.signal import lfilter_zi

        self.zi_shelf = np.repeat(lfilter_zi(*_K_SHELF)[None], channels, 0) * 0.0  # [ch, 2]
        self.zi_hp = np.repeat(lfilter_zi(*_K_HIGHPASS)[None], channels, 0) * 0.0
        self._energy: list[np.ndarray] = []
        self._peaks: list[np.ndarray] = []
        self._e_carry = np.zeros(0)       # squared K-weighted samples of an unfinished block
        self._tp_hist = np.zeros((channels, 0), np.float64)  # context + unmeasured samples
        self._tp_start = 0                # absolute index of _tp_hist[:, 0]
        self._tp_done = 0                 # absolute index up to which peaks are measured
        self._peak_blocks = np.zeros(0)   # running max per block, from block _pb_first on
        self._pb_first = 0
        self.n = 0

    def add(self, x: np.ndarray, peaks_of: np.ndarray | None = None) -> None:
        """Measure ``x [channels, n]``; its true peaks from ``peaks_of`` (same shape) when given,
        e.g. the chunk band-limited as the encoder will."""
        from scipy.signal import lfilter

        x = np.asarray(x, np.float64)
        y, self.zi_shelf = lfilter(*_K_SHELF, x, axis=1, zi=self.zi_shelf)
        y, self.zi_hp = lfilter(*_K_HIGHPASS, y, axis=1, zi=self.zi_hp)
        sq = np.concatenate([self._e_carry, (y * y).sum(axis=0)])
        full = sq.size // BLOCK * BLOCK
        if full:
            self._energy.append(sq[:full].reshape(-1, BLOCK).sum(axis=1))
        self._e_carry = sq[full:]
        self.n += x.shape[1]
        tp = x if peaks_of is None else np.asarray(peaks_of, np.float64)
        self._tp_hist = np.concatenate([self._tp_hist, tp], axis=1)
        self._measure_peaks(final=False)

    def _measure_peaks(self, final: bool) -> None:
        from scipy.signal import upfirdn

        c = self.CONTEXT
        h = self._tp_hist
        end = self._tp_start + h.shape[1] - (0 if final else c)  # measure up to here (absolute)
        if end <= self._tp_done:
            return
        up = np.abs(upfirdn(_TP_FIR, h, up=4, axis=1))[:, _TP_DELAY:_TP_DELAY + 4 * h.shape[1]]  # [ch, 4 len]
        per_sample = up.max(axis=0).reshape(-1, 4).max(axis=1)  # [len]: the peak around each input sample
        vals = per_sample[self._tp_done - self._tp_start:end - self._tp_start]
        first, last = self._tp_done // BLOCK, (end - 1) // BLOCK  # absolute blocks touched
        starts = np.arange(first, last + 1) * BLOCK - self._tp_done
        starts[0] = 0
        bmax = np.maximum.reduceat(vals, starts)
        need = last + 1 - self._pb_first
        if self._peak_blocks.size < need:
            self._peak_blocks = np.concatenate([self._peak_blocks, np.zeros(need - self._peak_blocks.size)])
        seg = self._peak_blocks[first - self._pb_first:last + 1 - self._pb_first]
        np.maximum(seg, bmax, out=seg)
        self._tp_done = end
        keep = min(h.shape[1], 2 * c)
        self._tp_hist = h[:, h.shape[1] - keep:]
        self._tp_start += h.shape[1] - keep
        # move finished blocks out of the growing array (flat memory)
        done = self._pb_first + self._peak_blocks.size if final else self._tp_done // BLOCK
        if done - self._pb_first > 4096 or final:
            k = done - self._pb_first
            self._peaks.append(self._peak_blocks[:k].copy())
            self._peak_blocks = self._peak_blocks[k:]
            self._pb_first = done

    def finish(self) -> None:
        if self._e_carry.size:
            self._energy.append(np.array([self._e_carry.sum()]))
            self._e_carry = np.zeros(0)
        if self._tp_hist.shape[1]:
            self._measure_peaks(final=True)

    @property
    def energy(self) -> np.ndarray:
        """float64 ``[blocks]``: sum over channels and samples of the K-weighted signal squared."""
        return np.concatenate(self._energy) if self._energy else np.zeros(0)

    @property
    def peaks(self) -> np.ndarray:
        """float64 ``[blocks]``: 4x-oversampled absolute peak (linear) per block."""
        p = np.concatenate(self._peaks) if self._peaks else np.zeros(0)
        nb = -(-self.n // BLOCK)
        return np.pad(p, (0, max(0, nb - p.size)))[:nb]


def block_counts(n: int) -> np.ndarray:
    """Samples per 10 ms block for ``n`` samples ``[ceil(n / BLOCK)]``."""
    nb = -(-n // BLOCK)
    c = np.full(nb, BLOCK, np.float64)
    if nb and n % BLOCK:
        c[-1] = n % BLOCK
    return c


def integrated_from_blocks(energy: np.ndarray, counts: np.ndarray) -> float:
    """Gated integrated loudness (LUFS) from per-10 ms energies; -inf when too short or silent."""
    per = 40  # 400 ms gating blocks, hop 100 ms
    if energy.size < per:
        return float("-inf")
    ce = np.concatenate([[0.0], np.cumsum(energy)])
    cn = np.concatenate([[0.0], np.cumsum(counts)])
    starts = np.arange(0, energy.size - per + 1, 10)
    z = (ce[starts + per] - ce[starts]) / np.maximum(cn[starts + per] - cn[starts], 1)  # mean square
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10 * np.log10(z)
    z1 = z[lk > SILENCE_LUFS]
    if z1.size == 0:
        return float("-inf")
    gate = -0.691 + 10 * np.log10(z1.mean()) - 10.0
    z2 = z[(lk > SILENCE_LUFS) & (lk > gate)]
    return float(-0.691 + 10 * np.log10(z2.mean())) if z2.size else float("-inf")


def integrated_loudness(x: np.ndarray, rate: int = RATE) -> float:
    """Integrated loudness (LUFS) of ``x [channels, N]`` at 48 kHz (convenience for tests)."""
    if rate != RATE:
        raise ValueError("the meter runs at 48 kHz; resample first")
    m = BlockMeter(x.shape[0])
    m.add(x)
    m.finish()
    return integrated_from_blocks(m.energy, block_counts(m.n))


def true_peak_db(x: np.ndarray) -> float:
    """4x-oversampled true peak (dBTP) of ``x [channels, N]`` at 48 kHz."""
    m = BlockMeter(x.shape[0])
    m.add(x)
    m.finish()
    p = float(m.peaks.max()) if m.peaks.size else 0.0
    return 20 * np.log10(p) if p > 0 else float("-inf")


@dataclass(frozen=True)
class Master:
    """What the render pass applies to the mix: one gain and a limiter curve."""
    gain: float
    """Linear gain applied to the whole mix."""
    limiter: np.ndarray
    """float32 ``[blocks + 1]`` limiter gain at block boundaries (1 = untouched); linear in between."""
    measured_lufs: float
    """Integrated loudness of the mix before the master gain."""
    predicted_lufs: float
    """Integrated loudness after gain and limiter (from the stored block energies)."""
    measured_peak_dbtp: float
    predicted_peak_dbtp: float
    note: str = ""

    def gains(self, start: int, n: int) -> np.ndarray:
        """float32 ``[n]``: the master gain for samples ``start .. start + n``."""
        pos = (np.arange(start, start + n) / BLOCK)
        k = np.minimum(pos.astype(np.int64), self.limiter.size - 2)
        frac = pos - k
        lim = self.limiter[k] * (1 - frac) + self.limiter[k + 1] * frac
        return (self.gain * lim).astype(np.float32)


def master_gains(energy: np.ndarray, peaks: np.ndarray, n: int, target_lufs: float | None,
                 ceiling_dbtp: float = -1.0, *, attack: float = 0.005, release: float = 0.15,
                 margin_db: float = 0.3) -> Master:
    """Gain to ``target_lufs`` (None: 1.0) and the limiter that holds true peaks under
    ``ceiling_dbtp`` (aiming ``margin_db`` lower, for the AAC encoder's own overshoot); the
    gain is raised again (a few iterations) for the loudness the limiter takes away."""
    counts = block_counts(n)
    nb = counts.size
    measured = integrated_from_blocks(energy, counts)
    peak = float(peaks.max()) if peaks.size else 0.0
    peak_db = 20 * np.log10(peak) if peak > 0 else float("-inf")
    note = ""
    if target_lufs is None:
        gain = 1.0
    elif not np.isfinite(measured) or measured <= SILENCE_LUFS:
        gain, note = 1.0, "the mix is silent (or nearly): left as it is, not normalised"
    else:
        gain_db = target_lufs - measured
        if gain_db > MAX_GAIN_DB:
            gain_db, note = MAX_GAIN_DB, f"the mix is very quiet: raised by {MAX_GAIN_DB:.0f} dB at most"
        gain = 10 ** (gain_db / 20)
    ceiling = 10 ** ((ceiling_dbtp - margin_db) / 20)
    lim = np.ones(nb + 1, np.float32)
    predicted = measured + 20 * np.log10(gain) if np.isfinite(measured) else measured
    for _ in range(6):
        lim = _limiter(peaks * gain, ceiling, attack, release, nb)
        mid = 0.5 * (lim[:-1] + lim[1:])
        predicted = integrated_from_blocks(energy * (gain * mid) ** 2, counts)
        if target_lufs is None or not np.isfinite(predicted) or note:
            break
        short = target_lufs - predicted
        if abs(short) < 0.05 or 20 * np.log10(gain) + short > MAX_GAIN_DB:
            break
        gain *= 10 ** (short / 20)
    pk = float((peaks * gain * np.minimum(lim[:-1], lim[1:])).max()) if peaks.size else 0.0
    return Master(float(gain), lim, float(measured), float(predicted), float(peak_db),
                  20 * np.log10(pk) if pk > 0 else float("-inf"), note)


def _limiter(peaks: np.ndarray, ceiling: float, attack: float, release: float, nb: int) -> np.ndarray:
    """Gain at block boundaries ``[nb + 1]``: never above what a block's peak allows, falling
    ahead of a peak over ``attack`` (look-ahead) and recovering over ``release``."""
    with np.errstate(divide="ignore"):
        need = np.where(peaks > ceiling, ceiling / np.maximum(peaks, 1e-12), 1.0)
    if nb == 0:
        return np.ones(1, np.float32)
    if need.min() >= 1.0:
        return np.ones(nb + 1, np.float32)
    blk = BLOCK / RATE
    rel = 1 - np.exp(-blk / release)
    att = 1 - np.exp(-blk / max(attack, 1e-4))
    g = need.copy()
    cur = 1.0
    for k in range(nb):  # release: the gain climbs back slowly after a peak
        if cur >= 0.9999 and need[k] >= 1.0:
            cur = 1.0
            continue
        cur = min(need[k], cur + (1 - cur) * rel)
        g[k] = cur
    cur = 1.0
    for k in range(nb - 1, -1, -1):  # attack (look-ahead): the gain is already down at a peak
        if cur >= 0.9999 and g[k] >= 0.9999:
            cur = 1.0
            continue
        cur = min(g[k], cur + (1 - cur) * att)
        g[k] = cur
    b = np.empty(nb + 1)
    b[0], b[-1] = g[0], g[-1]
    b[1:-1] = np.minimum(g[:-1], g[1:])
    return b.astype(np.float32)


def tighten(master: Master, peaks_after: np.ndarray, ceiling_dbtp: float, *, margin_db: float = 0.3,
            attack: float = 0.005, release: float = 0.15) -> Master | None:
    """``master`` with its limiter lowered where ``peaks_after`` (per-block true peaks measured
    on the encoded and decoded result) went over ``ceiling_dbtp``; None when nothing did."""
    nb = master.limiter.size - 1
    p = np.zeros(nb)
    p[: min(nb, peaks_after.size)] = peaks_after[:nb]
    if p.size == 0 or p.max() <= 10 ** (ceiling_dbtp / 20):
        return None
    extra = _limiter(p, 10 ** ((ceiling_dbtp - margin_db) / 20), attack, release, nb)
    lim = (master.limiter * extra).astype(np.float32)
    pk = float(p.max() * extra.min())
    return replace(master, limiter=lim, predicted_peak_dbtp=min(master.predicted_peak_dbtp,
                                                                20 * np.log10(pk) if pk > 0 else -np.inf))
