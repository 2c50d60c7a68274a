"""Rhythm and structure, weightless: beats, downbeats and sections of music
(:mod:`engine.rhythm.music`), cuts and visual energy of footage (:mod:`engine.rhythm.video`),
how well a track at an offset sits under a video (:mod:`engine.rhythm.sync`), and re-editing
a track to a length on its downbeats (:mod:`engine.rhythm.fit`).

Everything here is plain numpy on decoded samples or small frames; the media layer decodes,
the analysis pass feeds. Results are frozen dataclasses with a JSON form (stored in the
catalog for tracks, with the cached analysis for videos) and a ``version`` that changes
whenever outputs would.
"""

ENERGY_RATE = 10.0
"""Samples per second of every energy curve (music and video), so they line up by index."""
