"""``python main.py [FILE]`` starts the desktop app (same as ``mvpt-desktop``)."""

from mvpt_desktop.app import main

if __name__ == "__main__":
    raise SystemExit(main())
