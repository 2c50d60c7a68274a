"""The cue sheet: data only (no decoding), saved with the project as JSON.

Times on the video's timeline are ``start``/``end``; ``in_point`` is the second of the track
that plays at ``start``. A whole-video pick is one cue covering ``[0, duration)``.

The editing operations are pure: each returns a new :class:`CueSheet` (the dataclasses are
frozen), so the app can keep the previous sheet for undo and a worker can render a sheet
while the editor goes on editing. Scene-wise edits take ``bounds``, the scene boundaries of
the video (``[starts..., last end]``, seconds, sorted), and move a cue's edges from one
boundary to the next. A cue placed over others cuts them: what stays of a cut cue keeps
playing the same music at the same video time (its ``in_point`` shifts with its start).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

EPS = 1e-6
"""Seconds: two edges closer than this are the same edge."""
FORMAT = "mvpt-cuesheet"
VERSION = 2
"""2 added ``Cue.stretch`` (a fit plan's tempo factor). A sheet that stretches nothing is
still written as version 1, so older versions of the app keep reading it."""


@dataclass(frozen=True)
class Piece:
    """One stretch of a re-edited track (fit to length): ``source_start..source_end`` of the
    track plays from ``at`` seconds after the cue's start; pieces crossfade on the splice."""
    source_start: float
    source_end: float
    at: float
    crossfade: float = 0.0


@dataclass(frozen=True)
class Cue:
    music_path: str
    title: str
    start: float
    """Video time (s) where this cue begins."""
    end: float
    """Video time (s) where it ends."""
    in_point: float
    """Track time (s) heard at ``start``."""
    item_id: int | None = None
    gain_db: float = 0.0
    pieces: tuple[Piece, ...] = ()
    """Empty: the track plays straight from ``in_point``. Otherwise the re-edit to play."""
    note: str = ""
    stretch: float = 1.0
    """Tempo factor of the music (pitch kept): 1.02 plays it 2 % faster, so track time runs
    ``stretch`` seconds per second of video. A fit plan's (at most a few %). ``in_point`` is
    a track time; pieces' ``at`` and lengths are on the unstretched clock of the re-edit (as
    :mod:`engine.rhythm.fit` makes them): a piece is heard from ``start + at / stretch``."""

    @property
    def duration(self) -> float:
        return self.end - self.start

    def trimmed(self, start: float, end: float) -> Cue:
        """This cue cut to ``[start, end)`` (inside its range): the music heard at any video
        time stays the same, so the in-point (and a re-edit's pieces) move with the start."""
        start, end = max(start, self.start), min(end, self.end)
        if end - start <= EPS:
            raise ValueError(f"nothing left of the cue {self.title!r} between {start:.2f} and {end:.2f} s")
        d = start - self.start
        pieces = []
        k = self.stretch  # the pieces' clock runs k seconds per video second
        for p in self.pieces:  # pieces on the cue's own clock: [at, at + length)
            a, b = p.at, p.at + (p.source_end - p.source_start)
            a2, b2 = max(a, d * k), min(b, (d + (end - start)) * k)
            if b2 - a2 > EPS:
                pieces.append(Piece(p.source_start + (a2 - a), p.source_start + (b2 - a), a2 - d * k,
                                    p.crossfade if a2 == a else 0.0))
        return replace(self, start=start, end=end, in_point=self.in_point + d * k, pieces=tuple(pieces))

    def moved(self, start: float) -> Cue:
        """The same cue (same music, same length) starting at video time ``start``."""
        return replace(self, start=start, end=start + self.duration)


def scene_cue(music_path: str, title: str, start: float, end: float, in_point: float,
              item_id: int | None = None, note: str = "") -> Cue:
    """A cue for one scene's suggestion: ``in_point`` is the track time heard at the scene's
    start (a suggestion's segment start). It is never negative: a track cannot start before
    its first second."""
    if end - start <= EPS:
        raise ValueError(f"a cue needs a range: {start:.2f}..{end:.2f} s")
    return Cue(str(music_path), title, float(start), float(end), max(0.0, float(in_point)), item_id, note=note)


@dataclass(frozen=True)
class Transition:
    """Where two adjacent cues crossfade: ``left`` fades out as ``left + 1`` fades in over
    ``duration`` seconds centred on ``at`` (video time)."""
    left: int
    at: float
    duration: float


@dataclass(frozen=True)
class CueSheet:
    cues: tuple[Cue, ...] = ()
    """Sorted by ``start``, not overlapping except for the crossfades."""
    crossfade: float = 1.0
    """Seconds of equal-power crossfade between adjacent cues."""
    fade_in: float = 0.5
    fade_out: float = 2.0

    # -- making sheets ---------------------------------------------------------------------
    @classmethod
    def whole(cls, music_path: str, title: str, duration: float, in_point: float = 0.0,
              item_id: int | None = None, note: str = "", **options: float) -> CueSheet:
        """The whole-video pick: one cue covering ``[0, duration)``."""
        return cls((scene_cue(music_path, title, 0.0, duration, in_point, item_id, note),), **options)

    def placed(self, cue: Cue) -> CueSheet:
        """``cue`` added over its range: cues it overlaps are cut (or split) around it."""
        kept: list[Cue] = []
        for c in self.cues:
            if c.end <= cue.start + EPS or c.start >= cue.end - EPS:
                kept.append(c)
                continue
            if c.start < cue.start - EPS:
                kept.append(c.trimmed(c.start, cue.start))
            if c.end > cue.end + EPS:
                kept.append(c.trimmed(cue.end, c.end))
        kept.append(cue)
        return replace(self, cues=tuple(sorted(kept, key=lambda c: c.start)))

    # -- editing -----------------------------------------------------------------------------
    def _check(self, index: int) -> Cue:
        if not 0 <= index < len(self.cues):
            raise IndexError(f"no cue {index} (the sheet has {len(self.cues)})")
        return self.cues[index]

    def removed(self, index: int) -> CueSheet:
        """Without cue ``index`` (its range becomes silence)."""
        self._check(index)
        return replace(self, cues=self.cues[:index] + self.cues[index + 1:])

    def resized(self, index: int, bounds: Sequence[float], start_by: int = 0, end_by: int = 0) -> CueSheet:
        """Cue ``index`` with its start moved by ``start_by`` scenes and its end by ``end_by``
        (negative: earlier). Extending over a neighbour cuts the neighbour; shortening leaves
        silence. Its music stays where it was on the video's clock. Raises ``ValueError`` when
        the cue would vanish or start before its track does."""
        cue = self._check(index)
        b = sorted(float(x) for x in bounds)
        if len(b) < 2:
            raise ValueError("the video has no scenes to move a cue by")
        i0 = _nearest(b, cue.start) + int(start_by)
        i1 = _nearest(b, cue.end) + int(end_by)
        i0, i1 = max(0, min(i0, len(b) - 1)), max(0, min(i1, len(b) - 1))
        start, end = b[i0], b[i1]
        if end - start <= EPS:
            raise ValueError("a cue covers at least one scene: remove it instead")
        in_point = cue.in_point + (start - cue.start) * cue.stretch
        if in_point < -EPS and not cue.pieces:
            raise ValueError(f"{cue.title!r} cannot start earlier: the track starts at the scene at "
                             f"{cue.start - cue.in_point:.1f} s")
        if start >= cue.start - EPS and end <= cue.end + EPS:
            new = cue.trimmed(start, end)  # shorter on both sides: a plain trim
        else:
            new = replace(cue, start=start, end=end, in_point=max(0.0, in_point),
                          pieces=tuple(replace(p, at=p.at + (cue.start - start) * cue.stretch) for p in cue.pieces))
        return self.removed(index).placed(new)

    def slipped(self, index: int, in_point: float, note: str | None = None) -> CueSheet:
        """Cue ``index`` playing its track from ``in_point`` (track seconds) at its start: the
        music slips under the picture, the cue keeps its place and length (``note``: why it
        starts there now; None keeps the note it had). Raises
        ``ValueError`` for a cue fitted to length (its pieces are a re-edit: fit it again) or
        an in-point before the track's start."""
        cue = self._check(index)
        if cue.pieces:
            raise ValueError(f"{cue.title!r} is fitted to the video's length (a re-edit of the track): "
                             f"use the track again, or fit it again, to move its music")
        if in_point < -EPS:
            raise ValueError(f"{cue.title!r} cannot start {-in_point:.2f} s before its track does")
        cues = list(self.cues)
        cues[index] = replace(cue, in_point=max(0.0, float(in_point)), note=cue.note if note is None else note)
        return replace(self, cues=tuple(cues))

    def moved(self, index: int, delta: int) -> CueSheet:
        """Reorder: cue ``index`` swaps places with its neighbour ``delta`` (−1 earlier, +1
        later). Each keeps its length and music; the pair covers the same span as before
        (the gap between them, if any, stays between them)."""
        self._check(index)
        j = index + (1 if delta > 0 else -1)
        if delta == 0 or not 0 <= j < len(self.cues):
            return self
        lo, hi = min(index, j), max(index, j)
        a, b = self.cues[lo], self.cues[hi]
        gap = b.start - a.end
        b2 = b.moved(a.start)
        a2 = a.moved(b2.end + gap)
        cues = list(self.cues)
        cues[lo], cues[hi] = b2, a2
        return replace(self, cues=tuple(cues))

    # -- reading -----------------------------------------------------------------------------
    def index_at(self, t: float) -> int | None:
        """The cue heard at video time ``t`` (None in a gap)."""
        for i, c in enumerate(self.cues):
            if c.start - EPS <= t < c.end - EPS:
                return i
        return None

    def transitions(self) -> tuple[Transition, ...]:
        """Crossfades between adjacent cues (one ends where the next starts); no longer than
        half of either cue."""
        out = []
        for i in range(len(self.cues) - 1):
            a, b = self.cues[i], self.cues[i + 1]
            if abs(b.start - a.end) <= 1e-3 and self.crossfade > 0:
                out.append(Transition(i, a.end, min(self.crossfade, a.duration / 2, b.duration / 2)))
        return tuple(out)

    @property
    def end(self) -> float:
        return max((c.end for c in self.cues), default=0.0)

    # -- saving ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        stretched = any(abs(c.stretch - 1.0) > 1e-9 for c in self.cues)
        if not stretched:  # readable by version-1 readers, which know no "stretch"
            for c in d["cues"]:
                c.pop("stretch", None)
        return {"format": FORMAT, "version": VERSION if stretched else 1, **d}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, d: dict) -> CueSheet:
        """Read a sheet written by :meth:`to_dict`. Raises ``ValueError`` on anything else."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError("not a cue sheet (no 'format': 'mvpt-cuesheet')")
        if int(d.get("version", 0)) > VERSION:
            raise ValueError(f"a cue sheet of version {d.get('version')}: this app reads up to {VERSION}; update it")
        try:
            cues = []
            for c in d.get("cues", ()):
                pieces = tuple(Piece(**p) for p in c.get("pieces", ()))
                cue = Cue(**{**c, "pieces": pieces, "stretch": float(c.get("stretch", 1.0))})
                if not cue.end > cue.start:
                    raise ValueError(f"cue {cue.title!r} ends before it starts")
                if not 0.5 <= cue.stretch <= 2.0:
                    raise ValueError(f"cue {cue.title!r} has a tempo factor of {cue.stretch} (0.5..2)")
                cues.append(cue)
            options = {k: float(d[k]) for k in ("crossfade", "fade_in", "fade_out") if k in d}
        except (TypeError, KeyError) as e:
            raise ValueError(f"a damaged cue sheet ({e})") from e
        return cls(tuple(sorted(cues, key=lambda c: c.start)), **options)

    @classmethod
    def from_json(cls, text: str) -> CueSheet:
        try:
            d = json.loads(text)
        except ValueError as e:
            raise ValueError(f"a damaged cue sheet (not JSON: {e})") from e
        return cls.from_dict(d)


def _nearest(values: list[float], x: float) -> int:
    return min(range(len(values)), key=lambda i: abs(values[i] - x))


@dataclass(frozen=True)
class MixSettings:
    duck: bool = True
    """Lower the music under speech in the footage's own sound."""
    duck_depth_db: float = -12.0
    attack: float = 0.15
    release: float = 0.6
    lookahead: float = 0.2
    hold: float = 0.4
    """Pauses in speech shorter than this keep the music down (no pumping)."""
    original: str = "speech"
    """The footage's own sound: "full", "speech" (full under speech, ``original_level``
    elsewhere) or "off"."""
    original_level: float = 0.25
    loudness_target: float | None = -14.0
    """Integrated LUFS of the master (web -14, broadcast -23); None keeps the levels."""
    true_peak: float = -1.0
    """dBTP ceiling of the master."""
    extra: dict = field(default_factory=dict)
