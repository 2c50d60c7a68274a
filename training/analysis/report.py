"""A small Markdown writer for the analysis reports."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class Report:
    def __init__(self, title: str) -> None:
        self.lines: list[str] = [f"# {title}", ""]

    def heading(self, text: str) -> None:
        self.lines += [f"## {text}", ""]

    def para(self, text: str) -> None:
        self.lines += [text, ""]

    def bullets(self, items: Sequence[str]) -> None:
        self.lines += [f"- {x}" for x in items] + [""]

    def image(self, file: str, alt: str) -> None:
        self.lines += [f"![{alt}]({file})", ""]

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        def esc(s: object) -> str:
            return str(s).replace("|", "\\|").replace("\n", " ")

        self.lines.append("| " + " | ".join(esc(h) for h in header) + " |")
        self.lines.append("|" + "|".join(" --- " for _ in header) + "|")
        self.lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
        self.lines.append("")

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.text())
        return path
