"""Where people talk in the footage's own sound, so the mix can duck the music there.

Two detectors run offline from what pip installs, behind one small protocol
(:class:`SpeechDetector`: 16 kHz mono in, a speech probability per frame out):

- ``"silero"`` (default): Silero VAD, a small recurrent network whose TorchScript file ships
  inside the ``silero-vad`` wheel (nothing is downloaded; torch is already a dependency of
  the engine). It tells speech from music and noise: on ``bench/mix.py``'s espeak-ng speech
  (7 voices/languages/speeds) under music, crowd-like babble and wind at +20/+10/+5/0/-5 dB
  SNR its 10 ms-frame F1 was 0.975/0.976/0.977/0.977/0.970. Cost: about 0.13 s per minute of
  audio on one thread of the busy 2-core machine, run in blocks of windows (0.48 s window by
  window, same run; probabilities within 2e-6, the same regions; it runs single-threaded: two threads were
  4-20x slower there; torch's thread count is process-wide, so other torch work in the process
  runs on one thread for the seconds a detection takes). The wheel's ONNX files would need
  onnxruntime (not a dependency); its TorchScript file is loaded with ``torch.jit.load`` from the
  installed package, never from user input, and nothing is downloaded at run time. Should the
  installed torch not load it, the WebRTC detector takes over (with a warning).
- ``"webrtc"``: the WebRTC VAD (``webrtcvad-wheels``), weightless and ~30x faster (0.04 s per
  minute) but it answers "voiced-sounding energy": F1 0.947/0.955/0.866/0.729/0.721 on the
  same data, i.e. from 0 dB on it marks nearly all music and noise as speech (0.72 is the F1
  of "everything is speech" there). Used when silero-vad is not installed, or on request.

A signal that arrives piece by piece (the analysis pass hears the footage while it decodes the
picture) goes through :class:`SpeechStream`: each detector's :meth:`~SpeechDetector.stream`
keeps its state between pieces, so the result is that of :func:`detect_speech` on the whole.

Both feed the same post-processing: hysteresis on the frame probabilities, regions shorter
than ``min_speech`` dropped, gaps shorter than ``min_gap`` merged, each region padded by
``pad``. The result is float64 ``[n, 2]`` (start, end) seconds, sorted and disjoint.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

VAD_RATE = 16000


class SpeechDetector(Protocol):
    name: str
    hop: float
    """Seconds per frame of :meth:`frame_probs`."""

    def frame_probs(self, x: np.ndarray) -> np.ndarray:
        """float32 ``[n]`` speech probability (0..1) per ``hop`` of 16 kHz mono ``x [N]``."""

    def stream(self) -> FrameStream:
        """The same probabilities for a signal fed piece by piece."""


class FrameStream(Protocol):
    def push(self, x: np.ndarray) -> np.ndarray:
        """Probabilities of the frames completed by the 16 kHz mono piece ``x`` (the signal's
        pieces in order; a partial last frame waits for the next piece, and a detector that
        works in blocks may hold back the frames of an unfinished block until :meth:`flush`)."""

    def flush(self) -> np.ndarray:
        """After the last piece: the probabilities still held back."""


@dataclass(frozen=True)
class SpeechParams:
    threshold: float = 0.5
    """Frames above it start speech..."""
    neg_threshold: float = 0.35
    """...and speech ends only below this (hysteresis)."""
    min_speech: float = 0.25
    min_gap: float = 0.3
    pad: float = 0.05


class WebRTCDetector:
    """webrtcvad on 30 ms frames; its yes/no becomes probability 1/0."""

    name = "webrtc"
    hop = 0.03

    def __init__(self, aggressiveness: int = 3) -> None:
        import webrtcvad

        self._vad_class, self.aggressiveness = webrtcvad.Vad, aggressiveness
        self._vad_class(aggressiveness)  # a bad aggressiveness fails here, not at the first signal

    def _new_vad(self):
        return self._vad_class(self.aggressiveness)

    def frame_probs(self, x: np.ndarray, vad=None) -> np.ndarray:
        """``vad``: the state to carry on (a stream's); by default a fresh one per signal. The
        detector is shared (``get_detector`` caches it) and webrtcvad adapts to what it heard:
        one shared state made a signal's regions depend on the signals before it, and on
        which thread got there first."""
        vad = vad if vad is not None else self._new_vad()
        n = int(self.hop * VAD_RATE)
        pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")
        frames = pcm[: pcm.size // n * n].reshape(-1, n)
        return np.array([vad.is_speech(f.tobytes(), VAD_RATE) for f in frames], np.float32)

    def stream(self) -> FrameStream:
        vad = self._new_vad()  # one state for the whole stream, as for a whole signal
        return _Framed(lambda x: self.frame_probs(x, vad), int(self.hop * VAD_RATE))


class SileroDetector:
    """Silero VAD (TorchScript from its wheel) on 512-sample windows (32 ms) at 16 kHz, run in
    blocks of BLOCK windows (``_silero_loop.Blocks``) counted from the start of the signal, so
    a signal gives the same probabilities whole or fed piece by piece."""

    name = "silero"
    hop = 512 / VAD_RATE
    BLOCK = 32
    """Windows per call (~1 s). Each block's front end runs as one batch, and a batch's size can
    change the last bits of its sums: the blocks are the same however the signal is cut."""

    def __init__(self) -> None:
        self.model = _silero_model()

    def frame_probs(self, x: np.ndarray) -> np.ndarray:
        s = self.stream()  # the same blocks as any stream of x (a partial last window is dropped)
        return np.concatenate([s.push(x), s.flush()])

    def stream(self) -> FrameStream:
        # whole blocks as they complete; the unfinished block's whole windows at the flush
        inner = _SileroStream(self)
        return _Framed(inner.blocks, 512 * self.BLOCK, lambda rest: inner.blocks(rest[: rest.size // 512 * 512]))


class _SileroStream:
    """Whole windows in, in blocks of ``BLOCK`` through the network with its state (the LSTM
    cell's and the last 64 samples) carried from block to block (:class:`_Framed` holds the
    windows of an unfinished block back until the next piece or the flush)."""

    def __init__(self, det: SileroDetector) -> None:
        self.det = det
        self.state: tuple | None = None  # (cell state [2, 1, 128], context [1, 64])

    def blocks(self, x: np.ndarray) -> np.ndarray:  # x: whole windows [N * 512]
        if x.size == 0:
            return np.zeros(0, np.float32)
        import torch

        blocks = _silero_blocks()
        size = 512 * self.det.BLOCK
        out = []
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # a tiny recurrent net: one thread is 4-20x faster than two on a busy CPU
        try:
            with torch.inference_mode():
                state, context = self.state or (torch.zeros(2, 1, 128), torch.zeros(1, 64))
                for i in range(0, x.size, size):
                    w = torch.from_numpy(np.ascontiguousarray(x[i:i + size])).reshape(-1, 512)  # [N, 512]
                    probs, state, context = blocks(w, state, context)
                    out.append(probs.numpy().astype(np.float32))
                self.state = (state, context)
        finally:
            torch.set_num_threads(threads)
        return np.concatenate(out)


@functools.lru_cache(maxsize=1)
def _silero_blocks():
    """:class:`engine.mix._silero_loop.Blocks` over the loaded model, scripted (one call per block
    that lets go of the interpreter's lock throughout; the decoder's thread needs it)."""
    import warnings

    import torch

    from ._silero_loop import Blocks

    net = _silero_model()._model  # the 16 kHz network inside Silero's wrapper
    with warnings.catch_warnings():  # torch.jit.script's deprecation notice
        warnings.simplefilter("ignore", FutureWarning)
        try:
            return torch.jit.script(Blocks(net))
        except Exception as e:  # noqa: BLE001 - a torch that cannot script it: the same in Python
            log.warning("silero block loop not scripted (%s); running it in Python", e)
            return Blocks(net)


class _Framed:
    """A :class:`FrameStream` over a function of whole frames of ``n`` samples: the partial
    frame at the end of a piece is kept for the next. ``flush(rest)``: the probabilities of
    what is left after the last piece (by default none: a partial frame is dropped)."""

    def __init__(self, probs, n: int, flush=None) -> None:
        self.probs, self.n, self._flush = probs, n, flush
        self.rest = np.zeros(0, np.float32)

    def push(self, x: np.ndarray) -> np.ndarray:
        x = np.concatenate([self.rest, np.asarray(x, np.float32)]) if self.rest.size else np.asarray(x, np.float32)
        whole = x.size // self.n * self.n
        self.rest = x[whole:].copy()
        return self.probs(x[:whole]) if whole else np.zeros(0, np.float32)

    def flush(self) -> np.ndarray:
        """The frames the detector still holds (a partial frame is dropped, as on the whole)."""
        rest, self.rest = self.rest, np.zeros(0, np.float32)
        return self._flush(rest) if self._flush is not None and rest.size else np.zeros(0, np.float32)


@functools.lru_cache(maxsize=1)
def _silero_model():
    import warnings

    import torch

    threads = torch.get_num_threads()
    from silero_vad import load_silero_vad  # sets torch to 1 thread on import: put ours back

    torch.set_num_threads(threads)
    with warnings.catch_warnings():  # torch.jit.load's and importlib's deprecation notices
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # silero's importlib.resources.path
        model = load_silero_vad()  # the TorchScript file inside the wheel; nothing downloaded
    torch.set_num_threads(threads)
    return model


DETECTORS = {"silero": SileroDetector, "webrtc": WebRTCDetector}
DEFAULT_DETECTOR = "silero"


def available_detectors() -> list[str]:
    out = []
    for name, mod in (("silero", "silero_vad"), ("webrtc", "webrtcvad")):
        try:
            __import__(mod)
            out.append(name)
        except ImportError:
            pass
    return out


@functools.lru_cache(maxsize=4)
def get_detector(name: str | None = None) -> SpeechDetector:
    """The detector called ``name`` (default: silero, else webrtc when silero is missing)."""
    if name is None:
        have = available_detectors()
        if not have:
            raise RuntimeError("no voice-activity detector is installed; pip install silero-vad "
                               "(or webrtcvad-wheels)")
        for candidate in [DEFAULT_DETECTOR] + [h for h in have if h != DEFAULT_DETECTOR]:
            if candidate not in have:
                continue
            try:
                return DETECTORS[candidate]()
            except Exception as e:  # noqa: BLE001 - e.g. a torch without TorchScript loading
                log.warning("speech detector %s unavailable (%s); trying the next", candidate, e)
        raise RuntimeError("no voice-activity detector could be loaded; reinstall silero-vad or webrtcvad-wheels")
    if name not in DETECTORS:
        raise ValueError(f"unknown speech detector {name!r}; choose one of {sorted(DETECTORS)}")
    return DETECTORS[name]()


def preload() -> None:
    """Load (and script) the default detector now: TorchScript's load and ``torch.jit.script``
    hold the interpreter's lock for a long while, which a GUI thread feels when the first
    analysis does it (``engine.recommend.preload`` calls this at a front end's start)."""
    try:
        det = get_detector()
    except RuntimeError:
        return  # none installed: the analysis says so when it needs one
    if isinstance(det, SileroDetector):
        _silero_blocks()


def to_vad_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 ``[N']`` at 16 kHz from ``samples [N]`` or ``[channels, N]`` at ``rate``."""
    x = np.asarray(samples, np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if rate != VAD_RATE and x.size:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(int(rate), VAD_RATE)
        x = resample_poly(x, VAD_RATE // g, int(rate) // g).astype(np.float32)
    return x


def detect_speech(samples: np.ndarray, rate: int, *, detector: str | SpeechDetector | None = None,
                  params: SpeechParams = SpeechParams()) -> np.ndarray:
    """Speech regions of ``samples`` (mono ``[N]`` or ``[channels, N]``, any rate) as float64
    ``[n, 2]`` (start, end) seconds: sorted, merged, inside ``[0, N / rate]``."""
    x = to_vad_rate(samples, rate)
    if x.size < VAD_RATE // 10 or not np.any(x):
        return np.zeros((0, 2))
    det = get_detector(detector) if detector is None or isinstance(detector, str) else detector
    probs = det.frame_probs(x)
    return regions_from_probs(probs, det.hop, x.size / VAD_RATE, params)


class SpeechStream:
    """:func:`detect_speech` on a 16 kHz mono signal that arrives piece by piece: ``push`` the
    pieces as they come (the detector runs on each at once), ``regions()`` after the last one
    gives what ``detect_speech`` on the whole signal gives (call it once, after the last piece)."""

    def __init__(self, detector: str | SpeechDetector | None = None, params: SpeechParams = SpeechParams()) -> None:
        self.det = get_detector(detector) if detector is None or isinstance(detector, str) else detector
        self.params = params
        self._frames = self.det.stream()
        self._probs: list[np.ndarray] = []
        self.samples = 0
        self._heard = False  # any sample not 0

    def push(self, x: np.ndarray) -> None:
        x = np.asarray(x, np.float32)
        self.samples += x.size
        self._heard = self._heard or bool(np.any(x))
        p = self._frames.push(x)
        if p.size:
            self._probs.append(p)

    def regions(self) -> np.ndarray:
        """float64 ``[n, 2]`` (start, end) s, as :func:`detect_speech` returns them."""
        p = self._frames.flush()
        if p.size:
            self._probs.append(p)
        if self.samples < VAD_RATE // 10 or not self._heard:
            return np.zeros((0, 2))
        probs = np.concatenate(self._probs) if self._probs else np.zeros(0, np.float32)
        return regions_from_probs(probs, self.det.hop, self.samples / VAD_RATE, self.params)


def regions_from_probs(probs: np.ndarray, hop: float, duration: float,
                       params: SpeechParams = SpeechParams()) -> np.ndarray:
    """Frame probabilities ``[n]`` -> regions ``[m, 2]`` (hysteresis, drop short, merge, pad)."""
    on = np.zeros(probs.size, bool)
    state = False
    for i, p in enumerate(probs):  # hysteresis: enter above threshold, leave below neg_threshold
        state = p >= params.threshold if not state else p >= params.neg_threshold
        on[i] = state
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    regs = edges.reshape(-1, 2).astype(np.float64) * hop  # [m, 2] (start, end)
    regs = merge_regions(regs, params.min_gap)
    regs = regs[(regs[:, 1] - regs[:, 0]) >= params.min_speech] if regs.size else regs
    if regs.size:
        regs[:, 0] -= params.pad
        regs[:, 1] += params.pad
        regs = np.clip(merge_regions(regs, 0.0), 0.0, duration)
    return regs.reshape(-1, 2)


def merge_regions(regs: np.ndarray, gap: float) -> np.ndarray:
    """Sort ``[n, 2]`` regions and join those closer than ``gap`` seconds."""
    regs = np.asarray(regs, np.float64).reshape(-1, 2)
    if regs.shape[0] == 0:
        return regs
    regs = regs[np.argsort(regs[:, 0])]
    out = [list(regs[0])]
    for s, e in regs[1:]:
        if s - out[-1][1] < gap:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return np.array(out, np.float64)


def frame_labels(regs: np.ndarray, duration: float, hop: float = 0.01) -> np.ndarray:
    """bool ``[ceil(duration / hop)]``: is each ``hop`` frame inside a region (for scoring)."""
    n = int(np.ceil(duration / hop))
    t = (np.arange(n) + 0.5) * hop
    lab = np.zeros(n, bool)
    for s, e in np.asarray(regs).reshape(-1, 2):
        lab |= (t >= s) & (t < e)
    return lab
