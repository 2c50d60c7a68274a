"""``mvpt analyze robustness | attributes | attention | tags``: the paper's analyses (Sec. 5).

Each writes PNG plots, a JSON file with the numbers, and a Markdown report into ``--out``,
and prints the report's path. See docs/analysis.md.
"""

from __future__ import annotations

import argparse
import sys


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from e


def _kinds(text: str) -> tuple[str, ...]:
    from .perturb import KINDS

    kinds = tuple(x.strip() for x in text.split(",") if x.strip())
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(KINDS)} (comma-separated)")
    return kinds


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="the paper's analyses of what a model learned",
                       description="The paper's analyses (Sec. 5); each writes PNG plots and a Markdown report.")
    asub = p.add_subparsers(dest="analysis", metavar="ANALYSIS")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    def common(q: argparse.ArgumentParser, checkpoint: bool = True) -> None:
        if checkpoint:
            q.add_argument("--checkpoint", required=True, help="checkpoint folder or run folder (uses best/)")
        q.add_argument("--out", required=True, help="folder for the plots and the report")
        q.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto")
        q.add_argument("--quiet", action="store_true")

    r = asub.add_parser("robustness", help="R@10 against brightness, hue and tempo perturbations")
    r.add_argument("--data", required=True, help="feature dataset built from media (mvpt dataset build)")
    r.add_argument("--kinds", type=_kinds, default=("brightness", "hue", "tempo"),
                   help="comma-separated: brightness,hue,tempo (default: all)")
    r.add_argument("--factors", type=_floats, default=None, help="values of r (default 0.5,0.6,...,1.5)")
    r.add_argument("--split", default="test", choices=["train", "val", "test"])
    r.add_argument("--media", default=None, help="the dataset's videos, if moved since the build")
    r.add_argument("--pool", type=int, default=2000, help="candidates per pool (paper: 2000)")
    r.add_argument("--pools", type=int, default=5)
    r.add_argument("--seq-len", type=int, default=None, help="window length L (default: the model's)")
    r.add_argument("--max-items", type=int, default=None, help="only the first N videos of the split")
    r.add_argument("--seed", type=int, default=0)
    common(r)
    r.set_defaults(func=cmd_robustness)

    a = asub.add_parser("attributes", help="genre x image-class matrix of top-1 retrievals")
    a.add_argument("--images", required=True, help="labelled image set: one subfolder of images per class")
    src = a.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="music segments of a feature dataset (labels: --labels or npz 'genre')")
    src.add_argument("--library", help="music segments of a library data folder (genres from musicnn tags)")
    a.add_argument("--split", default="test", choices=["train", "val", "test"])
    a.add_argument("--labels", default=None, help="JSON {item id: genre, or [genre per segment]} for --data")
    a.add_argument("--per-class", type=int, default=None, help="images per class (default: the smallest class)")
    a.add_argument("--min-queries", type=int, default=1, help="leave out genres with fewer segments")
    a.add_argument("--alpha", type=float, default=0.01, help="significance for 'far from uniform' cells")
    a.add_argument("--seed", type=int, default=0)
    common(a)
    a.set_defaults(func=cmd_attributes)

    t = asub.add_parser("attention", help="attention-rollout weight per segment of a video, over thumbnails")
    t.add_argument("video")
    common(t)
    t.set_defaults(func=cmd_attention)

    g = asub.add_parser("tags", help="musicnn tag and genre summary of a music library")
    g.add_argument("--library", default=None, help="library data folder (default: the app's, or MVPT_DATA_DIR)")
    common(g, checkpoint=False)
    g.set_defaults(func=cmd_tags)


def _device(name: str) -> str:
    from training.train import resolve_device

    return str(resolve_device(name))


def _done(path) -> int:
    print(path)
    return 0


def cmd_robustness(a: argparse.Namespace) -> int:
    from training.cli import drive

    from .robustness import DEFAULT_FACTORS, RobustnessConfig, robustness, write_robustness

    cfg = RobustnessConfig(checkpoint=a.checkpoint, data=a.data, kinds=a.kinds, factors=a.factors or DEFAULT_FACTORS,
                           split=a.split, media=a.media, pool=a.pool, pools=a.pools, seed=a.seed,
                           seq_len=a.seq_len, device=_device(a.device), max_items=a.max_items)
    result = drive(robustness(cfg), a.quiet)
    for kind in result.curves:
        r10 = result.r10(kind)
        print(f"{kind:<10} " + "  ".join(f"{r:g}:{v:.1f}" for r, v in r10.items()), file=sys.stderr)
    return _done(write_robustness(result, a.out))


def cmd_attributes(a: argparse.Namespace) -> int:
    from training.cli import drive

    from .attributes import AttributesConfig, attribute_matrix, write_attributes

    cfg = AttributesConfig(checkpoint=a.checkpoint, images=a.images, data=a.data, split=a.split, labels=a.labels,
                           library=a.library, per_class=a.per_class, min_queries=a.min_queries, alpha=a.alpha,
                           seed=a.seed, device=_device(a.device))
    return _done(write_attributes(drive(attribute_matrix(cfg), a.quiet), a.out))


def cmd_attention(a: argparse.Namespace) -> int:
    from training.cli import drive

    from .attention import attention, write_attention

    result, thumbs = drive(attention(a.video, a.checkpoint, _device(a.device)), a.quiet)
    return _done(write_attention(result, thumbs, a.out))


def cmd_tags(a: argparse.Namespace) -> int:
    from .tags import library_tags, write_tags

    if a.library is None:
        from engine.paths import data_dir

        a.library = str(data_dir())
    return _done(write_tags(library_tags(a.library), a.out, a.library))
