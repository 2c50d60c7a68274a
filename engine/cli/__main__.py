"""``python -m engine.cli``: the ``mvpt`` command (how the app starts ``mvpt learn`` as a child process)."""

from engine.cli import main

raise SystemExit(main())
