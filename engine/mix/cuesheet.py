"""The cue sheet: data only (no decoding), saved with the project as JSON.

Times on the video's timeline are ``start``/``end``; ``in_point`` is the second of the track
that plays at ``start``. A whole-video pick is one cue covering ``[0, duration)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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


@dataclass(frozen=True)
class CueSheet:
    cues: tuple[Cue, ...] = ()
    """Sorted by ``start``, not overlapping except for the crossfades."""
    crossfade: float = 1.0
    """Seconds of equal-power crossfade between adjacent cues."""
    fade_in: float = 0.5
    fade_out: float = 2.0


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
