"""Speech in a file's sound, heard a window at a time: the one way the footage's speech is
found, for the analysis (stored with it, :func:`engine.analysis.speech_regions`) and for a
mix asked for before that is done (:func:`engine.mix.render.prepare_mix`).

The sound is decoded at the detector's rate and scored WINDOW_SECONDS at a time (memory stays
flat in the duration); the frame probabilities of all windows make the regions together, so
a region that crosses a window's edge is one region, as on the whole signal.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from engine.jobs import CancelCheck, Job, Progress
from engine.media.errors import MediaError
from engine.media.limits import DEFAULT_LIMITS, MediaLimits

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
"""Sound scored per detector call; a whole number of the detector's frames."""


def hear_speech_in(path: str | Path, *, duration: float | None = None, limits: MediaLimits = DEFAULT_LIMITS,
                   cancel: CancelCheck | None = None) -> Job[np.ndarray]:
    """Job: float64 [n, 2] (start, end) s of speech in ``path``'s sound, sorted and merged.
    ``duration`` (s, for progress) defaults to unknown. A sound that stops decoding part-way
    is heard as far as it goes (logged); one that does not decode at all raises the
    :class:`~engine.media.errors.MediaError` that says why."""
    from engine.media.audio import iter_audio

    from .speech import VAD_RATE, get_detector, regions_from_probs

    path = Path(path)
    det = get_detector()
    frame = int(round(det.hop * VAD_RATE))
    window = max(frame, int(WINDOW_SECONDS * VAD_RATE) // frame * frame)
    total = None if not duration else max(1, int(np.ceil(duration / (window / VAD_RATE))))
    probs: list[np.ndarray] = []
    pending: list[np.ndarray] = []  # decoded pieces not yet scored (< one window)
    have = n = 0
    yield Progress("speech", 0, total, "listening for speech")
    try:
        for x in iter_audio(path, VAD_RATE, limits=limits, cancel=cancel):
            pending.append(x)
            have += x.size
            n += x.size
            if have >= window:
                buf = np.concatenate(pending)
                whole = buf.size // window * window
                for a in range(0, whole, window):
                    probs.append(det.frame_probs(buf[a:a + window]))
                pending, have = [buf[whole:]], buf.size - whole
                yield Progress("speech", len(probs), total, "listening for speech")
    except MediaError as e:
        if n == 0:
            raise
        log.warning("%s: speech heard in the first %.1f s of the sound only (%s)", path.name, n / VAD_RATE, e)
    buf = np.concatenate(pending) if pending else np.zeros(0, np.float32)
    if buf.size >= frame:
        probs.append(det.frame_probs(buf))
    p = np.concatenate(probs) if probs else np.zeros(0, np.float32)
    return regions_from_probs(p, det.hop, n / VAD_RATE)
