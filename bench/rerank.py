"""The whole-video list on your own library: first ranking and re-rankings (slider moves).

    .venv/bin/python bench/rerank.py VIDEO [--data-dir DIR] [--k 5 10] [--repeats 5]

Analyses VIDEO once (cached like the app's), then times
:func:`engine.recommend.best_soundtracks` side by side in one run:

- ``first``: a fresh session's sync-score cache (every track's sync scores computed: with sync
  on, a library of at most ``SYNC_WHOLE_LIBRARY`` tracks is read whole);
- ``again``: the same call once the scores are kept (what an attribute slider move costs);
- ``uncached``: the cache emptied before each call, over the same candidates.

Medians over ``--repeats``, per k, with the ratio uncached/again, the candidates re-ranked, and
the first five titles (the same for every k when the library is read whole).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.jobs import run  # noqa: E402
from engine.recommend import analyse_video, best_soundtracks  # noqa: E402
from engine.session import EngineSession, EngineSettings  # noqa: E402


def _timed(session: EngineSession, a, k: int) -> tuple[float, list]:
    t = time.perf_counter()
    out = best_soundtracks(session, a, k)
    return time.perf_counter() - t, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--k", type=int, nargs="+", default=[5, 10])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    settings = EngineSettings.load()
    if args.data_dir:
        settings = dataclasses.replace(settings, data_dir=args.data_dir)
    session = EngineSession(settings)
    a = run(analyse_video(session, args.video, thumbnails=False))
    tracks = len(session.library.catalog.items("music", "ok"))
    print(f"{Path(args.video).name}: {a.duration:.1f} s, {len(a)} segments; library {tracks} tracks; "
          f"sync weight {session.sync_weight():.2f}")
    best_soundtracks(session, a, 1, sync=0.0)  # warm the model's index and the catalog
    for k in args.k:
        session.sync_cache.clear()
        before = session.sync_cache.computed
        first, lst = _timed(session, a, k)
        computed = session.sync_cache.computed - before
        again = [_timed(session, a, k)[0] for _ in range(args.repeats)]
        uncached = []
        for _ in range(args.repeats):
            session.sync_cache.clear()
            uncached.append(_timed(session, a, k)[0])
        ma, mu = statistics.median(again), statistics.median(uncached)
        print(f"k={k:<3d} first {1000 * first:7.0f} ms ({computed} tracks' sync scores)   again {1000 * ma:6.0f} ms   "
              f"uncached {1000 * mu:6.0f} ms   uncached/again {mu / max(ma, 1e-9):5.1f}x")
        print("       " + " | ".join(f"{t.title[:24]} @{t.offset:.1f}s" for t in lst[:5]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
