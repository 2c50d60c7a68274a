"""Speech in a file's sound, heard as it is decoded: the one way the footage's speech is
found, for the analysis (stored with it, :func:`engine.analysis.speech_regions`) and for a
mix asked for before that is done (:func:`engine.mix.render.prepare_mix`).

The sound is decoded at the detector's rate and pushed, about a second at a time, through
one :class:`~engine.mix.speech.SpeechStream` (the detector's state carried from piece to
piece): the regions are those of :func:`~engine.mix.speech.detect_speech` on the whole signal,
while memory holds only the frame probabilities (flat in the duration).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from engine.jobs import CancelCheck, Job, Progress
from engine.media.errors import MediaError
from engine.media.limits import DEFAULT_LIMITS, MediaLimits

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 30.0
"""Sound heard between two progress events."""


def hear_speech_in(path: str | Path, *, duration: float | None = None, limits: MediaLimits = DEFAULT_LIMITS,
                   cancel: CancelCheck | None = None) -> Job[np.ndarray]:
    """Job: float64 [n, 2] (start, end) s of speech in ``path``'s sound, sorted and merged.
    ``duration`` (s, for progress) defaults to unknown. A sound that stops decoding part-way
    is heard as far as it goes (logged); one that does not decode at all raises the
    :class:`~engine.media.errors.MediaError` that says why."""
    from engine.media.audio import iter_audio

    from .speech import VAD_RATE, SpeechStream

    path = Path(path)
    stream = SpeechStream()
    total = None if not duration else max(1, round(duration))
    pending: list[np.ndarray] = []  # decoded pieces (~23 ms each) not yet pushed
    have = 0
    next_progress = 0
    yield Progress("speech", 0, total, "listening for speech")
    try:
        for x in iter_audio(path, VAD_RATE, limits=limits, cancel=cancel):
            pending.append(x)
            have += x.size
            if have >= VAD_RATE:  # a second at a time: one push per decoded frame costs more
                stream.push(np.concatenate(pending))
                pending, have = [], 0
                if stream.samples >= next_progress:
                    next_progress = stream.samples + int(PROGRESS_SECONDS * VAD_RATE)
                    yield Progress("speech", stream.samples // VAD_RATE, total, "listening for speech")
    except MediaError as e:
        if stream.samples + have == 0:
            raise
        log.warning("%s: speech heard in the first %.1f s of the sound only (%s)", path.name,
                    (stream.samples + have) / VAD_RATE, e)
    if pending:
        stream.push(np.concatenate(pending))
    return stream.regions()
