"""Shot cuts, gradual transitions and a visual-energy curve of footage.

Fed by the analysis pass, frame by frame, with small RGB frames (short side
``CUT_FRAME_SHORT_SIDE``), so the footage is decoded once for everything:

    det = CutDetector(fps=info.video.fps)
    for t, small in frames:                   # small: uint8 [h, w, 3]
        det.push(t, small)
    rhythm = det.finish(duration)             # VideoRhythm

:func:`detect_cuts` is the same on its own (one decode of a file, for ``mvpt cuts``).
The parts: :mod:`engine.rhythm.shots` (the data: :class:`VideoRhythm`, :class:`Transition`),
:mod:`engine.rhythm.cut_detector` (the streaming detector), :mod:`engine.rhythm.cut_rules`
(the decision below and its thresholds); all public names are importable from here.

How it decides (weightless; every threshold is a constant below, tuned on
``tests/cuts_world.py`` reels with seeds 0-29; ``bench/cuts.py`` measures on held-out ones):

- Per frame, in batches, at half the pushed size (2x2 means, e.g. 42x24): luma, a 128-bin
  Y'CbCr histogram (luma binned softly), the luma thumbnail, a 4x4 luma grid + mean
  chroma ("signature"), mean/contrast/gradient.
- **Hard cut** at frame i (the first frame of the new shot): the change score
  ``s = (histogram distance + 3 x mean |Δluma|) / 2`` between i-1 and i is a local peak
  that stands out from the median of its ±0.5 s neighbourhood (ratio and margin), so a
  fast pan (high change on every frame) is not a cut. Confidence grows with the margin.
- **Flash**: a brightness spike whose picture returns within 0.4 s to the one before it
  (coarse signature) is not a cut; it is reported in ``flashes`` and feeds the energy.
- **Fade**: a run of near-uniform black (or white) frames with a ramp of luma/contrast into
  and/or out of it (≥ 3 frames). A dip shorter than 0.5 s that returns to the same shot is
  a flash, not a fade; a uniform frame with no ramp is a cut to black, handled as a cut.
- **Dissolve**: at a centre frame c and half-width w (0.15-1 s), the thumbnail of c is the
  average of those at c-w and c+w (and the quarter point the 3:1 blend), while the two
  ends differ a lot and are not the same picture brighter or darker (correlation): a
  linear blend between two shots. Pans fail the blend test at thumbnail resolution.
  Camera motion inside the shots spoils that test too, so a looser one (residual 0.4 of
  the change instead of 0.3, ends less correlated) passes when the middle frame also loses
  contrast and detail (a 50/50 blend of unrelated pictures keeps ~0.7 of them; a pan keeps
  all). At this size a pan over smooth content passes a blend test too, so no blend is
  taken where a global shift (phase correlation) explains the far end from the middle, or
  the frame two later from this one, much better than no shift. Dissolves between fast
  pans are missed more often than between still shots (bench/cuts.py says how often).
- **Energy** at ``ENERGY_RATE``: motion (mean |Δluma| over mean luma gradient ≈ pixels
  moved per second, a dead zone for noise), brightness change per second, and flashes,
  each squashed to 0..1 on a fixed scale (so a still picture is 0 and videos compare) and
  combined as a probabilistic "or". Frame differences across a hard cut are left out
  (the cut rate is reported apart: :meth:`VideoRhythm.cut_rate`).

Memory: ~100 bytes per frame (a few numbers, the signature and the dissolve tests in half
precision: ~22 MB for 2 hours at 30 fps) plus a ring of ~2.5 s of thumbnails; frames are
never kept.
"""

from __future__ import annotations

from typing import Any

from engine.jobs import CancelCheck, Job, Progress, check_cancel
from engine.rhythm.cut_detector import CUT_FRAME_SHORT_SIDE, CutDetector
from engine.rhythm.shots import CUTS_VERSION, Transition, VideoRhythm

# --- one decode of a file ----------------------------------------------------------------

def detect_cuts(path: Any, *, cancel: CancelCheck | None = None, limits: Any = None) -> Job[VideoRhythm]:
    """Decode every frame of ``path`` once (threaded, scaled by FFmpeg straight to the
    detector's size, upright) and run :class:`CutDetector` on it. Yields ``Progress("cuts",
    frames done, frames expected)``; returns a :class:`VideoRhythm`.

    Raises :class:`~engine.media.errors.NoVideoStream` for audio-only files and other
    :class:`~engine.media.errors.MediaError` for unreadable ones."""
    from pathlib import Path

    from av.video.reformatter import VideoReformatter

    from engine.media.container import decode_stream, open_media, video_stream
    from engine.media.errors import CorruptMedia, NoVideoStream, converted
    from engine.media.frames import output_size, to_rgb
    from engine.media.limits import DEFAULT_LIMITS, Deadline
    from engine.media.probe import probe

    limits = limits or DEFAULT_LIMITS
    p = Path(path)
    info = probe(p, limits=limits)
    if info.video is None:
        raise NoVideoStream(p, "has no video stream; choose a video file")
    total = info.video.frame_count or None
    det = CutDetector(fps=info.video.fps)
    turns = info.video.rotation // 90
    done = 0
    yield Progress("cuts", 0, total, p.name)
    with open_media(p, limits=limits) as c, converted(p, "decoding video for cuts"):
        vs = video_stream(c)
        cc = vs.codec_context
        cc.options = {"max_pixels": str(limits.max_pixels), "skip_loop_filter": "all"}
        cc.thread_type = "AUTO"
        size = output_size(vs, CUT_FRAME_SHORT_SIDE)
        scaler = VideoReformatter()  # set up once for the run, not per frame (same pixels)
        deadline = Deadline(limits.decode_seconds(info.duration), str(p), "decoding video for cuts")
        start = float(vs.start_time * vs.time_base) if vs.start_time is not None and vs.time_base else 0.0
        last_t = -1.0
        try:
            for frame in decode_stream(c, vs, deadline, cancel):
                ft = frame.time
                if ft is None:
                    continue
                ft -= start
                if ft <= last_t:  # a repeated or out-of-order timestamp: keep time monotonic
                    ft = last_t + 1e-4
                last_t = ft
                det.push(ft, to_rgb(frame, size, turns, "AREA", scaler))
                done += 1
                if done % 64 == 0:
                    check_cancel(cancel)
                    yield Progress("cuts", done, total, p.name)
        except CorruptMedia:
            if done == 0:
                raise
            # What was readable is analysed; the rest of a damaged file is left out.
    if done == 0:
        raise CorruptMedia(p, "no frame of the video could be decoded (truncated or damaged?); re-export it")
    yield Progress("cuts", done, done, p.name)
    return det.finish(info.duration)


__all__ = ["CutDetector", "VideoRhythm", "Transition", "detect_cuts", "CUTS_VERSION", "CUT_FRAME_SHORT_SIDE"]
