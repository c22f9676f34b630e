"""The macro files (`templates/macros/<name>.<lang>.txt`): read once in the load stage.

Rendering and checking them is `comms.macros`' job; this module only knows the file layout.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MACRO_DIR = "templates/macros"

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_FILE_NAME = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)\.(?P<lang>[a-z]{2})\.txt$")


@dataclass(frozen=True)
class Macro:
    """One macro in one language, as read from its file."""

    name: str
    lang: str
    text: str
    path: Path

    @property
    def placeholders(self) -> set[str]:
        return placeholders(self.text)


def placeholders(text: str) -> set[str]:
    """The names of the `{name}` placeholders in `text`."""
    return set(PLACEHOLDER.findall(text))


def load_macros(macro_dir: Path | str) -> dict[tuple[str, str], Macro]:
    """Every `<name>.<lang>.txt` in `macro_dir`, keyed by `(name, lang)`.

    Other files are ignored; the trailing newline of a file is not part of the macro.
    """
    macros: dict[tuple[str, str], Macro] = {}
    for path in sorted(Path(macro_dir).glob("*.txt")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            continue
        text = path.read_text(encoding="utf-8").rstrip("\n")
        macros[(match["name"], match["lang"])] = Macro(match["name"], match["lang"], text, path)
    return macros
