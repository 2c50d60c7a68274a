"""The player sends every command to QMediaPlayer and QAudioOutput through the event loop.

A direct call holds Python's GIL while Qt's multimedia code waits for a lock that one of its
own threads holds while that thread waits for the GIL: the whole app freezes (seen in CI at
a ``pause()`` from the loaded-media slot while the FFmpeg plugin deleted the previous file's
objects). The hang is a race that no test provokes reliably, so this checks the rule itself,
in the source, and that queued commands still arrive."""

import ast
from pathlib import Path

import mvpt_desktop.player as player_module

COMMANDS = {"play", "pause", "stop", "setSource", "setPosition", "setVolume", "setMuted",
            "setPlaybackRate", "setLoops", "setAudioOutput", "setVideoSink", "setSourceDevice"}
SET_UP = {"setAudioOutput", "setVideoSink"}
"""Allowed directly in __init__ only: the player is new, no media thread runs yet."""


def _direct_commands(tree: ast.AST) -> list[tuple[str, str, int]]:
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        for node in ast.walk(fn):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in COMMANDS and isinstance(node.func.value, ast.Attribute)
                    and node.func.value.attr in ("_mp", "_audio")):
                if fn.name == "__init__" and node.func.attr in SET_UP:
                    continue
                found.append((fn.name, node.func.attr, node.lineno))
    return found


def test_no_media_command_is_called_directly_from_python():
    tree = ast.parse(Path(player_module.__file__).read_text())
    assert _direct_commands(tree) == []


def test_the_rule_catches_a_direct_call():
    src = "class P:\n    def _on_status(self):\n        self._mp.pause()\n        self._audio.setVolume(1)\n"
    assert [(f, c) for f, c, _ in _direct_commands(ast.parse(src))] == [("_on_status", "pause"),
                                                                      ("_on_status", "setVolume")]


def test_queued_commands_arrive(qtbot):
    p = player_module.Player(video=False)
    if not p.available:
        import pytest
        pytest.skip(p.unavailable_reason or "no multimedia backend")
    p.set_volume(0.25)
    p.set_muted(True)
    qtbot.waitUntil(lambda: abs(p._audio.volume() - 0.25) < 1e-6 and p._audio.isMuted(), timeout=2000)
    p.set_muted(False)
    qtbot.waitUntil(lambda: not p._audio.isMuted(), timeout=2000)
