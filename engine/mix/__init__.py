"""The soundtrack as an editor ships it: a cue sheet (which music plays under which part of
the video, from where in the track), rendered with crossfades, ducking under the footage's
dialogue and a loudness target, the same samples for the preview and the MP4 export, and an
OTIO timeline with one clip per cue.
"""
