"""Procedural music for the demo world: styles, song plans and a numpy synthesizer.

Generative story
----------------
A track is drawn, reproducibly from ``(seed, index)``, out of one :class:`Style`. A style is
what a listener (and musicnn) recognises: a tempo range, the modes it uses, its swing, its
loudness and room, and an *arrangement* (:data:`ARRANGEMENTS`): which instruments play which
16-step patterns, in which register, and from which section energy on. The track itself
picks a tempo, a key, a mode and a song structure: a sequence of :class:`Section` s (intro,
verse, chorus, breakdown, outro) of whole bars, each with an energy in [0, 1]. Energy
decides which parts play (drums and lead enter in the chorus, leave in the breakdown), how
loud they are and how bright the instruments sound, so the music changes over time the way
songs do. Harmony follows a chord progression per section type (so every chorus is the same
chorus) and melodies repeat a 4-bar motif per section type. Footage is cut to the same plan
(:mod:`training.demo_footage`): bars, beats and section energies are shared.

Instruments (:mod:`training.demo_instruments`) are small numpy synths: additive tones with per-partial decay (piano, plucked
guitar, harpsichord, sitar with a moving "jawari" formant, electric piano), detuned saws
(pads, strings with vibrato, acid bass with a swept resonance), naive pulse waves
(chiptune), distorted power chords, and drums from filtered noise and swept sines. Each
distinct note is rendered once per track and placed many times.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np

from training.demo_instruments import (  # noqa: F401 - SR is re-exported
    INSTRUMENTS,
    SR,
    additive,
    drum,
    fft_filter,
    hz,
    noise,
    reverb,
)

MAJOR, MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)
KEYS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass(frozen=True)
class Style:
    name: str
    tempo: tuple[float, float]  # bpm range
    modes: tuple[str, ...]  # "major" / "minor"
    swing: float  # 0: straight 16ths; 0.33: strongly swung (the off 16th is late by this part of a 16th)
    loudness_db: float  # target RMS of the master in dBFS (calm styles are quieter)
    reverb: tuple[float, float]  # (RT60 seconds, send level)
    intensity: float  # how energetic the style is overall, in [0, 1] (the footage reads it)
    bars_per_chord: int = 1


STYLES: dict[str, Style] = {s.name: s for s in (
    Style("ambient", (60, 76), ("major", "minor"), 0.0, -25.0, (5.0, 0.7), 0.1, 2),
    Style("techno", (124, 134), ("minor",), 0.0, -13.0, (1.2, 0.15), 0.9, 2),
    Style("piano", (62, 80), ("major", "minor"), 0.0, -23.0, (2.2, 0.35), 0.25),
    Style("rock", (120, 156), ("major", "minor"), 0.0, -13.0, (1.0, 0.12), 0.95),
    Style("strings", (66, 92), ("minor", "major"), 0.0, -21.0, (2.5, 0.4), 0.35),
    Style("chiptune", (132, 160), ("major", "minor"), 0.0, -15.0, (0.3, 0.03), 0.8),
    Style("hiphop", (84, 96), ("minor",), 0.28, -14.0, (0.8, 0.1), 0.6),
    Style("harpsichord", (96, 120), ("major", "minor"), 0.0, -20.0, (1.4, 0.2), 0.45),
    Style("folk", (92, 118), ("major",), 0.1, -18.0, (1.0, 0.15), 0.5),
    Style("indian", (76, 104), ("bhairav", "kafi"), 0.0, -19.0, (1.6, 0.25), 0.4),
)}
STYLE_ORDER = tuple(STYLES)
"""Tracks cycle through the styles in this order (calm and energetic alternate early on)."""


@dataclass(frozen=True)
class Section:
    name: str  # intro, verse, chorus, breakdown, outro
    start_bar: int
    bars: int
    energy: float  # in [0, 1], relative within the song


@dataclass(frozen=True)
class TrackSpec:
    """Everything needed to render a track (and to cut footage to it); JSON-serialisable."""
    index: int
    style: str
    seed: int
    bpm: float
    key: int  # pitch class of the tonic, 0 = C
    mode: str
    swing: float
    beats_per_bar: int
    sections: tuple[Section, ...]
    tail: float  # seconds of ring-out after the last bar

    @property
    def beat_seconds(self) -> float:
        return 60.0 / self.bpm

    @property
    def bar_seconds(self) -> float:
        return self.beats_per_bar * self.beat_seconds

    @property
    def bars(self) -> int:
        return sum(s.bars for s in self.sections)

    @property
    def duration(self) -> float:
        return self.bars * self.bar_seconds + self.tail

    @property
    def key_name(self) -> str:
        return f"{KEYS[self.key]} {self.mode}"

    def section_at(self, seconds: float) -> Section:
        bar = int(max(0.0, seconds) // self.bar_seconds)
        for s in self.sections:
            if bar < s.start_bar + s.bars:
                return s
        return self.sections[-1]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> TrackSpec:
        return cls(**{**d, "sections": tuple(Section(**s) for s in d["sections"])})

    def key_hash(self, version: int) -> str:
        """A short digest of the spec (and the synth version): a cached file is reused only
        when it was made from exactly this."""
        text = json.dumps([version, self.to_json(), SR], sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]


def plan_track(index: int, seed: int, seconds: tuple[float, float], style: str | None = None) -> TrackSpec:
    """Draw track ``index``: style (round-robin over :data:`STYLE_ORDER`), tempo, key, mode and
    a song structure of whole bars whose length lands inside ``seconds``."""
    rng = np.random.default_rng([seed, index, 7])
    st = STYLES[style or STYLE_ORDER[index % len(STYLE_ORDER)]]
    bpm = float(np.round(rng.uniform(*st.tempo)))
    beats = 4
    bar_s = beats * 60.0 / bpm
    tail = 2.0 if st.reverb[0] > 2 else 1.0
    target = rng.uniform(*seconds)
    n_bars = max(4, int((target - tail) // bar_s))
    while n_bars * bar_s + tail > seconds[1] and n_bars > 4:
        n_bars -= 1
    while n_bars * bar_s + tail < seconds[0]:
        n_bars += 1
    return TrackSpec(index, st.name, int(rng.integers(2**31)), bpm, int(rng.integers(12)),
                     str(rng.choice(st.modes)), st.swing, beats, _structure(n_bars, bar_s, rng), tail)


def _structure(n_bars: int, bar_s: float, rng: np.random.Generator) -> tuple[Section, ...]:
    """intro, (verse, chorus) ..., a breakdown after the second chorus, a last chorus, outro.
    Sections last 4 or 8 bars (about 8 to 25 s); short songs use 2 and 4."""
    long = 8 if bar_s * 8 <= 26 else 4
    unit = long if n_bars >= 6 * long else max(2, long // 2)
    small = max(2, unit // 2)
    plan = [("intro", small, 0.2)]
    body = [("verse", unit, 0.45), ("chorus", unit, 0.85), ("verse", unit, 0.5), ("chorus", unit, 0.9),
            ("breakdown", small, 0.25), ("chorus", unit, 1.0)]
    i = 0
    while sum(b for _, b, _ in plan) + small < n_bars:
        plan.append(body[i % len(body)] if i < len(body) else body[1 + (i - len(body)) % 2])
        i += 1
    plan.append(("outro", small, 0.2))
    excess = sum(b for _, b, _ in plan) - n_bars  # trim the last body section(s)
    while excess > 0 and len(plan) > 2:
        name, b, e = plan[-2]
        cut = min(excess, b - 1)
        plan[-2] = (name, b - cut, e)
        excess -= cut
        if cut == 0:
            plan.pop(-2)
    if excess > 0:
        plan[-1] = ("outro", max(1, plan[-1][1] - excess), 0.2)
    sections, bar = [], 0
    for name, b, e in plan:
        energy = float(np.clip(e + rng.uniform(-0.05, 0.05), 0.0, 1.0))
        sections.append(Section(name, bar, b, round(energy, 3)))
        bar += b
    return tuple(sections)


# --- synthesis primitives -----------------------------------------------------------------

RING = {"piano": 1.6, "pluck": 1.2, "harpsichord": 0.8, "sitar": 1.0, "epiano": 0.9, "tanpura": 3.0}
"""Decaying instruments ring on past the written note (a sustain pedal, an open string)."""
SCALES = {"major": MAJOR, "minor": MINOR, "bhairav": (0, 1, 4, 5, 7, 8, 11), "kafi": (0, 2, 3, 5, 7, 9, 10)}
PROGRESSIONS = {"major": ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 0, 4), (5, 3, 0, 4)),
                "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 5, 3, 4))}
CHORD_TONES = (0, 2, 4, 7, 9, 11, 14)  # scale-degree offsets: root, 3rd, 5th, octave, 10th, 12th, 2 oct
SECTION_IDS = {"intro": 0, "verse": 1, "chorus": 2, "breakdown": 3, "outro": 4}


@dataclass(frozen=True)
class Part:
    """One line of an arrangement, played in every bar whose section energy lies in [lo, hi).

    ``pattern`` has 16 steps per bar (longer patterns span several bars). Per ``kind``:
    drum: ``x`` hit, ``o`` ghost, ``S`` only on a section's first bar; tone: a digit is a
    chord tone (0 root, 1 third, 2 fifth, 3 octave ...); chord: ``x`` the whole triad;
    power: ``x`` a power chord, ``m`` palm-muted; strum: ``d``/``u`` strums; melody: ``x`` a
    note of the section's motif. ``-`` holds the previous note."""
    inst: str
    pattern: str
    kind: str = "drum"
    reg: int = 48  # MIDI note of C in the part's octave (the key is added)
    gain: float = 0.5
    lo: float = 0.0
    hi: float = 1.01
    pan: float = 0.0
    wet: float = 0.2
    bus: str = ""  # "dist": summed, overdriven and low-passed together (electric guitar)


P = Part
ARRANGEMENTS: dict[str, tuple[Part, ...]] = {
    "ambient": (
        P("pad", "x" + "-" * 31, "chord", 52, 0.5, wet=0.8),
        P("pad", "0" + "-" * 31, "tone", 36, 0.4),
        P("pad", "x" + "-" * 31, "chord", 64, 0.25, lo=0.4, pan=0.5, wet=0.9),
        P("epiano", "x-------........x-----------....", "melody", 72, 0.22, lo=0.3, pan=-0.4, wet=1.0),
        P("flute", "x-----------....x-------........", "melody", 76, 0.12, lo=0.8, pan=0.3, wet=0.9),
    ),
    "techno": (
        P("kick", "x...x...x...x...", gain=0.9, lo=0.3, wet=0.02),
        P("clap", "....x.......x...", gain=0.35, lo=0.5),
        P("hat", "ooxoooxoooxoooxo", gain=0.35, pan=0.3),
        P("ohat", "..x...x...x...x.", gain=0.3, lo=0.6, pan=-0.3),
        P("acid", "0.0030.00.0.3.02", "tone", 36, 0.4, lo=0.4, wet=0.1),
        P("pad", "x" + "-" * 31, "chord", 48, 0.2, wet=0.6),
        P("stab", "...x.....x....x.", "chord", 60, 0.25, lo=0.75, pan=-0.2, wet=0.5),
        P("crash", "S...............", gain=0.4, lo=0.8),
    ),
    "piano": (
        P("piano", "0.2.3.2.0.2.3.2.", "tone", 36, 0.35, wet=0.35),
        P("piano", "x---x-x-x-------", "melody", 67, 0.45, lo=0.3),
        P("piano", "x-------........", "chord", 60, 0.22, lo=0.75),
    ),
    "rock": (
        P("kickrock", "x.......x.x.....", gain=0.36, lo=0.3, wet=0.25),
        P("snarerock", "....x.......x...", gain=0.28, lo=0.3, wet=0.25),
        P("hat", "x.x.x.x.x.x.x.x.", gain=0.16, lo=0.3, hi=0.7, pan=0.3, wet=0.25),
        P("ohat", "x.x.x.x.x.x.x.x.", gain=0.12, lo=0.7, pan=0.3, wet=0.25),
        P("crash", "S...............", gain=0.25, lo=0.7),
        P("guitar", "x-------x---x---", "power", 40, 0.4, hi=0.35, bus="dist"),
        P("guitar", "x-x-x-x-x-x-x-x-", "power", 40, 0.4, lo=0.35, bus="dist"),
        P("bass", "0.0.0.0.0.0.0.0.", "tone", 28, 0.5, lo=0.3),
    ),
    "strings": (
        P("strings", "x---------------", "chord", 55, 0.35, pan=0.3, wet=0.5),
        P("strings", "0-------0-------", "tone", 36, 0.45, pan=-0.3),
        P("strings", "x-------x---x---", "melody", 72, 0.35, lo=0.4, pan=0.1, wet=0.4),
        P("spiccato", "0.0.0.0.2.2.0.0.", "tone", 48, 0.3, lo=0.75),
    ),
    "chiptune": (
        P("square", "0123012301230123", "tone", 60, 0.25, pan=0.2, wet=0.0),
        P("square50", "x.x-x.x-x---x.x.", "melody", 72, 0.3, lo=0.4, pan=-0.2, wet=0.0),
        P("triangle", "0.0.3.0.0.0.3.0.", "tone", 36, 0.5, wet=0.0),
        P("kickchip", "x...x...x...x...", gain=0.7, lo=0.4, wet=0.0),
        P("chipsnare", "....x.......x...", gain=0.5, lo=0.4, wet=0.0),
        P("chiphat", "x.x.x.x.x.x.x.x.", gain=0.3, lo=0.3),
    ),
    "hiphop": (
        P("kick808", "x......x..x.....", gain=0.9, lo=0.3, wet=0.0),
        P("snare", "....x.......x...", gain=0.7, lo=0.3),
        P("hat", "x.xox.xox.xox.xx", gain=0.35, lo=0.3, pan=0.3),
        P("sub808", "0......0..0.....", "tone", 36, 0.5, lo=0.3),
        P("epiano", "x---------..x---", "chord", 55, 0.15, wet=0.3),
        P("epiano", "x.x...x.........", "melody", 72, 0.08, lo=0.8, pan=0.4),
    ),
    "harpsichord": (
        P("harpsichord", "0.2.1.2.0.2.1.2.", "tone", 48, 0.3, hi=0.7, pan=-0.2),
        P("harpsichord", "0212021202120212", "tone", 48, 0.3, lo=0.7, pan=-0.2),
        P("harpsichord", "x---x-x-x-x-x---", "melody", 67, 0.35, lo=0.3, pan=0.2),
        P("harpsichord", "0-------3-------", "tone", 36, 0.3),
    ),
    "folk": (
        P("pluck", "d.d.du.ud.d.du.u", "strum", 40, 0.25, pan=-0.2),
        P("pluck", "x---x-x-x---x---", "melody", 64, 0.3, lo=0.4, pan=0.3),
        P("shaker", "x.o.x.o.x.o.x.o.", gain=0.25, lo=0.5, pan=0.4),
        P("bass", "0.......2.......", "tone", 36, 0.35, lo=0.6),
        P("kickrock", "x.......x.......", gain=0.4, lo=0.75),
    ),
    "indian": (
        P("tanpura", "2...0...0...0...", "tone", 48, 0.08, wet=0.4),
        P("sitar", "x-------x---x---", "melody", 60, 0.4, hi=0.3, pan=0.2),
        P("sitar", "x.xxx.xxx.x.xxx-", "melody", 60, 0.5, lo=0.3, pan=0.2),
        P("na", "x...x.o.x...x.o.", gain=0.6, lo=0.4, pan=-0.2),
        P("tin", "..x...x...x...xx", gain=0.5, lo=0.4, pan=-0.2),
        P("ge", "x.....x...x.....", gain=0.6, lo=0.4),
    ),
}


def _onsets(pattern: str) -> list[tuple[int, str, int]]:
    """(step, symbol, length in steps) for every onset of a pattern (``-`` extends a note)."""
    out = []
    for i, ch in enumerate(pattern):
        if ch not in ".-":
            j = i + 1
            while j < len(pattern) and pattern[j] == "-":
                j += 1
            out.append((i, ch, j - i))
    return out


class _Arranger:
    """Places the notes of every part bar by bar, following the song plan."""

    def __init__(self, spec: TrackSpec, rng: np.random.Generator, n: int) -> None:
        self.spec, self.rng, self.n = spec, rng, n
        self.scale = SCALES[spec.mode]
        self.step = spec.beat_seconds / 4
        self.notes: dict[tuple, np.ndarray] = {}
        self.drums: dict[str, np.ndarray] = {}
        self.tight = spec.style in ("techno", "chiptune")  # machines do not drift

    def midi(self, degree: int, reg: int) -> int:
        octave, i = divmod(degree, 7)
        return reg + self.spec.key + 12 * octave + self.scale[i]

    def chord_root(self, sec: Section, bar_in_sec: int) -> int:
        if self.spec.style == "indian":
            return 0  # a drone, no chord changes
        mode = "minor" if self.spec.mode == "minor" else "major"
        r = np.random.default_rng([self.spec.seed, SECTION_IDS[sec.name]])
        prog = PROGRESSIONS[mode][int(r.integers(len(PROGRESSIONS[mode])))]
        return prog[(bar_in_sec // STYLES[self.spec.style].bars_per_chord) % len(prog)]

    def sample(self, inst: str, midi: int, seconds: float, energy: float) -> np.ndarray:
        length = round(max(seconds, RING.get(inst, 0.0)) + 0.08, 2)
        key = (inst, midi, length, round(energy, 1))
        if key not in self.notes:
            x = INSTRUMENTS[inst](midi, length, energy, self.rng)
            fade = int(0.08 * SR)
            x[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
            self.notes[key] = x
        return self.notes[key]

    def place(self, stem: np.ndarray, x: np.ndarray, t: float, gain: float) -> None:
        i = int(t * SR)
        j = min(self.n, i + len(x))
        if 0 <= i < j:
            stem[i:j] += gain * x[: j - i]

    def part(self, p: Part) -> np.ndarray:
        stem = np.zeros(self.n, np.float32)
        onsets, span = _onsets(p.pattern), len(p.pattern) // 16
        bar_s = self.spec.bar_seconds
        deg = 2
        for sec in self.spec.sections:
            if not p.lo <= sec.energy < p.hi:
                continue
            level = p.gain * (0.55 + 0.45 * sec.energy)
            for b in range(sec.bars):
                root = self.chord_root(sec, b)
                motif = np.random.default_rng([self.spec.seed, SECTION_IDS[sec.name], b % 4, 11])
                for pos, ch, length in onsets:
                    if pos // 16 != b % span or (ch == "S" and b):
                        continue
                    step = pos % 16
                    if step >= 4 * self.spec.beats_per_bar:
                        continue  # a 16-step pattern in a shorter bar (3/4): cut to the bar
                    t = (sec.start_bar + b) * bar_s + (step + (self.spec.swing if step % 2 else 0.0)) * self.step
                    t += 0.0 if self.tight else self.rng.normal(0, 0.004)
                    g = level * (1.0 if step % 4 else 1.15) * (1.0 if self.tight else self.rng.uniform(0.85, 1.0))
                    dur = length * self.step * 0.95
                    if p.kind == "drum":
                        if p.inst not in self.drums:
                            self.drums[p.inst] = drum(p.inst, self.rng, hz(self.midi(0, 60)))
                        x = self.drums[p.inst]
                        self.place(stem, x, t, g * (0.45 if ch == "o" else 1.0))
                        continue
                    if p.kind == "tone":
                        tones = [root + CHORD_TONES[int(ch)]]
                    elif p.kind == "chord":
                        tones = [root + c for c in CHORD_TONES[:3]]
                    elif p.kind == "power":
                        tones, dur = [root], (self.step if ch == "m" else dur)
                    elif p.kind == "strum":
                        tones = [root + CHORD_TONES[i] for i in ((0, 2, 3, 4, 5, 6) if ch == "d" else (3, 4, 5, 6))]
                    else:  # melody: chord tones on the beat, steps between
                        if step % 4 == 0:
                            cands = np.array([root + c for c in (0, 2, 4, 7)])
                            w = np.exp(-np.abs(cands - deg) / 2.5)
                            deg = int(motif.choice(cands, p=w / w.sum()))
                        else:
                            deg += int(motif.choice([-2, -1, 1, 2]))
                        deg = int(np.clip(deg, -2, 10))
                        tones = [deg]
                    for i, d in enumerate(tones):
                        x = self.sample(p.inst, self.midi(d, p.reg), dur, sec.energy)
                        spread = 0.012 * i if p.kind == "strum" else 0.0
                        self.place(stem, x, t + spread, g / np.sqrt(len(tones)) * (0.7 if ch == "u" else 1.0))
        return stem


def arrange(spec: TrackSpec, rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, float, float]]:
    """The stems of a song: (mono samples [n], pan in [-1, 1], reverb send)."""
    arr = _Arranger(spec, rng, n)
    stems, bus = [], None
    for p in ARRANGEMENTS[spec.style]:
        x = arr.part(p)
        if p.bus:
            bus = x if bus is None else bus + x
            continue
        stems.append((x, p.pan, p.wet))
    if bus is not None:  # overdrive, then a cabinet's band-pass takes the fizz off
        drive = fft_filter(np.tanh(12.0 * bus / (np.abs(bus).max() + 1e-6)), 90, 6000, 2)
        stems.append((0.8 * drive / (np.abs(drive).max() + 1e-6), -0.2, 0.1))
    return stems


def render_track(spec: TrackSpec) -> np.ndarray:
    """float32 [2, n] at :data:`SR`: the arranged, mixed and levelled song."""
    rng = np.random.default_rng(spec.seed)
    st = STYLES[spec.style]
    n = int(spec.duration * SR)
    mix = np.zeros((2, n), np.float32)
    send = np.zeros(n, np.float32)
    for stem, pan, wet in arrange(spec, rng, n):
        mix[0] += stem * np.sqrt(0.5 * (1 - pan))
        mix[1] += stem * np.sqrt(0.5 * (1 + pan))
        send += stem * wet
    mix += st.reverb[1] * reverb(send, st.reverb[0])
    rms = float(np.sqrt(np.mean(mix**2))) + 1e-9
    mix *= 10 ** (st.loudness_db / 20) / rms
    mix = np.tanh(mix * 1.2) / 1.2  # a gentle limiter: loud styles get denser, as mastered music does
    fade = np.minimum(1.0, (n - np.arange(n)) / (0.5 * SR))
    return (mix * fade).astype(np.float32)
