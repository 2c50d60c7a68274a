"""How honest the per-scene confidence is (issue 16, bug 9): ``python bench/confidence.py [--demo ROOT]``.

1. Null libraries (no track fits: n scores drawn alike, normal or bunched-uniform as in the
   trial's 0.33-0.46): how often the best track is called "good" or "strong" by chance.
2. A planted fit (one track +k sd above an otherwise null library): how often it is found.
3. With ``--demo ROOT`` (a workspace ``mvpt demo build`` made): every held-out clip's scenes,
   the verdict of the clip's own track and of the best one.
"""

from __future__ import annotations

import argparse

import numpy as np

from mvpt_desktop.tasks import SuggestionRow, confidence, stands_out_z


def verdict_of(scores: np.ndarray, i: int = 0) -> str:
    x = np.sort(np.asarray(scores))[::-1]
    z = confidence(x)
    if z is None:
        return ""
    return SuggestionRow(None, (), float(z[i]), stands_out_z(len(x))).verdict


def null_table(trials: int, rng) -> None:
    print("Null libraries (nothing fits): share of scenes whose best track is called good / strong")
    print(f"  {'tracks':>6} {'scores':>16} {'good':>6} {'strong':>7}")
    for n in (10, 20, 40, 100):
        for name, draw in (("normal sd .03", lambda n=n: rng.normal(0.40, 0.03, n)),
                           ("uniform .33-.46", lambda n=n: rng.uniform(0.33, 0.46, n))):
            v = [verdict_of(draw()) for _ in range(trials)]
            print(f"  {n:>6} {name:>16} {v.count('good') / trials:>6.1%} {v.count('strong') / trials:>7.1%}")


def planted_table(trials: int, rng) -> None:
    print("\nOne track planted k sd above a normal library: share found good-or-strong / strong")
    print(f"  {'tracks':>6} " + " ".join(f"{f'k={k}':>12}" for k in (2, 3, 4, 5, 6)))
    for n in (20, 40, 100):
        cells = []
        for k in (2, 3, 4, 5, 6):
            v = []
            for _ in range(trials):
                x = rng.normal(0.40, 0.03, n)
                x[0] = 0.40 + k * 0.03
                z = confidence(np.sort(x)[::-1])
                order = np.argsort(-x)
                row = int(np.flatnonzero(order == 0)[0])
                v.append(SuggestionRow(None, (), float(z[row]), stands_out_z(n)).verdict)
            cells.append(f"{(len(v) - v.count('weak')) / trials:.0%}/{v.count('strong') / trials:.0%}")
        print(f"  {n:>6} " + " ".join(f"{c:>12}" for c in cells))


def demo_table(root: str) -> None:
    import json
    from pathlib import Path

    from engine.jobs import run
    from engine.recommend import recommend_segments
    from mvpt_desktop.tasks import COHORT, open_media
    from training.demo import session_for

    meta = json.loads((Path(root) / "demo.json").read_text())
    session = session_for(root, meta["checkpoint"])
    print(f"\nDemo {root}: held-out clips, per scene: the own track's verdict (rank) and the best track's")
    for clip in sorted((Path(root) / "world" / "held_out").glob("*.mp4")):
        style = clip.stem.split("_", 1)[1]
        a = run(open_media(session, str(clip), 10, {})).analysis
        cells = []
        for row in recommend_segments(session, a, COHORT):
            x = np.array([s.score for s in row])
            own = next((i for i, s in enumerate(row) if style in Path(s.path).stem), None)
            z = confidence(x)
            bar = stands_out_z(len(x))
            v = [SuggestionRow(None, (), float(zz), bar).verdict for zz in z]
            cells.append(f"{v[own][0] if own is not None else '-'}{own + 1 if own is not None else ''}/{v[0][0]}")
        print(f"  {clip.name:<18} " + " ".join(cells))
    print("  (s strong, g good, w weak; own/best; the own track is any track of the clip's style)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=2000)
    p.add_argument("--demo", metavar="ROOT", help="a demo workspace (mvpt demo build --root ROOT)")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    null_table(args.trials, rng)
    planted_table(max(200, args.trials // 4), rng)
    if args.demo:
        demo_table(args.demo)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
