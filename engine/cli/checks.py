"""Cheap checks the commands run before any slow work, with messages in the CLI's words.

A command that reads a library first checks what costs nothing: the files it was given exist
and hold the right streams (a probe reads the header only), the data folder exists (a
mistyped ``--data-dir`` is refused, never silently created), and the library holds items of
the kind it searches. Only then does it load the model and analyse the media.
"""

from __future__ import annotations

import os
from pathlib import Path


class UsageError(Exception):
    """A mistake on the command line the user can fix; ``str(e)`` says what to do. Printed as
    one ``error:`` line, never a traceback."""


def require_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as given, or :class:`UsageError` ("file not found: PATH") before anything opens it."""
    p = Path(path).expanduser()
    if not p.exists():
        raise UsageError(f"file not found: {path}")
    if p.is_dir():
        raise UsageError(f"{path} is a folder; give a media file")
    return p


def require_streams(path: Path, command: str, want: str) -> None:
    """Probe ``path`` (header only) and refuse a file without the stream ``command`` needs.

    ``want`` is ``"video"`` (footage: recommend, fit) or ``"audio"`` (a song: footage)."""
    from engine.media.probe import probe

    info = probe(path)
    if want == "video" and info.video is None:
        raise UsageError(f"{path.name} has no video stream: `mvpt {command}` takes footage; "
                         f"for footage that fits a song use `mvpt footage {path}`")
    if want == "audio" and info.audio is None:
        raise UsageError(f"{path.name} has no audio: `mvpt {command}` takes a song; "
                         f"for music that fits this footage use `mvpt recommend {path}`")


def data_dir_arg(data_dir: str | os.PathLike[str] | None) -> str:
    """`` --data-dir D`` to repeat in a suggested command when one was given, else ``""``."""
    return f" --data-dir {data_dir}" if data_dir else ""


def existing_data_dir(explicit: str | os.PathLike[str] | None) -> Path:
    """The data folder a reading command uses: ``explicit`` (``--data-dir`` or the settings'),
    else ``$MVPT_DATA_DIR``, else the app's own. One that was named but does not exist is a
    :class:`UsageError` (a typo must not become a new, empty library); the app's own default
    folder is created as usual."""
    from engine.paths import ENV_DATA_DIR

    named = explicit or os.environ.get(ENV_DATA_DIR, "").strip() or None
    if named is None:
        from engine.paths import data_dir

        return data_dir()
    d = Path(named).expanduser()
    if not d.is_dir():
        what = "is not a folder" if d.exists() else "does not exist"
        raise UsageError(f"data folder {named} {what} (mistyped?); commands that read a library do not create "
                         f"one: create it by adding media, `mvpt library add FOLDER --data-dir {named}`")
    return d


def require_items(catalog, kind: str, data_dir: str | os.PathLike[str] | None) -> int:
    """Refuse an empty ``kind`` library (before any analysis); returns how many items it has."""
    n = int(catalog.status_counts(kind).get("ok", 0))
    if n == 0:
        flag = " --footage" if kind == "footage" else ""
        what = "footage" if kind == "footage" else "music"
        raise UsageError(f"the {what} library is empty: add a folder of {what} with "
                         f"`mvpt library add FOLDER{flag}{data_dir_arg(data_dir)}` (with the same `--checkpoint`, "
                         f"if you gave one)")
    return n


def require_indexed(catalog, checkpoint_id: str, kind: str, data_dir: str | os.PathLike[str] | None) -> int:
    """Refuse a library with no vectors for the active model; returns the items embedded."""
    n = int(catalog.embedding_counts(checkpoint_id)[kind]["items"])
    if n == 0:
        flag = " --footage" if kind == "footage" else ""
        what = "clips" if kind == "footage" else "tracks"
        raise UsageError(f"the {kind} library has no {what} indexed for this model: "
                         f"`mvpt library add FOLDER{flag}{data_dir_arg(data_dir)}` embeds them (with the same "
                         f"`--checkpoint`, if you gave one)")
    return n
