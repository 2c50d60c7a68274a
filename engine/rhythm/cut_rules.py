"""How the cut detector decides, once its per-frame columns are gathered: hard cuts,
flashes, fades, dissolves and the visual-energy curve (the rules are described in
:mod:`engine.rhythm.video`; every threshold is a constant here).
"""

from __future__ import annotations

import math

import numpy as np

from engine.rhythm import ENERGY_RATE
from engine.rhythm.shots import Transition, VideoRhythm

# --- tuning (see module doc) -------------------------------------------------------------
_BATCH = 64                 # frames converted per numpy batch
_PIX_WEIGHT = 3.0           # mean |Δluma| (0..1) x this, capped at 1, next to the histogram distance
_CUT_MIN = 0.15             # change score a cut must reach at least
_CUT_RATIO = 2.2            # ... and this many times its neighbourhood's median
_CUT_MARGIN = 0.1           # ... and this much above it
_CUT_NEIGHBOURHOOD = 0.5    # s either side for the median
_FLASH_RETURN = 0.4         # s within which a flash returns to the picture before it
_FLASH_LUMA = 0.06          # mean-luma jump (0..1) that can start a flash
_MONO_STD = 6.0             # luma std (0..255) below which a frame is uniform
_BLACK, _WHITE = 24.0, 230.0  # mean luma of a black / white frame
_FADE_MIN_DEPTH = 20.0      # luma + contrast a ramp must cover (0..255)
_FADE_MIN_RAMP = 3          # frames of ramp a fade needs (on one side at least)
_FADE_MAX_RAMP = 3.0        # s
_FADE_HOLD_SPLIT = 1.0      # s of black after which a fade-out and fade-in are reported apart
_DISSOLVE_HALF = (0.15, 0.25, 0.4, 0.6, 0.8, 1.0)  # s: half-widths tried
_DISSOLVE_MIN_CHANGE = 12.0  # mean |Δluma| (0..255) between the two ends
_DISSOLVE_MAX_RESIDUAL = 0.3  # blend residual / end difference
_DISSOLVE_MAX_CORR = 0.75   # ends more correlated than this are one picture changing
_DISSOLVE_LOOSE_RESIDUAL = 0.4   # the looser test for moving shots: residual ratio ...
_DISSOLVE_LOOSE_CHANGE = 10.0    # ... end difference (0..255) ...
_DISSOLVE_LOOSE_CORR = 0.4       # ... end correlation ...
_DISSOLVE_DIP = 0.88             # ... and the middle's contrast and detail over the ends' mean
_DISSOLVE_PAN = 0.8              # no blend where a shift explains frame c+2 this much better than none
_MOTION_DEADZONE = 0.6      # mean |Δluma| (0..255) below which a frame pair is still
_MOTION_SCALE = 12.0        # thumbnail px/s of motion that gives 0.63
_BRIGHT_DEADZONE = 0.5      # mean-luma change (0..255) per frame below which nothing changed (encoder noise)
_BRIGHT_SCALE = 2.0         # mean-luma change (0..1) per second that gives 0.63 (a 1 s fade: ~0.4)


def _grid4(thumb: np.ndarray) -> np.ndarray:
    """float32 [B, 16]: mean luma of a 4x4 grid of each thumbnail [B, h, w]."""
    b, h, w = thumb.shape
    ys = np.linspace(0, h, 5).astype(int)[:-1]
    xs = np.linspace(0, w, 5).astype(int)[:-1]
    s = np.add.reduceat(np.add.reduceat(thumb, ys, axis=1), xs, axis=2)  # [B, 4, 4] sums
    counts = np.outer(np.diff(np.append(ys, h)), np.diff(np.append(xs, w)))
    return (s / counts).reshape(b, 16)


def _pan_ratio(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """[k]: mean |x - y| after the best global shift (phase correlation) over mean |x - y|
    without one, for thumbnail pairs [k, h, w]. Well under 1: y is x moved (a pan); 1: no
    shift explains the change (a still camera, a blend)."""
    k, h, w = x.shape
    xm = x - x.mean(axis=(1, 2), keepdims=True)
    ym = y - y.mean(axis=(1, 2), keepdims=True)
    spec = np.fft.rfft2(xm) * np.conj(np.fft.rfft2(ym))
    spec /= np.abs(spec) + 1e-6
    corr = np.fft.irfft2(spec, s=(h, w))  # [k, h, w]
    peak = corr.reshape(k, -1).argmax(axis=1)
    dys, dxs = np.unravel_index(peak, (h, w))
    out = np.ones(k, np.float32)
    for i in range(k):
        dy = int(dys[i]) - h if dys[i] > h // 2 else int(dys[i])
        dx = int(dxs[i]) - w if dxs[i] > w // 2 else int(dxs[i])
        if (dy, dx) == (0, 0) or abs(dy) > h // 3 or abs(dx) > w // 3:
            continue
        r0 = float(np.abs(x[i] - y[i]).mean())
        best = r0
        for sy, sx in ((dy, dx), (-dy, -dx)):  # whichever way the convention points
            a = x[i, max(0, sy):h + min(0, sy), max(0, sx):w + min(0, sx)]
            b = y[i, max(0, -sy):h + min(0, -sy), max(0, -sx):w + min(0, -sx)]
            best = min(best, float(np.abs(a - b).mean()))
        out[i] = best / max(r0, 1e-3)
    return out


def _corr(a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Pearson correlation of each pair of thumbnails [k, h, w] -> [k]."""
    a = a.reshape(len(a), -1)
    z = z.reshape(len(z), -1)
    a = a - a.mean(axis=1, keepdims=True)
    z = z - z.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (z * z).sum(axis=1))
    return np.where(den > 1e-6, (a * z).sum(axis=1) / np.maximum(den, 1e-6), 1.0)


def _energy_len(duration: float) -> int:
    return int(math.ceil(max(0.0, duration) * ENERGY_RATE - 1e-9))


def _sigdist(sig: np.ndarray, i: int, j: np.ndarray | int) -> np.ndarray:
    """Mean |difference| (0..1) of frame signatures (4x4 luma grid + mean chroma)."""
    return np.abs(sig[j] - sig[i]).mean(axis=-1) / 255.0


def _decide(col: dict[str, np.ndarray], dis: np.ndarray, halves: list[int], fps: float,
            duration: float, n_frames: int) -> VideoRhythm:
    t, mean, std = col["t"], col["mean"], col["std"]
    n = len(t)
    dpix = col["dpix"] / 255.0
    score = 0.5 * (col["dhist"] + np.minimum(1.0, _PIX_WEIGHT * dpix))  # [n]; score[0] = 0
    score[0] = 0.0

    fades = _find_fades(t, mean, std, col["sig"], score, fps)
    in_fade = np.zeros(n, bool)
    for a, b, _, _ in fades:
        in_fade[max(0, a - 1):b + 1] = True

    # --- hard cuts and flashes ---
    half = max(3, int(round(_CUT_NEIGHBOURHOOD * fps)))
    ret = max(2, int(round(_FLASH_RETURN * fps)))
    cand = np.flatnonzero(score >= _CUT_MIN)
    # Flashes first: brightness jumps, and within a moment the picture is back to the one
    # before. Their frames (the jump, the spike and the return) are not cuts.
    flashes: list[int] = []
    quiet = score.copy()
    flash_end = -1
    for i in cand:
        if i <= flash_end or in_fade[i] or abs(mean[i] - mean[i - 1]) / 255.0 < _FLASH_LUMA:
            continue
        js = np.arange(i + 1, min(n, i + ret + 1))
        if not len(js):
            continue
        back = _sigdist(col["sig"], i - 1, js)
        jump = float(_sigdist(col["sig"], i - 1, i))
        k = np.flatnonzero((back < 0.35 * jump)
                           & (np.abs(mean[js] - mean[i - 1]) / 255.0 < 0.5 * _FLASH_LUMA + 0.02))
        if len(k):
            flashes.append(int(i))
            flash_end = int(js[k[0]])
            quiet[i:flash_end + 1] = 0.0
    cuts: list[tuple[int, float]] = []
    for i in cand:
        if quiet[i] == 0.0 or in_fade[i]:
            continue
        lo, hi = max(1, i - 2), min(n, i + 3)
        if quiet[i] < quiet[lo:hi].max() or (i > lo and quiet[i] <= quiet[lo:i].max()):
            continue  # not the peak of its ±2 frames (ties go to the first)
        nb = np.concatenate([score[max(1, i - half):max(1, i - 1)], score[i + 2:i + half + 1]])
        med = float(np.median(nb)) if len(nb) else 0.0
        if score[i] < _CUT_RATIO * med or score[i] < med + _CUT_MARGIN:
            continue
        conf = 1.0 - math.exp(-(score[i] - med) / 0.15)
        cuts.append((int(i), float(np.clip(conf, 0.0, 1.0))))

    # --- dissolves ---
    dissolves = _find_dissolves(dis, halves, std, col["grad"], in_fade, [c for c, _ in cuts], flashes, fps)

    transitions = []
    for a, b, through, conf in fades:
        transitions.append(Transition(float(t[a]), float(t[min(b, n - 1)]) if b < n else float(t[-1] + 1 / fps),
                                      "fade", round(conf, 3), through))
    for a, b, conf in dissolves:
        transitions.append(Transition(float(t[a]), float(t[min(b, n - 1)]), "dissolve", round(conf, 3)))
    transitions.sort(key=lambda tr: tr.start)
    # A hard cut inside a gradual transition is part of it.
    kept = [(c, cf) for c, cf in cuts
            if not any(tr.start + 1.5 / fps < t[c] < tr.end - 1.5 / fps for tr in transitions)]

    energy = _energy(t, mean, col["dmot"], col["grad"], [c for c, _ in kept], flashes, fps, duration)
    return VideoRhythm(duration=duration,
                       cuts=np.array([t[c] for c, _ in kept], np.float64),
                       cut_confidence=np.array([cf for _, cf in kept], np.float32),
                       transitions=tuple(transitions), energy=energy,
                       flashes=np.array([t[f] for f in flashes], np.float64), frames=n_frames)


def _find_fades(t: np.ndarray, mean: np.ndarray, std: np.ndarray, sig: np.ndarray, score: np.ndarray,
                fps: float) -> list[tuple[int, int, str, float]]:
    """(first frame, first frame after, "black"/"white", confidence) of each fade."""
    n = len(t)
    black = (std < _MONO_STD) & (mean < _BLACK)
    white = (std < _MONO_STD) & (mean > _WHITE)
    max_ramp = max(_FADE_MIN_RAMP, int(round(_FADE_MAX_RAMP * fps)))
    out: list[tuple[int, int, str, float]] = []
    for mono, through in ((black, "black"), (white, "white")):
        level = mean + std if through == "black" else (255.0 - mean) + std  # 0 at the flat colour
        other = white if through == "black" else black  # a ramp starts from a picture, not the other colour
        runs = _runs(mono)
        pieces = []
        for a, b in runs:  # frames [a, b) uniform
            ramp_out = _ramp(level, other, a, -1, max_ramp)
            ramp_in = _ramp(level, other, b - 1, +1, max_ramp)
            s, e = a - ramp_out, b + ramp_in
            if max(ramp_out, ramp_in) < _FADE_MIN_RAMP:
                continue  # a cut to (or from) a uniform frame, or a blink
            if (e - s) / fps < 0.5 and s > 0 and e < n and _sigdist(sig, s - 1, e) < 0.03:
                continue  # a brief dip that comes back to the same picture: a flash, not a fade
            conf = float(min(1.0, 0.5 + 0.5 * (ramp_out + ramp_in) / max(1.0, 0.5 * fps)))
            hold = (b - a) / fps
            if hold > _FADE_HOLD_SPLIT and ramp_out >= _FADE_MIN_RAMP and ramp_in >= _FADE_MIN_RAMP:
                pieces.append((s, a + 1, through, conf))
                pieces.append((b - 1, e, through, conf))
            else:
                pieces.append((s, e, through, conf))
        out.extend(pieces)
    out.sort()
    return out


def _ramp(level: np.ndarray, other: np.ndarray, edge: int, step: int, max_ramp: int) -> int:
    """Frames of a fade ramp leading to the uniform frame ``edge`` from the side ``step``
    (-1: before it, a fade-out; +1: after it, a fade-in); 0 when there is none.

    Walks away from the uniform frame while the level (distance from the flat colour) keeps
    rising steadily; stops at a change much sharper than the ramp so far (a cut). A ramp
    must be deep enough and gradual (no single step carries most of it: that is a flash or
    a cut to black)."""
    n = len(level)
    k = 0
    steps: list[float] = []
    while k < max_ramp:
        i = edge + step * (k + 1)
        if not 0 <= i < n or other[i]:
            break
        d = level[i] - level[i - step]
        if d <= 0.2:
            break
        if len(steps) >= 2 and d > 4.0 * float(np.median(steps)) and d > 8.0:
            break  # a jump in the middle of a ramp: the ramp ended and something else began
        if steps and d < 0.25 * float(np.median(steps)):
            break  # flattened out: the shot itself
        steps.append(d)
        k += 1
    if k < _FADE_MIN_RAMP:
        return 0
    depth = float(sum(steps))
    if depth < _FADE_MIN_DEPTH or max(steps) > 0.6 * depth:
        return 0
    return k


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _find_dissolves(dis: np.ndarray, halves: list[int], std: np.ndarray, grad: np.ndarray, in_fade: np.ndarray,
                    cuts: list[int], flashes: list[int], fps: float) -> list[tuple[int, int, float]]:
    """(first frame, last frame, confidence) of each dissolve."""
    if dis.size == 0:
        return []
    n = len(dis)
    change = dis[..., 0]  # [n, len(halves)], half precision
    # Only centres where some blend test passed (few) are looked at further.
    with np.errstate(invalid="ignore"):
        rows = np.flatnonzero(np.any(dis[..., 1] <= max(_DISSOLVE_MAX_RESIDUAL, _DISSOLVE_LOOSE_RESIDUAL), axis=1))
    sub = dis[rows].astype(np.float32)
    ch, ratio, corr, pan = sub[..., 0], sub[..., 1], sub[..., 2], sub[..., 3]  # [r, len(halves)]
    # Contrast dip: the middle of a blend of two unrelated pictures has ~0.7 of their contrast
    # and fine detail; a moving camera keeps its own. It lets a looser blend test through
    # (camera motion inside the shots spoils the strict one).
    ci = rows[:, None]
    lo = np.clip(ci - np.asarray(halves)[None, :], 0, n - 1)
    hi = np.clip(ci + np.asarray(halves)[None, :], 0, n - 1)
    std_dip = std[ci] / np.maximum(0.5 * (std[lo] + std[hi]), 1e-3)      # [r, len(halves)]
    grad_dip = grad[ci] / np.maximum(0.5 * (grad[lo] + grad[hi]), 1e-3)
    with np.errstate(invalid="ignore"):
        strict = (1.0 - ratio / _DISSOLVE_MAX_RESIDUAL) * np.minimum(1.0, ch / (3 * _DISSOLVE_MIN_CHANGE))
        strict = np.where((ch >= _DISSOLVE_MIN_CHANGE) & (ratio <= _DISSOLVE_MAX_RESIDUAL)
                          & (corr <= _DISSOLVE_MAX_CORR), strict, 0.0)
        loose = 0.7 * (1.0 - ratio / _DISSOLVE_LOOSE_RESIDUAL) * np.minimum(1.0, ch / (3 * _DISSOLVE_MIN_CHANGE))
        loose = np.where((ch >= _DISSOLVE_LOOSE_CHANGE) & (ratio <= _DISSOLVE_LOOSE_RESIDUAL)
                         & (corr <= _DISSOLVE_LOOSE_CORR) & (std_dip <= _DISSOLVE_DIP) & (grad_dip <= _DISSOLVE_DIP),
                         loose, 0.0)
        good_sub = np.where(pan < _DISSOLVE_PAN, 0.0, np.maximum(strict, loose))
    good = np.zeros(change.shape, np.float32)  # [n, len(halves)]
    good[rows] = np.nan_to_num(good_sub, nan=0.0)
    valid = good > 0
    best = good.max(axis=1)  # [n]
    cut_arr = np.asarray(cuts, np.int64)
    out: list[tuple[int, int, float]] = []
    for a, b in _runs(best > 0):
        c = a + int(np.argmax(best[a:b]))
        ok = np.flatnonzero(valid[c])
        chc = change[c, ok].astype(np.float32)
        j = ok[np.flatnonzero(chc >= 0.85 * chc.max())[0]]  # smallest half-width that saturates
        hw = halves[j]
        s, e = max(0, c - hw), min(n - 1, c + hw)
        if in_fade[s:e + 1].any():
            continue
        if any(s - 2 <= f <= e + 2 for f in flashes):
            continue  # a flash's frames are not blends of two shots
        # A hard cut inside: the blend test passed by chance around it.
        if len(cut_arr) and np.any((cut_arr > s + 1) & (cut_arr < e - 1)):
            continue
        out.append((s, e, float(np.clip(0.5 + 0.5 * best[c], 0.0, 1.0))))  # passed every test: >= 0.5
    # Merge overlapping detections (keep the more confident).
    merged: list[tuple[int, int, float]] = []
    for s, e, cf in out:
        if merged and s <= merged[-1][1] + max(2, int(round(0.2 * fps))):
            ps, pe, pc = merged[-1]
            merged[-1] = (min(ps, s), max(pe, e), max(pc, cf))
        else:
            merged.append((s, e, cf))
    return merged


def _energy(t: np.ndarray, mean: np.ndarray, dmot: np.ndarray, grad: np.ndarray, cuts: list[int],
            flashes: list[int], fps: float, duration: float) -> np.ndarray:
    """float32 [ceil(duration * ENERGY_RATE)] visual energy 0..1 (see module doc)."""
    n = len(t)
    m = _energy_len(duration)
    if m == 0:
        return np.zeros(0, np.float32)
    dt = np.diff(t, prepend=t[0] - 1.0 / fps)
    dt = np.where(dt > 0, dt, 1.0 / fps)
    g = np.maximum(np.maximum(grad, np.roll(grad, 1)), 1.0)
    moving = np.maximum(dmot - _MOTION_DEADZONE, 0.0)
    speed = moving / g / dt                           # ≈ thumbnail px per second
    bright = np.maximum(np.abs(np.diff(mean, prepend=mean[0])) - _BRIGHT_DEADZONE, 0.0) / 255.0 / dt
    skip = np.zeros(n, bool)
    skip[0] = True
    for c in cuts:
        skip[c] = True
    for f in flashes:
        skip[f:f + max(2, int(round(_FLASH_RETURN * fps))) + 1] = True
    e_motion = 1.0 - np.exp(-speed / _MOTION_SCALE)
    e_bright = 1.0 - np.exp(-np.minimum(bright, 50.0) / _BRIGHT_SCALE)
    per_frame = 1.0 - (1.0 - e_motion) * (1.0 - e_bright)
    per_frame[skip] = np.nan
    bins = np.clip((t * ENERGY_RATE).astype(np.int64), 0, m - 1)
    ok = ~np.isnan(per_frame)
    sums = np.bincount(bins[ok], weights=per_frame[ok], minlength=m)
    counts = np.bincount(bins[ok], minlength=m)
    curve = np.full(m, np.nan)
    curve[counts > 0] = sums[counts > 0] / counts[counts > 0]
    # Bins without a usable frame (VFR gaps, cut frames, past the last frame) take the last value.
    last = 0.0
    for k in range(m):
        if np.isnan(curve[k]):
            curve[k] = last
        else:
            last = curve[k]
    for f in flashes:
        k = min(m - 1, int(t[f] * ENERGY_RATE))
        curve[k] = 1.0 - (1.0 - curve[k]) * (1.0 - 0.9)
    curve[curve < 0.01] = 0.0  # below 1 %: encoder noise on a still picture, not energy
    return np.clip(curve, 0.0, 1.0).astype(np.float32)
