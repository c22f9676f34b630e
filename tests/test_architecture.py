"""The package layering of generator/__init__.py holds: no module imports from a layer above its own."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import PROJECT

PACKAGE = PROJECT / "generator"
# Lower number, lower layer (generator/__init__.py draws the same picture).
LAYERS = {
    "localtime": 0, "progress": 0, "content": 1, "sla": 2,
    "comms": 3, "render": 3, "report": 3,
    "check": 4, "build": 4,
    "trust": 5, "service": 5, "authoring": 5, "starter": 5, "doctor": 5,
    "cli": 6, "__main__": 7,
}


def _part_of(module: tuple[str, ...]) -> str:
    return module[0] if module else ""


def _imports(file: Path) -> list[tuple[int, tuple[str, ...]]]:
    """`(line, module path inside generator)` of every import of a generator module in `file`."""
    package = file.relative_to(PACKAGE).with_suffix("").parts
    package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = (*base, *(node.module.split(".") if node.module else ()))
                if not node.module:  # `from . import ledger`
                    found += [(node.lineno, (*target, alias.name)) for alias in node.names]
                    continue
                found.append((node.lineno, target))
            elif node.module and node.module.split(".")[0] == "generator":
                found.append((node.lineno, tuple(node.module.split(".")[1:])))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, tuple(a.name.split(".")[1:])) for a in node.names
                      if a.name.split(".")[0] == "generator"]
    return found


def test_every_module_belongs_to_a_layer():
    parts = {f.relative_to(PACKAGE).with_suffix("").parts[0] for f in PACKAGE.rglob("*.py")} - {"__init__"}
    assert parts <= set(LAYERS), f"add {sorted(parts - set(LAYERS))} to the layering in generator/__init__.py"


def test_no_module_imports_from_a_layer_above_its_own():
    upward = []
    for file in sorted(PACKAGE.rglob("*.py")):
        own = _part_of(file.relative_to(PACKAGE).with_suffix("").parts)
        if own == "__init__":
            continue
        for line, target in _imports(file):
            other = _part_of(target)
            if other and LAYERS.get(other, -1) > LAYERS[own]:
                upward.append(f"{file.relative_to(PROJECT)}:{line}: {own} imports {'.'.join(target)}")
    assert upward == []
