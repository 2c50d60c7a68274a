"""Sampling frames at given times, streaming, decoding only what is needed.

``sample_frames(path, grid, per_segment=k)`` yields one :class:`SegmentFrames` per segment,
in order, holding ``k`` RGB frames near the centres of ``k`` equal slots of the segment.
Memory is bounded by one segment's frames: a 2-hour video never sits in memory.

Which frames are decoded is chosen per file from its keyframe spacing ``g`` (read from the
container index, or from the first packets when there is no index), because on these
machines the cost of the three ways differs by two orders of magnitude:

``keyframes``  (``g`` ≤ slot length) decode keyframes only (``skip_frame=NONKEY``) in one
               pass and use, for each slot, the keyframe nearest its centre. Cheapest:
               0.14-0.42 s for a minute of 1080p. The frame used may be up to ``g/2`` away
               from the slot centre (its real time is in ``SegmentFrames.times``).
``seek``       (few targets, long GOP) seek to the keyframe before each target and decode
               forward to it: exact frames, costs ~``g/2`` of decoding per target.
``sequential`` (otherwise) decode straight through with frame threading, skipping
               non-reference B-frames, and keep the first decoded frame at or after each
               target: within a few frames of exact, costs less than one full decode.

The stream is never decoded twice. Frames come back upright (display rotation applied) and
resized so the short side is ``short_side`` pixels, honouring non-square pixels.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from engine.jobs import CancelCheck

from .container import decode_stream, open_media, video_stream
from .errors import CorruptMedia, MediaError, NoVideoStream, converted
from .grid import SegmentGrid
from .limits import DEFAULT_LIMITS, Deadline, MediaLimits
from .probe import MediaInfo, probe

Strategy = Literal["auto", "keyframes", "seek", "sequential"]


@dataclass(frozen=True)
class SegmentFrames:
    index: int
    """Segment index in the grid."""
    times: np.ndarray
    """[k] float64: the media time (s) of each frame actually used."""
    frames: np.ndarray
    """[k, H, W, 3] uint8 RGB, upright."""


def choose_strategy(info: MediaInfo, grid: SegmentGrid, per_segment: int,
                    keyframe_interval: float | None) -> Literal["keyframes", "seek", "sequential"]:
    """Pick the cheapest way to get ``per_segment`` frames per segment (see module doc)."""
    slot = grid.segment_seconds / per_segment
    g = keyframe_interval
    if g is None:
        return "sequential"
    if g <= slot * 1.01:
        return "keyframes"
    targets = len(grid) * per_segment
    # Seeking decodes ~g/2 per target; decoding through costs the whole duration but runs
    # ~1.6x faster with frame threading.
    if targets * g / 2 < 0.6 * grid.duration:
        return "seek"
    return "sequential"


FrameTap = Callable[[float, np.ndarray], None]
"""Called with (media time in s, uint8 [h, w, 3] small upright RGB) for every decoded frame."""


def sample_frames(path: str | os.PathLike[str], grid: SegmentGrid, per_segment: int = 2,
                  short_side: int | None = 224, *, strategy: Strategy = "auto",
                  info: MediaInfo | None = None, limits: MediaLimits = DEFAULT_LIMITS,
                  cancel: CancelCheck | None = None, tap: FrameTap | None = None,
                  tap_short_side: int = 48) -> Iterator[SegmentFrames]:
    """Yield the frames of each segment of ``grid``, in order (see module doc).

    With ``tap``, every frame of the stream is decoded (sequentially, none skipped) and
    handed to ``tap`` at ``tap_short_side`` px before the segment's picks are made: the one
    decode pass then feeds the shot-cut detector too.

    Raises :class:`NoVideoStream` for audio-only files, and :class:`CorruptMedia` (after the
    segments that could be read were yielded) when the stream stops decoding.
    """
    p = Path(path)
    info = info or probe(p, limits=limits)
    if info.video is None:
        raise NoVideoStream(p, "has no video stream; choose a video file (or use it as music)")
    targets = grid.sample_times(per_segment)
    with open_media(p, limits=limits) as c, converted(p, "decoding video"):
        vs = video_stream(c)
        cc = vs.codec_context
        cc.options = {"max_pixels": str(limits.max_pixels)}
        g = info.video.keyframe_interval or _estimate_keyframe_interval(c, vs)
        chosen = choose_strategy(info, grid, per_segment, g) if strategy == "auto" else strategy
        tapped = None
        if tap is not None:
            chosen = "sequential"
        deadline = Deadline(limits.decode_seconds(info.duration), str(p), "decoding video")
        size = output_size(vs, short_side)
        turns = info.video.rotation // 90
        scaler = VideoReformatter()  # one per output size: FFmpeg's scaler is set up once, not per frame
        if chosen == "keyframes":
            cc.skip_frame = "NONKEY"
            picker = _pick_nearest(decode_stream(c, vs, deadline, cancel), targets, grid)
        elif chosen == "seek":
            cc.thread_type = "AUTO"
            picker = _pick_by_seeking(c, vs, targets, deadline, cancel)
        else:
            cc.thread_type = "AUTO"
            # Deblocking is invisible once frames are scaled down for analysis: skip it.
            cc.options = {**cc.options, "skip_loop_filter": "all"}
            frames = decode_stream(c, vs, deadline, cancel)
            if tap is None:
                # B-frames nobody references are skipped: the frame used is then the next
                # decoded one, a few frames (< 0.1 s) later at most. Saves a third of the
                # decoding of typical B-frame encodes, which is most of what long-GOP files
                # cost. (A tap needs every frame: a cut must be found to the frame.)
                cc.skip_frame = "NONREF"
            else:
                frames = tapped = _tapped(frames, tap, output_size(vs, tap_short_side), turns, VideoReformatter())
            picker = _pick_first_after(frames, targets)
        done = 0
        try:
            for index, picks in picker:
                if tapped is not None and index == len(grid) - 1:
                    for _ in tapped:  # the tap sees the frames after the last pick too
                        pass
                frames = np.stack([to_rgb(f, size, turns, scaler=scaler) for f in picks])
                yield SegmentFrames(index, np.array([f.time or 0.0 for f in picks]), frames)
                done = index + 1
        except CorruptMedia as e:
            raise CorruptMedia(p, f"video stops decoding at segment {done + 1} of {len(grid)} "
                                  f"({e.reason})", decoded_seconds=grid[done].start if done < len(grid) else info.duration) from e
        if done < len(grid):
            reached = grid[done].start
            raise CorruptMedia(p, f"the video ends at {reached:.1f} s, before its stated duration "
                                  f"{info.duration:.1f} s (truncated?)", decoded_seconds=reached)


def _tapped(frames: Iterator[av.VideoFrame], tap: FrameTap, size, turns: int,
            scaler: VideoReformatter) -> Iterator[av.VideoFrame]:
    for f in frames:
        if f.time is not None:
            # every frame of the stream goes through here: FFmpeg's fast bilinear scaler costs
            # ~0.14 ms a 1080p frame (0.8 ms area averaging) and finds the same cuts
            tap(float(f.time), to_rgb(f, size, turns, "FAST_BILINEAR", scaler))
        yield f


def _pick_nearest(frames: Iterator[av.VideoFrame], targets: list[list[float]], grid: SegmentGrid):
    """Keyframe mode: per slot, the decoded frame nearest its centre (prefer inside the segment)."""
    n = len(targets)
    best: list[av.VideoFrame | None] = [None] * len(targets[0])
    prev: av.VideoFrame | None = None  # last frame before the current segment
    seg = 0

    def flush(i: int, best, fallback):
        picks = [b if b is not None else fallback for b in best]
        return i, picks

    for f in frames:
        t = f.time
        if t is None:
            continue
        while seg < n and t >= grid[seg].end:
            # Segment `seg` is complete. A slot with no keyframe inside takes the nearest one
            # around it: the last before the segment or this first one after it.
            fallback = _nearer(prev, f, grid[seg].middle)
            yield flush(seg, best, fallback)
            prev = _last(best) or prev
            best = [None] * len(best)
            seg += 1
        if seg >= n:
            return
        for j, target in enumerate(targets[seg]):
            if best[j] is None or abs(t - target) < abs(best[j].time - target):
                best[j] = f
    # End of stream: flush the current segment and, if the stream ended early, stop there.
    if seg < n and (any(b is not None for b in best) or prev is not None):
        yield flush(seg, best, _last(best) or prev)


def _nearer(a, b, t: float):
    if a is None:
        return b
    if b is None:
        return a
    return a if abs(a.time - t) <= abs(b.time - t) else b


def _last(frames):
    present = [f for f in frames if f is not None]
    return max(present, key=lambda f: f.time) if present else None


def _pick_first_after(frames: Iterator[av.VideoFrame], targets: list[list[float]]):
    """Sequential mode: for each target, the first frame whose span contains or follows it."""
    flat = [(i, t) for i, ts in enumerate(targets) for t in ts]
    k = len(targets[0])
    cur: list[av.VideoFrame] = []
    pos = 0
    last = None
    for f in frames:
        t = f.time
        if t is None:
            continue
        half = 0.5 * float(f.duration * f.time_base) if f.duration and f.time_base else 0.0
        while pos < len(flat) and t + half >= flat[pos][1]:
            cur.append(f)
            pos += 1
            if len(cur) == k:
                yield flat[pos - 1][0], cur
                cur = []
        last = f
        if pos >= len(flat):
            return
    # The last target(s) may lie past the final frame (durations are rounded): use it.
    if last is not None and pos < len(flat) and flat[pos][1] - last.time < 1.0:
        while pos < len(flat):
            cur.append(last)
            pos += 1
            if len(cur) == k:
                yield flat[pos - 1][0], cur
                cur = []


def _pick_by_seeking(c, vs, targets: list[list[float]], deadline: Deadline, cancel: CancelCheck | None):
    """Seek mode: seek to the keyframe before each target, decode forward to it."""
    tb = vs.time_base
    start = float(vs.start_time * tb) if vs.start_time is not None else 0.0
    for i, ts in enumerate(targets):
        picks = []
        for target in ts:
            c.seek(int((start + target) / tb), stream=vs, backward=True, any_frame=False)
            got = None
            for f in decode_stream(c, vs, deadline, cancel):
                if f.time is None:
                    continue
                got = f
                if f.time - start >= target - 1e-3:
                    break
            if got is None:
                return
            picks.append(got)
        yield i, picks


def _estimate_keyframe_interval(c, vs, max_packets: int = 600, max_seconds: float = 40.0) -> float | None:
    """Median keyframe spacing from the first packets (demux only, no decoding), then rewind."""
    times = []
    try:
        for packet in c.demux(vs):
            if packet.pts is None:
                continue
            t = float(packet.pts * vs.time_base)
            if packet.is_keyframe:
                times.append(t)
            max_packets -= 1
            if max_packets <= 0 or t > max_seconds:
                break
        c.seek(0, stream=vs, backward=True)
    except (av.error.FFmpegError, MediaError):
        return None
    if len(times) < 2:
        return max_seconds if times else None  # one keyframe in 40 s: a very long GOP
    gaps = sorted(b - a for a, b in zip(times, times[1:]) if b > a)
    return gaps[len(gaps) // 2] if gaps else None


def output_size(vs, short_side: int | None) -> tuple[int, int] | None:
    """(width, height) of ``vs``'s frames with square pixels and the short side ``short_side``,
    before rotation; with ``short_side`` None, the square-pixel size, or None when the frames
    are square already (nothing to scale)."""
    cc = vs.codec_context
    w, h = int(cc.width), int(cc.height)
    sar = vs.sample_aspect_ratio
    if sar and float(sar) > 0 and abs(float(sar) - 1.0) > 1e-3:
        w = max(1, int(round(w * float(sar))))  # square pixels for analysis and display
    if short_side is None:
        return (w, h) if (w, h) != (cc.width, cc.height) else None
    scale = short_side / min(w, h)
    return max(1, int(round(w * scale))), max(1, int(round(h * scale)))


def to_rgb(frame: av.VideoFrame, size: tuple[int, int] | None, quarter_turns: int,
           interpolation: str | None = None, scaler: VideoReformatter | None = None) -> np.ndarray:
    """uint8 [h, w, 3] RGB of ``frame`` at ``size``, upright. ``scaler``: a reformatter kept for
    a run of frames of one size. ``frame.reformat`` sets FFmpeg's scaler up anew for every frame,
    which cost more than the scaling itself (0.64 against 0.14 ms a 1080p frame to 85 x 48 px,
    2.3 against 1.5 ms to 256 x 144); the pixels are the same. The scaler runs in the calling
    thread: by default it splits every frame into slices for a pool of threads, and waking them
    (on a busy machine, waiting for them to be scheduled) took longer than these small pictures
    take to scale (the pixels are the same)."""
    if size is None:
        rgb = frame.to_ndarray(format="rgb24")
    else:
        scaler = scaler or VideoReformatter()
        rgb = scaler.reformat(frame, width=size[0], height=size[1], format="rgb24",
                              interpolation=interpolation, threads=1).to_ndarray()
    if quarter_turns:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=quarter_turns))
    return rgb
