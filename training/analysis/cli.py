"""``mvpt analyze …``: placeholder until the analyses land (issue 8)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="the paper's analyses of what a model learned")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
