"""Sync scores of one video against many tracks, kept while the video stays open.

:func:`engine.rhythm.sync.offset_scores` is the costly half of finding a track's start
(every offset in 10 ms steps, with 16 surrogate videos: 20-40 ms per track on a laptop
core). Nothing in it depends on the model, the attribute sliders or the other candidates,
so a front end that re-ranks at every slider move, or that reads the whole library for
sync, pays it once per video and track; what changes between calls (the model's offset and
content curve that break ties) is the cheap half (:func:`engine.rhythm.sync.best_offset`
with ``scored=``).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from engine.rhythm.music import MusicRhythm
from engine.rhythm.shots import VideoRhythm
from engine.rhythm.sync_offset import OffsetScores, offset_scores


def rhythm_key(music: MusicRhythm) -> str:
    """A digest of everything a track's rhythm holds: a track re-analysed (a new rhythm
    version, the file changed) gets a new key, so a stale score is never reused."""
    return hashlib.blake2b(music.to_json().encode(), digest_size=16).hexdigest()


class OffsetScoreCache:
    """:class:`OffsetScores` per (video rhythm, track), for the last ``videos`` videos.

    A video is recognised by identity (the analysis object a front end keeps while the video
    is open), a track by its item id and :func:`rhythm_key`. Thread-safe: the app re-ranks in
    worker threads; two threads asking for the same pair at once may both compute it (the
    result is the same)."""

    def __init__(self, videos: int = 4) -> None:
        self.videos = int(videos)
        self._lock = threading.Lock()
        self._by_video: OrderedDict[int, tuple[VideoRhythm, dict[tuple[int, str], OffsetScores]]] = OrderedDict()
        self.computed = 0
        """How many pairs were computed (not found): for tests and benchmarks."""

    def get(self, video: VideoRhythm, item_id: int, music: MusicRhythm) -> OffsetScores:
        key = (int(item_id), rhythm_key(music))
        with self._lock:
            entry = self._by_video.get(id(video))
            if entry is not None and entry[0] is video:
                self._by_video.move_to_end(id(video))
                hit = entry[1].get(key)
                if hit is not None:
                    return hit
        scored = offset_scores(video, music)
        with self._lock:
            entry = self._by_video.get(id(video))
            if entry is None or entry[0] is not video:  # new, or an id reused by a new object
                entry = (video, {})
                self._by_video[id(video)] = entry
            entry[1][key] = scored
            self._by_video.move_to_end(id(video))
            while len(self._by_video) > self.videos:
                self._by_video.popitem(last=False)
            self.computed += 1
        return scored

    def clear(self) -> None:
        with self._lock:
            self._by_video.clear()
