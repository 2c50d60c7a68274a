"""``python -m mvpt_desktop.screenshot OUT.png VIDEO [--checkpoint DIR --data-dir DIR]``:
render the main window with real results (offscreen when there is no display).

The same as ``mvpt-desktop VIDEO --screenshot OUT.png --preview``, with the output first.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    out, rest = argv[0], argv[1:]
    if "--preview" not in rest:
        rest.append("--preview")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from .app import main as app_main

    return app_main([*rest, "--screenshot", out])


if __name__ == "__main__":
    raise SystemExit(main())
