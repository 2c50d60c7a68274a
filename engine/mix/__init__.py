"""The soundtrack as an editor ships it: a cue sheet (which music plays under which part of
the video, from where in the track), rendered with crossfades, ducking under the footage's
dialogue and a loudness target, the same samples for the preview and the MP4 export, and an
OTIO timeline with one clip per cue.

- :mod:`.cuesheet` the shared data: Cue, Piece, CueSheet (editing, JSON), MixSettings
- :mod:`.speech` ``detect_speech(samples, rate) -> [n, 2]`` (Silero VAD; WebRTC fallback)
- :mod:`.envelope` the ducking envelope (attack, release, look-ahead, hold) and its keyframes
- :mod:`.loudness` streamed BS.1770 loudness, 4x true peak, master gain + look-ahead limiter
- :mod:`.render` the cue sheet laid out and rendered: ``prepare_mix`` (job) -> ``MixPlan.chunks()``
- :mod:`.otio` the timeline: clips, transitions, speech markers, ducking keyframes in metadata
- :mod:`.export` the jobs front ends call: ``export_job`` and ``preview_job``
"""
