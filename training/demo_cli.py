"""``mvpt demo …``: placeholder until the demo workspace lands (issue 7)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="build the built-in demo workspace and open the app on it")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
