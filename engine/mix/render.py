"""The mix: a cue sheet rendered under a video as stereo float32 at 48 kHz, chunk by chunk.

One function makes the samples for both the preview and the export (what you hear is what
you export)::

    plan = yield from prepare_mix(video, sheet, settings, speech=regions, rhythms=rhythms)
    for chunk in plan.chunks():            # float32 [2, n], 48 kHz, master applied
        ...

``prepare_mix`` is a job: it probes the video, detects speech in its sound when ``speech``
is None (and ducking or the "speech" original mode needs it), lays out the segments and
runs the measurement pass (loudness + true peak, streamed); ``plan.chunks()`` is the render
pass. Both passes decode the tracks again from the files, so memory stays flat in duration
(one chunk per open track, plus 10 ms-block arrays: ~16 bytes per 10 ms).

The layout, in video time:

- each cue plays its track from ``in_point`` (``Cue.pieces``: each piece's source range at
  ``at``), at ``gain_db``; stereo is kept, mono duplicated, 5.1 downmixed (by the decoder);
- adjacent cues (and pieces) crossfade with equal power (sin/cos) over ``sheet.crossfade``
  (pieces: their own ``crossfade``) centred on the boundary; a cue that starts or ends next
  to silence fades in/out over ``sheet.fade_in``/``fade_out``;
- with a :class:`~engine.rhythm.music.MusicRhythm` for a track (``rhythms[music_path]``,
  steady), the fade-in ends, the fade-out starts and a crossfade is centred on the
  track's downbeat nearest to where the plain fade would be (within reach); plain otherwise;
- music gain follows the ducking envelope (:mod:`engine.mix.envelope`) when
  ``settings.duck``; the footage's own sound (stereo) is "full", "speech" (full under
  speech, ``original_level`` elsewhere, same envelope) or "off";
- the master is normalised to ``settings.loudness_target`` and held under
  ``settings.true_peak`` by a look-ahead limiter (:mod:`engine.mix.loudness`).

Pieces (fit to length) are played here, streamed like cues, with the convention of
:mod:`engine.rhythm.fit` (``tests/test_mix_render.py`` checks the result against its
``render_pieces``): a piece plays ``source_start..source_end`` from ``cue.start + at``; where
it overlaps the next piece (that one starts ``crossfade`` seconds before its splice) the two
crossfade with equal power over the overlap. Items that merely meet crossfade over their own
``crossfade`` centred on the boundary. A cue's ``stretch`` (a fit plan's tempo factor, at most
a few %) plays its track that much faster with the pitch kept (:mod:`engine.mix.stretch`,
streamed): the pieces' clock is divided by it on the video's timeline.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.jobs import CancelCheck, Job, Progress, check_cancel
from engine.media.errors import MediaError
from engine.media.limits import DEFAULT_LIMITS, MediaLimits
from engine.media.probe import probe

from .cuesheet import Cue, CueSheet, MixSettings
from .envelope import down_regions, duck_amount
from .loudness import BLOCK, BlockMeter, Master, master_gains
from .readers import RATE, Reader, StretchedReader, track_reader

LOWPASS_HZ = 17000.0
"""The true peaks the limiter works from are measured on the mix band-limited here
(8th-order Butterworth), i.e. on what the AAC encoder (cut-off ~18.5 kHz at 192 kb/s) will
keep: the encoder's own band-limiting of hot, bright material (clipped squares) otherwise
rings over the ceiling by 2 dB and more (measured +1.1 dBTP for a -1 dBTP ceiling). The
mix itself is not filtered."""
CHUNK = 48000
"""Samples per rendered chunk (1 s; a multiple of the 10 ms meter block)."""
ADJACENT = 0.05
"""Cues closer than this (s) are adjacent: they crossfade instead of fading to silence."""


@dataclass(frozen=True)
class Ramp:
    a: float
    b: float
    rising: bool
    """True: 0 -> 1 over [a, b] (sin); False: 1 -> 0 (cos). Equal power when paired."""

    def gain(self, t: np.ndarray) -> np.ndarray | float:
        if t[0] >= self.b:  # the whole chunk after the ramp
            return 1.0 if self.rising else 0.0
        if t[-1] <= self.a:  # before it
            return 0.0 if self.rising else 1.0
        if self.b <= self.a:
            x = (t >= self.a).astype(np.float64)
        else:
            x = np.clip((t - self.a) / (self.b - self.a), 0.0, 1.0)
        return np.sin(0.5 * np.pi * x) if self.rising else np.cos(0.5 * np.pi * x)


@dataclass(frozen=True)
class Segment:
    """One stretch of one track on the video's timeline."""
    path: str
    t0: float
    """Video time (s) where it starts sounding (its crossfade or fade-in included)."""
    t1: float
    """Video time (s) where it is silent again."""
    src0: float
    """Track time (s) heard at ``t0`` (negative: silence until the track begins)."""
    gain: float = 1.0
    ramps: tuple[Ramp, ...] = ()
    cue_index: int = 0
    edit0: float | None = None
    """Video time of this segment's cut in the edit (OTIO clip start; None: ``t0``). A
    crossfade may sit off-centre around the cut (on a downbeat)."""
    edit1: float | None = None
    """Video time of its cut out (OTIO clip end; None: ``t1``)."""
    stretch: float = 1.0
    """Track seconds per video second (pitch kept): the track time heard at video time
    ``t`` is ``src0 + (t - t0) * stretch``."""


@dataclass
class _Item:  # a cue or one piece of a cue, before the boundaries are decided
    path: str
    start: float
    end: float
    in_point: float
    gain: float
    cue_index: int
    xf_in: float  # crossfade with the item before, when adjacent
    same_cue_as_prev: bool = False
    ramps: list = field(default_factory=list)
    t0: float = 0.0
    t1: float = 0.0
    edit0: float | None = None
    edit1: float | None = None
    stretch: float = 1.0


def layout(sheet: CueSheet, duration: float, rhythms: Mapping[str, object] | None = None,
           lengths: Mapping[str, float] | None = None) -> list[Segment]:
    """The segments (with their fades and crossfades) that render ``sheet`` under a video of
    ``duration`` seconds. ``lengths``: track durations (s); a cue whose track ends before the
    cue does stops (with its fade-out) where the track ends."""
    items: list[_Item] = []
    for ci, cue in enumerate(sorted(sheet.cues, key=lambda c: c.start)):
        items.extend(_items_of(cue, ci, sheet))
    for it in items:
        length = (lengths or {}).get(it.path)
        if length is not None:
            it.end = min(it.end, it.start + (length - it.in_point) / it.stretch)
    items = [it for it in items if min(it.end, duration) - max(it.start, 0.0) > 1e-3]
    for it in items:
        it.start, it.end = max(0.0, it.start), min(duration, it.end)
        it.t0, it.t1 = it.start, it.end
    rhythms = rhythms or {}
    for i, it in enumerate(items):
        prev = items[i - 1] if i else None
        if prev is not None and it.start - prev.end < ADJACENT:
            continue  # a crossfade: decided with the previous item below
        fade = sheet.fade_in
        a, b = it.start, min(it.end, it.start + fade)
        b = _snap_fade_in(it, a, b, fade, rhythms.get(it.path))
        it.ramps.append(Ramp(a, b, True))
    for i, it in enumerate(items):
        nxt = items[i + 1] if i + 1 < len(items) else None
        if nxt is not None and nxt.start - it.end < -1e-3:
            # overlapping (fit-to-length pieces, or cues laid over each other): the crossfade
            # is the overlap itself
            a, b = nxt.start, min(it.end, nxt.end)
            it.t1, nxt.t0 = b, a
            it.edit1 = nxt.edit0 = 0.5 * (a + b)
            it.ramps.append(Ramp(a, b, False))
            nxt.ramps.append(Ramp(a, b, True))
        elif nxt is not None and nxt.start - it.end < ADJACENT:
            xf = nxt.xf_in
            cut = 0.5 * (it.end + nxt.start)  # the edit's cut: the cues' boundary
            centre = cut
            if not nxt.same_cue_as_prev:
                centre = _snap_crossfade(it, nxt, cut, xf, rhythms.get(it.path))
            xf = max(0.0, min(xf, 2 * (centre - it.start), 2 * (nxt.end - centre)))
            it.t1, nxt.t0 = centre + xf / 2, centre - xf / 2
            it.edit1 = nxt.edit0 = min(max(cut, nxt.t0), it.t1)
            it.ramps.append(Ramp(centre - xf / 2, centre + xf / 2, False))
            nxt.ramps.append(Ramp(centre - xf / 2, centre + xf / 2, True))
        else:
            fade = sheet.fade_out
            a, b = max(it.start, it.end - fade), it.end
            a = _snap_fade_out(it, a, b, fade, rhythms.get(it.path))
            it.ramps.append(Ramp(a, b, False))
    return [Segment(it.path, it.t0, it.t1, it.in_point + (it.t0 - it.start) * it.stretch, it.gain, tuple(it.ramps),
                    it.cue_index, it.edit0, it.edit1, it.stretch) for it in items]


def _items_of(cue: Cue, ci: int, sheet: CueSheet) -> list[_Item]:
    gain = 10 ** (cue.gain_db / 20)
    k = float(getattr(cue, "stretch", 1.0) or 1.0)
    if not cue.pieces:
        return [_Item(cue.music_path, cue.start, cue.end, cue.in_point, gain, ci, sheet.crossfade, stretch=k)]
    out = []
    for j, p in enumerate(sorted(cue.pieces, key=lambda p: p.at)):
        start = cue.start + p.at / k  # the pieces' clock runs k times faster than the video's
        end = min(cue.end, start + (p.source_end - p.source_start) / k)
        xf = p.crossfade / k if j else sheet.crossfade
        out.append(_Item(cue.music_path, start, end, p.source_start, gain, ci, xf, same_cue_as_prev=j > 0,
                         stretch=k))
    return out


def _downbeats_in_video(it: _Item, rhythm) -> np.ndarray:
    if rhythm is None or not getattr(rhythm, "steady", False):
        return np.zeros(0)
    db = np.asarray(getattr(rhythm, "downbeats", np.zeros(0)), np.float64)
    return it.start + (db - it.in_point) / it.stretch


def _snap_fade_in(it: _Item, a: float, b: float, fade: float, rhythm) -> float:
    v = _downbeats_in_video(it, rhythm)
    ok = v[(v >= a + 0.5 * fade) & (v <= min(it.end, a + 2 * fade + 0.5))]
    return float(ok[0]) if ok.size else b


def _snap_fade_out(it: _Item, a: float, b: float, fade: float, rhythm) -> float:
    v = _downbeats_in_video(it, rhythm)
    ok = v[(v >= max(it.start, b - 2 * fade - 0.5)) & (v <= b - 0.5 * fade)]
    return float(ok[-1]) if ok.size else a


def _snap_crossfade(it: _Item, nxt: _Item, centre: float, xf: float, rhythm) -> float:
    """The outgoing track's downbeat nearest the cut whose crossfade still spans the cut."""
    v = _downbeats_in_video(it, rhythm)
    reach = xf / 2
    ok = v[(np.abs(v - centre) <= reach) & (v - xf / 2 > it.start) & (v + xf / 2 < nxt.end)]
    return float(ok[np.argmin(np.abs(ok - centre))]) if ok.size else centre


class _LowPass:
    """Streaming 8th-order Butterworth low-pass at :data:`LOWPASS_HZ`, state kept across chunks."""

    def __init__(self) -> None:
        from scipy.signal import butter

        self.sos = butter(8, LOWPASS_HZ, fs=RATE, output="sos")
        self.zi = np.zeros((self.sos.shape[0], 2, 2))  # [sections, channels, 2]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        from scipy.signal import sosfilt

        y, zi = sosfilt(self.sos, x, axis=1, zi=self.zi.transpose(0, 1, 2))
        self.zi = zi
        return y.astype(np.float32)


@dataclass
class MixPlan:
    """Everything needed to render the same samples again, any number of times."""
    video: str
    duration: float
    sheet: CueSheet
    settings: MixSettings
    segments: list[Segment]
    speech: np.ndarray
    """float64 [n, 2] speech regions used for ducking (seconds)."""
    has_original: bool
    master: Master | None = None
    limits: MediaLimits = DEFAULT_LIMITS

    @property
    def n(self) -> int:
        return int(round(self.duration * RATE))

    def chunks(self, cancel: CancelCheck | None = None, *, master: bool = True,
               chunk: int = CHUNK) -> Iterator[np.ndarray]:
        """The mix as float32 ``[2, n]`` chunks at 48 kHz (master gain and limiter applied
        unless ``master=False``); ``n`` adds up to ``round(duration * 48000)``."""
        s = self.settings
        down = down_regions(self.speech, s) if self.speech.size else np.zeros((0, 2))
        readers: dict[int, Reader | StretchedReader] = {}
        orig = None
        if self.has_original and s.original != "off":
            orig = Reader(self.video, 0.0, self.duration, self.limits, cancel)
        try:
            for c0 in range(0, self.n, chunk):
                check_cancel(cancel)
                m = min(chunk, self.n - c0)
                t = (c0 + np.arange(m)) / RATE  # [m] video time of each sample
                music = np.zeros((2, m), np.float32)
                for k, seg in enumerate(self.segments):
                    s0 = int(round(seg.t0 * RATE))
                    s1 = int(round(seg.t1 * RATE))
                    if s1 <= c0 or s0 >= c0 + m:
                        if s1 <= c0 and k in readers:
                            readers.pop(k).close()
                        continue
                    if k not in readers:
                        readers[k] = track_reader(seg.path, seg.src0 + (max(s0, c0) - s0) / RATE * seg.stretch,
                                                  seg.t1 - seg.t0, self.limits, cancel, seg.stretch)
                    lo, hi = max(s0, c0) - c0, min(s1, c0 + m) - c0
                    x = readers[k].read(hi - lo)
                    g = np.full(hi - lo, seg.gain)
                    for r in seg.ramps:
                        g *= r.gain(t[lo:hi])
                    music[:, lo:hi] += x * g.astype(np.float32)
                amount = duck_amount(t, down, s) if down.size else np.zeros(m, np.float32)
                if s.duck and down.size:
                    music *= (10 ** (s.duck_depth_db * amount / 20)).astype(np.float32)
                if orig is not None:
                    o = orig.read(m)
                    if s.original == "speech":
                        lvl = s.original_level + (1 - s.original_level) * amount
                        o *= lvl.astype(np.float32)
                    music += o
                if master and self.master is not None:
                    music *= self.master.gains(c0, m)
                    np.clip(music, -1.0, 1.0, out=music)
                yield music
        finally:
            for r in readers.values():
                r.close()
            if orig is not None:
                orig.close()

    def samples(self, cancel: CancelCheck | None = None, *, master: bool = True) -> np.ndarray:
        """The whole mix as float32 ``[2, N]`` (for tests and short previews)."""
        parts = list(self.chunks(cancel, master=master))
        return np.concatenate(parts, axis=1) if parts else np.zeros((2, 0), np.float32)


def prepare_mix(video: str | os.PathLike[str], sheet: CueSheet, settings: MixSettings | None = None, *,
                speech: np.ndarray | None = None, rhythms: Mapping[str, object] | None = None,
                limits: MediaLimits = DEFAULT_LIMITS, cancel: CancelCheck | None = None) -> Job[MixPlan]:
    """Job: probe, find speech (when ``speech`` is None and the settings need it; pass the
    analysis' stored regions to skip that), lay out the cues and measure the mix (loudness,
    true peak) -> a :class:`MixPlan` whose :meth:`~MixPlan.chunks` is the render pass."""
    from engine.media.errors import NoVideoStream

    settings = settings or MixSettings()
    if settings.original not in ("full", "speech", "off"):
        raise ValueError(f"the footage's own sound: {settings.original!r}; choose full, speech or off")
    video = str(Path(video))
    info = probe(video, limits=limits)
    if info.video is None:
        raise NoVideoStream(video, "has no video stream; choose a video file to put music under")
    duration = float(info.duration)
    for cue in sheet.cues:
        if not Path(cue.music_path).is_file():
            from engine.media.errors import MediaFileMissing

            raise MediaFileMissing(cue.music_path, "file not found; it may have been moved or deleted")
    has_orig = info.audio is not None
    needs_speech = settings.duck or settings.original == "speech"
    if speech is None:
        speech = np.zeros((0, 2))
        if needs_speech and has_orig:
            from .hear import hear_speech_in

            try:
                speech = yield from hear_speech_in(video, duration=duration, limits=limits, cancel=cancel)
            except MediaError:  # its sound does not decode: nothing to duck under (the mix says so later)
                speech = np.zeros((0, 2))
    speech = np.asarray(speech, np.float64).reshape(-1, 2)
    plan = MixPlan(video, duration, sheet, settings, layout(sheet, duration, rhythms, track_lengths(sheet, limits)),
                   speech, has_orig, None, limits)
    meter = BlockMeter()
    total = max(1, -(-plan.n // CHUNK))
    lowpass = _LowPass()
    for i, chunk in enumerate(plan.chunks(cancel, master=False)):
        meter.add(chunk, peaks_of=lowpass(chunk))
        if i % 10 == 0:
            yield Progress("measure", i, total, "measuring loudness")
    meter.finish()
    plan.master = master_gains(meter.energy, meter.peaks, plan.n, settings.loudness_target,
                               settings.true_peak)
    yield Progress("measure", total, total, "measured")
    return plan


def track_lengths(sheet: CueSheet, limits: MediaLimits = DEFAULT_LIMITS) -> dict[str, float]:
    """Duration (s) of each track of the sheet (probed: headers only); a track without sound
    is refused here, before any rendering."""
    from engine.media.errors import NoAudioStream

    out = {}
    for path in sorted({c.music_path for c in sheet.cues}):
        info = probe(path, limits=limits)
        if info.audio is None:
            raise NoAudioStream(path, "has no audio track; choose a music file with sound for this cue")
        out[path] = float(info.duration)
    return out


def block_seconds() -> float:
    return BLOCK / RATE
