"""``mvpt``: the command-line face of the engine.

Each group of subcommands lives in its own module under ``engine/cli/`` with a
``register(subparsers)`` function; :data:`COMMAND_MODULES` lists them. The training
subcommands (``train``, ``eval``, ``dataset``, ``experiment``, ``analyze``, ``demo``) are handed to
``training.cli`` and imported only when used, so the rest of the CLI starts without the
training code (the architecture's one exception to "engine never imports training").
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from engine.media.errors import MediaError

COMMAND_MODULES = ("engine.cli.media_cmds", "engine.cli.features_cmds", "engine.cli.library_cmds",
                   "engine.cli.recommend_cmds", "engine.cli.export_cmds", "engine.cli.rhythm_cmds")
TRAINING_COMMANDS = {
    "train": "train a model on a feature dataset",
    "eval": "evaluate a checkpoint with the paper's retrieval protocol",
    "dataset": "build or synthesise a feature dataset",
    "experiment": "run the paper's ablation table or context curve",
    "analyze": "the paper's analyses of what a model learned",
    "demo": "build the built-in demo workspace and open the app on it",
    "starter": "rebuild the starter model that ships with the app",
    "learn": "fine-tune the current model on a folder of your finished edits",
}


def USER_ERRORS() -> tuple[type[BaseException], ...]:  # noqa: N802 - a constant, computed lazily
    """Errors whose message is meant for the user: printed as one line, never a traceback."""
    from engine.attributes import AttributeError_
    from engine.cli.checks import UsageError
    from engine.features.base import FeatureError
    from engine.jobs import Cancelled
    from engine.session import NoModelError

    return (MediaError, FeatureError, NoModelError, AttributeError_, Cancelled, UsageError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mvpt", description="MVPT Desktop: music for your footage, "
                                     "footage for your music (after MVPt, CVPR 2022).")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for name, help_text in TRAINING_COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in argv or "--verbose" in argv
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args_wo_flags = [a for a in argv if a not in ("-v", "--verbose")]
    if args_wo_flags and args_wo_flags[0] in TRAINING_COMMANDS:
        from training.cli import main as training_main  # only here: see module docstring

        return int(training_main(args_wo_flags) or 0)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS() as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
