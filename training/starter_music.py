"""The starter world's music: the demo's ten styles with wider tempi, 3/4 and swing, and four more.

The synthesizer is the demo's (:mod:`training.demo_music`); this module only draws wider
song plans from it and adds styles:

- **Tempi** per style are wider than the demo's (:data:`TEMPI`): rock from 85 to 180 BPM,
  piano from 55 to 110, so tempo alone no longer names the style.
- **Meter**: the styles in :data:`WALTZ` are in 3/4 in about a third of the tracks (a
  16-step pattern is then cut to the bar's 12 steps, see ``demo_music._Arranger.part``).
- **Swing**: per track, within :data:`SWING` (piano and folk swing sometimes, jazz always).
- **Four more styles** (:data:`EXTRA_STYLES`): house, drum and bass, jazz and lo-fi, made
  from the demo's instruments. :func:`register` adds them to the demo's style and
  arrangement tables (it never changes the demo's own ten or their order).
"""

from __future__ import annotations

import numpy as np

from training.demo_music import ARRANGEMENTS, STYLE_ORDER, STYLES, Part, Style, TrackSpec, _structure

P = Part
EXTRA_STYLES: dict[str, tuple[Style, tuple[Part, ...]]] = {
    "house": (Style("house", (115, 128), ("minor", "major"), 0.0, -13.5, (1.0, 0.15), 0.8, 2), (
        P("kick", "x...x...x...x...", gain=0.85, lo=0.25, wet=0.02),
        P("ohat", "..x...x...x...x.", gain=0.3, lo=0.4, pan=0.3),
        P("clap", "....x.......x...", gain=0.3, lo=0.5),
        P("piano", "x..x..x...x..x..", "chord", 60, 0.3, lo=0.3, pan=-0.2, wet=0.3),
        P("bass", "..0...0...0...3.", "tone", 36, 0.45, lo=0.3),
        P("pad", "x" + "-" * 31, "chord", 55, 0.15, hi=0.5, wet=0.7),
    )),
    "dnb": (Style("dnb", (160, 178), ("minor",), 0.0, -13.0, (1.4, 0.2), 0.95, 2), (
        P("kick", "x.........x.....", gain=0.8, lo=0.35, wet=0.02),
        P("snare", "....x.......x..o", gain=0.6, lo=0.35),
        P("hat", "x.xox.xox.xox.xo", gain=0.25, lo=0.35, pan=0.3),
        P("sub808", "0.........0.....", "tone", 31, 0.6, lo=0.35),
        P("pad", "x" + "-" * 31, "chord", 55, 0.25, wet=0.8),
        P("stab", "x.......x.......", "chord", 67, 0.12, lo=0.8, pan=0.3, wet=0.6),
    )),
    "jazz": (Style("jazz", (90, 160), ("major", "minor"), 0.3, -20.0, (1.2, 0.2), 0.45, 1), (
        P("ride", "x...x.x.x...x.x.", gain=0.2, pan=0.35),
        P("snare", "......o.......o.", gain=0.12, lo=0.4, pan=-0.2),
        P("kickrock", "x...............", gain=0.15, lo=0.5),
        P("bass", "0...2...3...4...", "tone", 33, 0.5),
        P("epiano", "...x-.....x-....", "chord", 57, 0.22, pan=-0.3, wet=0.3),
        P("epiano", "x-x.x-x.x---x.x.", "melody", 69, 0.3, lo=0.35, pan=0.3, wet=0.3),
    )),
    "lofi": (Style("lofi", (64, 86), ("minor", "major"), 0.3, -19.0, (1.0, 0.25), 0.3, 2), (
        P("kick808", "x......x..x.....", gain=0.55, lo=0.2, wet=0.0),
        P("snare", "....x.......x...", gain=0.35, lo=0.2),
        P("hat", "x.x.x.x.x.x.x.x.", gain=0.15, lo=0.3, pan=0.3),
        P("epiano", "x-------x-------", "chord", 55, 0.3, wet=0.5),
        P("bass", "0.......0...2...", "tone", 36, 0.35, lo=0.3),
        P("piano", "x---x-----x-----", "melody", 72, 0.15, lo=0.45, pan=0.35, wet=0.6),
    )),
}

TEMPI: dict[str, tuple[float, float]] = {
    "ambient": (50, 90), "techno": (118, 140), "piano": (55, 110), "rock": (85, 180), "strings": (56, 120),
    "chiptune": (110, 180), "hiphop": (70, 100), "harpsichord": (80, 132), "folk": (80, 140), "indian": (60, 120),
    "house": (115, 128), "dnb": (160, 178), "jazz": (90, 160), "lofi": (64, 86),
}
"""BPM range per style (wider than :data:`training.demo_music.STYLES`' own)."""
WALTZ = frozenset({"piano", "strings", "folk", "harpsichord", "ambient", "jazz"})
"""Styles whose tracks are in 3/4 about a third of the time."""
SWING: dict[str, tuple[float, float]] = {"piano": (0.0, 0.2), "folk": (0.0, 0.2), "hiphop": (0.15, 0.33),
                                         "jazz": (0.25, 0.33), "lofi": (0.2, 0.33), "house": (0.0, 0.12)}
"""Swing per track (the off 16th late by this part of a 16th), drawn in this range."""


def register() -> tuple[str, ...]:
    """Add :data:`EXTRA_STYLES` to the demo synthesizer's tables (idempotent); returns the
    starter's styles: the demo's ten, then the four new ones."""
    for name, (style, parts) in EXTRA_STYLES.items():
        STYLES.setdefault(name, style)
        ARRANGEMENTS.setdefault(name, parts)
    return STYLE_ORDER + tuple(EXTRA_STYLES)


STARTER_STYLES = register()


def plan_starter_track(index: int, seed: int, seconds: float, style: str) -> TrackSpec:
    """Draw a track of ``style`` at least ``seconds`` long (plus its tail): tempo from
    :data:`TEMPI`, meter (3/4 sometimes for :data:`WALTZ`), swing, key, mode, song structure."""
    rng = np.random.default_rng([seed, index, 71])
    st = STYLES[style]
    bpm = float(np.round(rng.uniform(*TEMPI[style])))
    beats = 3 if style in WALTZ and rng.random() < 0.33 else 4
    lo, hi = SWING.get(style, (st.swing, st.swing))
    swing = round(float(rng.uniform(lo, hi)), 3)
    bar_s = beats * 60.0 / bpm
    tail = 2.0 if st.reverb[0] > 2 else 1.0
    n_bars = max(4, int(np.ceil(seconds / bar_s)))
    return TrackSpec(index, style, int(rng.integers(2**31)), bpm, int(rng.integers(12)), str(rng.choice(st.modes)),
                     swing, beats, _structure(n_bars, bar_s, rng), tail)
