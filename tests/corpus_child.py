"""Run the media layer over files, one JSON line per file (run as a child process by the tests).

Run in a child so that a crash in FFmpeg would show up as a failed test, not a dead runner.
"""

from __future__ import annotations

import json
import sys
import time

from engine.media import MediaError
from engine.media.audio import decode_audio
from engine.media.frames import sample_frames
from engine.media.grid import SegmentGrid
from engine.media.probe import probe


def check(path: str) -> dict:
    t0 = time.monotonic()
    result: dict = {"path": path}
    try:
        info = probe(path)
        result["duration"] = info.duration
        grid = SegmentGrid(info.duration, 6.7)
        if info.audio is not None:
            x = decode_audio(path, 16000)
            result["audio_seconds"] = round(x.size / 16000, 3)
        if info.video is not None:
            result["segments"] = sum(1 for _ in sample_frames(path, grid, 1, 32, info=info))
        result["outcome"] = "ok"
    except MediaError as e:
        result["outcome"] = type(e).__name__
        result["message"] = str(e)
    except Exception as e:  # noqa: BLE001 - reported as a failure of the media layer
        result["outcome"] = "UNCAUGHT " + type(e).__name__
        result["message"] = repr(e)
    result["seconds"] = round(time.monotonic() - t0, 3)
    return result


if __name__ == "__main__":
    for line in sys.stdin:
        print(json.dumps(check(line.strip())), flush=True)
