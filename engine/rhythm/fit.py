"""Re-edit a track to a length, on its downbeats: fit to length (issue 12).

The re-edit keeps the real intro (its first bars play in order from 0 s) and the real ending
(its last bars, then everything from ``MusicRhythm.ending`` to the end of sound), and in
between plays the track's bars in order except at a few *splices*, where it jumps forward (to
shorten) or back (to loop, when the video is longer than the track) from one downbeat to
another whose bars sound alike. Which bars sound alike comes from the samples
(:mod:`engine.rhythm.bars`): per beat of each bar, chroma (harmony), a cepstrum of log band
energies (timbre) and loudness; a jump from
the end of bar ``a`` to the start of bar ``j`` is as seamless as bar ``j`` is like bar
``a + 1`` (what would have come) and bar ``j - 1`` like bar ``a`` (what came before).

The path through the bars is a shortest path (dynamic programming over bars played × bar ×
bars since the last splice): continuing costs nothing, a splice costs its dissimilarity plus a
fixed penalty, so few and seamless splices win; pieces last at least ``MIN_PIECE_BARS``.
Bars are whole, so without a time-stretch the length lands within half a bar; the slack the
user allows decides whether that is close enough, otherwise a time-stretch of at most
``MAX_STRETCH`` (pitch kept: FFmpeg's ``atempo``, :mod:`engine.mix.stretch`) makes it exact;
several variants (other splices, one bar more or less) come back ranked by seamlessness.
:func:`fitted_cue` carries a plan's pieces and stretch into the cue sheet (``Cue.stretch``),
so the mix, the preview and the OTIO export play the re-edit.

Splices are equal-power crossfades of ``CROSSFADE`` seconds that *end* on the downbeat: the
incoming bar's downbeat is heard at full level. In a :class:`~engine.mix.cuesheet.Piece`
list that reads: a piece with ``crossfade = x > 0`` starts ``x`` seconds before its splice,
both in the source (``source_start``) and on the output (``at``), and the previous piece
ends at the splice, fading out over its last ``x`` seconds. Times in ``Piece`` are before
the stretch; :func:`render_plan` applies it and pads or trims to the exact length.

A track with no steady beat is spliced between 2 s blocks with 0.5 s crossfades and says so
(``FitPlan.note``): no grid is made up.

Measured (``bench/fit_length.py``, 20 generated songs of 60-200 s × targets of 0.25-2 × their
length, true grid): with stretch the music ends within one frame (30 fps) of the target in
98 % of fits (the two misses: 16 and 34 s targets of songs with 1.9 and 3.2 s bars, where 3 %
cannot reach the next bar count; 0.24-0.26 s short, inside the default 0.5 s slack); without
stretch within a 1 s slack in 77 % (whole bars: songs with 3-3.7 s bars miss by up to half a
bar). Every splice on a true downbeat; no splice makes a sample step larger than the song's
own largest (worst 0.90 of it); median seamlessness 0.91 with stretch; 0.47 s CPU per fit
(bar features of the whole song included), 0.15 s to render with the stretch. With the grid
of ``analyse_rhythm`` (``--analysed``): lengths the same (98 % to the frame), no clicks, but
only 55 % of splices on a true downbeat (the analyser's bar phase and tempo octave on these
songs), and one loop 7.5 s short without stretch where its grid ends early.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.mix.cuesheet import Piece
from engine.rhythm.bars import SILENCE_DB, _mono, bar_features, bar_similarity, sound_end  # noqa: F401 - re-exported
from engine.rhythm.music import MusicRhythm

FIT_VERSION = 1
MAX_STRETCH = 0.03
"""Largest time-stretch (3 %): beyond it tempo changes are audible."""
CROSSFADE = 0.03
"""Seconds of equal-power crossfade at a splice, ending on the downbeat."""
BLOCK = 2.0
"""Seconds per block when the track has no steady beat."""
BLOCK_CROSSFADE = 0.5
MIN_PIECE_BARS = 2
"""A piece between splices plays at least this many bars."""
SPLICE_PENALTY = 0.25
"""Cost of a splice on top of its dissimilarity (0..1): prefer few splices."""
KEEP_INTRO_BARS = 4
"""At most this many opening bars always play (fewer when the intro section is shorter)."""
KEEP_END_BARS = 2
"""Bars before the real ending that always play."""
TRIM_TAIL = 0.6
"""Up to this share of the ring-out after the real ending may be cut (faded) to land."""


@dataclass(frozen=True)
class FitPlan:
    pieces: tuple[Piece, ...]
    """Source stretches to play (times before the stretch; see the module docstring)."""
    length: float
    """Where the music of the re-edit ends (s, after the stretch and the trim); the rendered
    file is ``target`` long (silence after the end, or the end faded)."""
    stretch: float
    """Tempo factor applied to the whole re-edit: 1.0 none, 1.02 plays 2 % faster (shorter)."""
    seamlessness: float
    """0..1: the similarity at the worst splice (1.0 without splices)."""
    splices: tuple[tuple[float, float], ...]
    """(leave at, resume at) source times (s) of each splice: downbeats of the track."""
    natural_length: float = 0.0
    """Seconds of the pieces before the stretch (the music's own end)."""
    target: float = 0.0
    note: str = ""
    """Empty, or what the user should know (no steady beat, could not land within the slack)."""
    fade_out: float = 0.0
    """Seconds of fade-out at the end (a trimmed ring-out, or an opening cut short)."""
    trim: float = 0.0
    """Seconds of the ring-out after the real ending cut off to land (at most 60 % of it)."""
    on_downbeats: bool = True
    """False when the track has no steady beat: the splices are between 2 s blocks."""

    @property
    def error(self) -> float:
        """Length minus target (s)."""
        return self.length - self.target


# --- the path through the bars --------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    bounds: np.ndarray  # float64 [m + 1]: bar starts, then the end of the last bar (= ending)
    pickup: float  # seconds before the first bar
    tail: float  # seconds from the ending to the end of sound
    end: float  # end of sound (s)
    intro: int  # bars that always open the re-edit
    outro: int  # bars that always close it
    crossfade: float
    on_beat: bool


def _grid(rhythm: MusicRhythm, samples: np.ndarray, rate: int) -> _Grid:
    end = sound_end(samples, rate)
    d = np.asarray(rhythm.downbeats, np.float64)
    if rhythm.steady and len(d) >= 3:
        ending = float(rhythm.ending) if rhythm.ending > d[0] else float(d[-1])
        bounds = d[d <= ending + 1e-6]
        if bounds[-1] < ending - 1e-6:
            bounds = np.append(bounds, ending)
        sections = np.asarray(rhythm.sections, np.float64)
        first = sections[(sections > d[0] + 0.5)]
        intro_bars = int(np.searchsorted(bounds, first[0] - 1e-6)) if len(first) else KEEP_INTRO_BARS
        intro = int(np.clip(intro_bars, 1, KEEP_INTRO_BARS))
        return _Grid(bounds, float(d[0]), max(0.0, end - bounds[-1]), end, intro, KEEP_END_BARS, CROSSFADE, True)
    ending = min(end, float(rhythm.ending) if rhythm.ending > 0 else end)
    n = max(1, int(ending // BLOCK))
    bounds = np.arange(n + 1) * BLOCK
    return _Grid(bounds, 0.0, max(0.0, end - bounds[-1]), end, 1, 1, BLOCK_CROSSFADE, False)


def _paths(sim: np.ndarray, g: _Grid, n_bars: int, banned: set[tuple[int, int]]) -> tuple[list[int], float] | None:
    """Cheapest sequence of ``n_bars`` bars opening with ``g.intro`` bars in order and closing
    with the last ``g.outro``; None when impossible."""
    m = len(g.bounds) - 1
    intro, outro = min(g.intro, m), min(g.outro, m)
    if n_bars < intro + outro or m < 1:
        return None
    R = max(MIN_PIECE_BARS, outro)  # states: bars since the piece started, capped at R
    # jump cost from bar a (just played) to bar j (played next), j != a + 1
    nxt = np.vstack([sim[1:], np.zeros((1, m))])  # nxt[a, j] = sim[a+1, j]
    prev = np.hstack([np.zeros((m, 1)), sim[:, :-1]])  # prev[a, j] = sim[a, j-1]
    like = 0.5 * (nxt + prev)
    like[:, 0] = nxt[:, 0]
    like[m - 1, :] = prev[m - 1, :]
    cost = 1.0 - like + SPLICE_PENALTY
    cost[np.arange(m - 1), np.arange(1, m)] = np.inf  # continuing is not a splice
    cost[:, :intro] = np.inf  # never back into the intro
    for a, j in banned:
        cost[a, j] = np.inf
    INF = np.inf
    best = np.full((m, R), INF)
    best[intro - 1, min(intro, R) - 1] = 0.0
    back = np.zeros((n_bars, m, R, 2), np.int32)
    for k in range(intro, n_bars):
        new = np.full((m, R), INF)
        # continue: (j, r) -> (j + 1, min(r + 1, R))
        for r in range(R):
            r2 = min(r + 1, R - 1)
            cand = best[:-1, r]
            better = cand < new[1:, r2]
            new[1:, r2] = np.where(better, cand, new[1:, r2])
            back[k, 1:, r2] = np.where(better[:, None], np.stack([np.arange(m - 1), np.full(m - 1, r)], 1), back[k, 1:, r2])
        # splice: (a, r >= MIN_PIECE_BARS - 1) -> (j, 0)
        ready = best[:, MIN_PIECE_BARS - 1:].min(1)  # [m]
        rarg = best[:, MIN_PIECE_BARS - 1:].argmin(1) + MIN_PIECE_BARS - 1
        tot = ready[:, None] + cost  # [a, j]
        a = np.argmin(tot, 0)
        val = tot[a, np.arange(m)]
        better = val < new[:, 0]
        new[:, 0] = np.where(better, val, new[:, 0])
        back[k, :, 0] = np.where(better[:, None], np.stack([a, rarg[a]], 1), back[k, :, 0])
        best = new
    r_end = min(outro, R) - 1
    final = best[m - 1, r_end:]
    if not np.isfinite(final).any():
        return None
    r = r_end + int(np.argmin(final))
    total = float(best[m - 1, r])
    path, j = [m - 1], m - 1
    for k in range(n_bars - 1, intro - 1, -1):
        j, r = (int(v) for v in back[k, j, r])
        path.append(j)
    path.reverse()
    return path, total


def _plan_from_path(path: list[int], g: _Grid, sim: np.ndarray, target: float, slack: float,
                    allow_stretch: bool, max_stretch: float, fps: float | None) -> FitPlan:
    b = g.bounds
    pieces, splices, likes = [], [], []
    at = 0.0
    run_from = 0.0  # source start of the current piece (the pickup belongs to the first)
    xf_in = 0.0
    for k in range(1, len(path)):
        a, j = path[k - 1], path[k]
        if j == a + 1:
            continue
        leave, resume = float(b[a + 1]), float(b[j])
        dur = leave - run_from
        pieces.append(Piece(run_from - xf_in, leave, at - xf_in, xf_in))
        at += dur
        splices.append((leave, resume))
        likes.append(0.5 * (sim[min(a + 1, len(sim) - 1), j] + (sim[a, j - 1] if j > 0 else sim[a + 1, j])))
        xf_in = min(g.crossfade, resume, leave)
        run_from = resume
    pieces.append(Piece(run_from - xf_in, g.end, at - xf_in, xf_in))
    natural = at + (g.end - run_from)
    seamless = float(min(likes)) if likes else 1.0
    frame = 1.0 / (fps or 30.0)
    stretch = 1.0
    if allow_stretch and abs(natural - target) > frame / 2:
        stretch = float(np.clip(natural / target, 1 - max_stretch, 1 + max_stretch))
    rest = natural / stretch - target
    trim, fade = 0.0, 0.0
    if frame / 2 < rest <= TRIM_TAIL * g.tail:  # too long by less than the ring-out: shorten it
        trim = rest
        fade = min(0.5, g.tail - trim)
    length = natural / stretch - trim
    note = ""
    if abs(length - target) > max(slack, frame / 2) and not (allow_stretch and abs(length - target) <= frame / 2):
        note = (f"lands {length - target:+.2f} s off the target (slack {slack:g} s)"
                + ("; more than a 3 % stretch would be needed" if allow_stretch
                   else "; allow a time-stretch to land exactly"))
    return FitPlan(tuple(pieces), float(length), float(stretch), seamless, tuple(splices), float(natural),
                   float(target), note, fade, float(trim))


def fit_to_length(samples: np.ndarray, rate: int, rhythm: MusicRhythm, length: float, *,
                  slack: float = 0.5, stretch: bool = True, max_stretch: float = MAX_STRETCH,
                  variants: int = 3, fps: float | None = None, similarity: np.ndarray | None = None,
                  start: float = 0.0) -> list[FitPlan]:
    """Re-edits of the track (``samples`` [n] or [n, ch] at ``rate``) that last ``length``
    seconds, best first.

    ``start`` > 0: the re-edit opens at ``start`` s of the track (where the video's cuts were
    found to follow it, :mod:`engine.rhythm.sync`) instead of at its intro; its first bars play
    in order from there, so the cuts that landed on its beats still do, and the real ending is
    kept. Times in the plans are the whole track's.

    With ``stretch`` (default) the music's end lands on the target to the frame (``fps``,
    default 30): a plan more than half a frame off is time-stretched, by at most
    ``max_stretch``. Without it (or beyond that limit) a plan lands within ``slack`` seconds
    when whole bars allow, else its ``note`` says how far off it is. Up to 60 % of the
    ring-out after the real ending may be cut (faded) to land. Ranked: landing to the frame
    (with ``stretch``), then seamlessness less a penalty for stretching (3 % costs 0.15).
    """
    if length <= 0:
        raise ValueError("the target length must be positive")
    if start > 0:
        s0 = int(round(start * rate))
        if s0 >= len(samples) - rate:
            raise ValueError(f"the start {start:.2f} s is at or past the end of the track's sound")
        plans = fit_to_length(samples[s0:], rate, rhythm_from(rhythm, s0 / rate), length, slack=slack,
                              stretch=stretch, max_stretch=max_stretch, variants=variants, fps=fps)
        return [_shifted(p, s0 / rate) for p in plans]
    g = _grid(rhythm, samples, rate)
    m = len(g.bounds) - 1
    if similarity is None:
        beats_per_bar = (rhythm.meter or 4) if g.on_beat else 4
        similarity = bar_similarity(bar_features(samples, rate, g.bounds, beats_per_bar), beats_per_bar)
    fixed = g.pickup + g.tail
    bar = float(np.median(np.diff(g.bounds))) if m else BLOCK
    if length < fixed + (g.intro + g.outro) * bar - 1e-9 or m < g.intro + g.outro:
        return [_short_plan(g, length)]
    ideal = (length - fixed) / bar
    counts = sorted({max(g.intro + g.outro, int(np.floor(ideal))), max(g.intro + g.outro, int(np.ceil(ideal)))},
                    key=lambda n: abs(n - ideal))
    plans: list[FitPlan] = []
    seen = set()
    for n_bars in counts + [counts[0] - 1, counts[-1] + 1]:
        banned: set[tuple[int, int]] = set()
        for _ in range(max(1, variants)):
            found = _paths(similarity, g, n_bars, banned)
            if found is None:
                break
            path, _ = found
            plan = _plan_from_path(path, g, similarity, length, slack, stretch, max_stretch, fps)
            key = plan.splices
            if key not in seen:
                seen.add(key)
                plans.append(plan)
            if not plan.splices:
                break
            banned |= {(path[k - 1], path[k]) for k in range(1, len(path)) if path[k] != path[k - 1] + 1}
    if not g.on_beat:
        plans = [FitPlan(**{**p.__dict__, "note": "; ".join(x for x in ("no steady beat: spliced between "
                                                                      "similar 2 s blocks", p.note) if x),
                           "on_downbeats": False})
                 for p in plans]
    ok = [p for p in plans if not p.note or not g.on_beat and "lands" not in p.note]
    rest = [p for p in plans if p not in ok]
    frame = 1.0 / (fps or 30.0)
    ok.sort(key=lambda p: (stretch and abs(p.error) > frame / 2,  # to the frame first, when asked
                           -(p.seamlessness - 5 * abs(p.stretch - 1)), abs(p.error)))
    rest.sort(key=lambda p: abs(p.error))
    return (ok + rest)[: max(1, variants)]


def rhythm_from(rhythm: MusicRhythm, start: float) -> MusicRhythm:
    """The rhythm of the track from ``start`` s on, on that part's own clock (0 = ``start``):
    beats, downbeats, sections, energy, ending and end of sound shifted; a section starts at 0."""
    b = np.asarray(rhythm.beats, np.float64)
    keep = b >= start - 1e-6
    d = np.asarray(rhythm.downbeats, np.float64)
    sec = np.asarray(rhythm.sections, np.float64)
    pos = np.asarray(rhythm.beat_positions)
    return replace(rhythm, duration=max(0.0, rhythm.duration - start), beats=b[keep] - start,
                   downbeats=d[d >= start - 1e-6] - start,
                   sections=np.concatenate([[0.0], sec[sec > start + 1e-6] - start]),
                   energy=np.asarray(rhythm.energy)[int(start * rhythm.energy_rate):],
                   ending=max(0.0, rhythm.ending - start), sound_end=max(0.0, rhythm.sound_end - start),
                   beat_positions=pos[keep] if len(pos) == len(b) else pos)


def _shifted(plan: FitPlan, by: float) -> FitPlan:
    """``plan`` (of a part of the track from ``by`` s) in the whole track's times."""
    pieces = tuple(replace(q, source_start=q.source_start + by, source_end=q.source_end + by) for q in plan.pieces)
    return replace(plan, pieces=pieces, splices=tuple((a + by, b + by) for a, b in plan.splices))


def _short_plan(g: _Grid, length: float) -> FitPlan:
    """Shorter than the intro and ending together: the opening, faded out."""
    fade = min(2.0, length / 4)
    return FitPlan((Piece(0.0, min(length, g.end), 0.0, 0.0),), float(length), 1.0, 1.0, (), float(g.end),
                   float(length), "shorter than the track's intro and ending: its opening, faded out", fade,
                   float(g.end - length))


# --- rendering ------------------------------------------------------------------------------


def render_pieces(samples: np.ndarray, rate: int, pieces: tuple[Piece, ...] | list[Piece], *,
                  stretch: float = 1.0, length: float | None = None, fade_out: float = 0.0) -> np.ndarray:
    """The re-edit as float32 [n_out, ch] (or [n_out] for mono input): pieces placed at
    ``at`` with equal-power crossfades, then time-stretched (``stretch``, pitch kept), then
    padded with silence or trimmed (with a 20 ms fade) to exactly ``round(length * rate)``
    samples when ``length`` is given."""
    x = np.asarray(samples, np.float32)
    mono = x.ndim == 1
    x = x[:, None] if mono else x
    if not pieces:
        out = np.zeros((0, x.shape[1]), np.float32)
    else:
        ends = [round(p.at * rate) + round(p.source_end * rate) - round(p.source_start * rate) for p in pieces]
        out = np.zeros((max(ends), x.shape[1]), np.float32)
        for i, p in enumerate(pieces):
            a, b = round(p.source_start * rate), round(p.source_end * rate)
            seg = x[max(0, a):max(0, min(b, len(x)))].astype(np.float32).copy()
            if a < 0:
                seg = np.vstack([np.zeros((-a, x.shape[1]), np.float32), seg])
            gain = np.ones(len(seg), np.float32)
            n_in = min(len(seg), round(p.crossfade * rate))
            if n_in > 0:
                gain[:n_in] *= np.sin(0.5 * np.pi * (np.arange(n_in) + 0.5) / n_in)
            nxt = pieces[i + 1] if i + 1 < len(pieces) else None
            n_out = min(len(seg), round(nxt.crossfade * rate)) if nxt is not None else 0
            if n_out > 0:
                gain[len(seg) - n_out:] *= np.cos(0.5 * np.pi * (np.arange(n_out) + 0.5) / n_out)
            o = round(p.at * rate)
            out[o:o + len(seg)] += seg * gain[:, None]
    if abs(stretch - 1.0) > 1e-6 and len(out):
        out = time_stretch(out, rate, stretch)
    if fade_out > 0 and len(out):
        n = min(len(out), round(fade_out * rate))
        target_n = round(length * rate) if length is not None else len(out)
        end = min(len(out), target_n)
        out[end - n:end] *= np.linspace(1, 0, n, dtype=np.float32)[:, None]
        out[end:] = 0
    if length is not None:
        n = round(length * rate)
        if len(out) > n:
            out = out[:n].copy()
            k = min(n, round(0.02 * rate))
            out[n - k:] *= np.linspace(1, 0, k, dtype=np.float32)[:, None]
        elif len(out) < n:
            out = np.vstack([out, np.zeros((n - len(out), out.shape[1]), np.float32)])
    return out[:, 0] if mono else out


def render_plan(samples: np.ndarray, rate: int, plan: FitPlan, *, exact: bool = True) -> np.ndarray:
    """The plan as audio: pieces, stretch, the trimmed ring-out faded, and (``exact``)
    exactly ``plan.target`` long (to the sample)."""
    y = render_pieces(samples, rate, plan.pieces, stretch=plan.stretch, length=plan.length, fade_out=plan.fade_out)
    if exact:
        y = render_pieces(y, rate, (Piece(0.0, len(y) / rate, 0.0),), length=plan.target)
    return y


def time_stretch(samples: np.ndarray, rate: int, factor: float) -> np.ndarray:
    """Play ``factor`` times faster with the pitch kept (:func:`engine.mix.stretch.time_stretch`:
    FFmpeg ``atempo``, aligned). float32 [n, ch] -> float32 [round(n / factor), ch]."""
    from engine.mix.stretch import time_stretch as stretch

    return stretch(samples, rate, factor)


def fitted_cue(plan: FitPlan, music_path: str, title: str, *, start: float = 0.0, item_id: int | None = None):
    """The plan as a :class:`~engine.mix.cuesheet.Cue` from video time ``start``, ``plan.target``
    long: its pieces and its stretch, so the mix, the preview and the OTIO play the re-edit."""
    from engine.mix.cuesheet import Cue

    first = plan.pieces[0].source_start if plan.pieces else 0.0
    note = "fit to length" + (f", {100 * (plan.stretch - 1):+.1f} % tempo" if abs(plan.stretch - 1) > 1e-6 else "")
    if plan.splices:
        note += f", {len(plan.splices)} splice{'s' * (len(plan.splices) > 1)}" + " on downbeats" * plan.on_downbeats
    if plan.note:
        note += f" ({plan.note})"
    return Cue(str(music_path), title, float(start), float(start + plan.target), float(first), item_id,
               pieces=tuple(plan.pieces), note=note, stretch=float(plan.stretch))


# --- files ----------------------------------------------------------------------------------

WRITABLE = (".wav", ".flac", ".ogg")
"""Audio formats :func:`write_fit` writes (through soundfile)."""


def fit_file(path, length: float, *, rhythm: MusicRhythm | None = None, rate: int = 48000,
             slack: float = 0.5, stretch: bool = True, fps: float | None = None,
             variants: int = 3, start: float = 0.0) -> tuple[list[FitPlan], np.ndarray, int]:
    """Decode a track (stereo at ``rate``), analyse its rhythm unless given, and fit it from
    ``start`` (:func:`fit_to_length`): (plans best first, samples float32 [n, 2], rate). Media
    errors are :mod:`engine.media`'s."""
    from engine.media.audio import decode_audio_channels

    x = np.ascontiguousarray(decode_audio_channels(path, rate, layout="stereo").T)  # [n, 2]
    if len(x) == 0:
        from engine.media.errors import CorruptMedia

        raise CorruptMedia(path, "no audio could be decoded; the file is damaged or empty")
    if rhythm is None:
        from engine.rhythm.music import analyse_rhythm

        rhythm = analyse_rhythm(x.mean(1), rate)
    return (fit_to_length(x, rate, rhythm, length, slack=slack, stretch=stretch, fps=fps, variants=variants,
                          start=start), x, rate)


def write_fit(out, samples: np.ndarray, rate: int, plan: FitPlan) -> None:
    """Render ``plan`` exactly ``plan.target`` long and write it atomically (.wav, .flac, .ogg)."""
    from pathlib import Path

    import soundfile

    from engine.atomic import atomic_path

    out = Path(out)
    if out.suffix.lower() not in WRITABLE:
        raise ValueError(f"write the re-edit as {', '.join(WRITABLE)} (got {out.name})")
    y = render_plan(samples, rate, plan)
    peak = float(np.abs(y).max()) if len(y) else 0.0
    if peak > 1.0:  # crossfades of loud masters can sum past full scale
        y = y / peak
    with atomic_path(out, suffix=out.suffix) as tmp:
        soundfile.write(str(tmp), y, rate, subtype="PCM_16" if out.suffix.lower() != ".ogg" else None)


__all__ = ["FitPlan", "fit_to_length", "rhythm_from", "fitted_cue", "fit_file", "write_fit", "render_pieces", "render_plan", "time_stretch",
           "bar_features", "bar_similarity", "sound_end", "MAX_STRETCH", "CROSSFADE"]
