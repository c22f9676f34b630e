"""YAML files read into plain Python values while remembering the line of every field.

PyYAML's composer gives us nodes with positions; we build the values ourselves so that every error can point
at `path:line`, and so that times stay the exact strings the engineer wrote (PyYAML would silently turn a
naive `2025-10-02 10:14` into a datetime and drop nothing, hiding the missing offset).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Loc = tuple[str | int, ...]
# Pseudo-field: `line_of(loc + (TEXT_START,))` is the line where the text of the scalar at `loc` begins.
TEXT_START = "<text>"
# libyaml's composer is an order of magnitude faster and reports the same positions.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class YamlDocument:
    value: object
    lines: dict[Loc, int] = field(default_factory=dict)
    line_offset: int = 0

    def line_of(self, loc: Loc) -> int:
        """Line of the deepest known part of `loc` (1-based, in the file)."""
        loc = tuple(loc)
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.lines.get(loc, 1) + self.line_offset


class YamlSyntaxError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


_SCALAR_TAGS = {
    "tag:yaml.org,2002:null": lambda s: None,
    "tag:yaml.org,2002:bool": lambda s: s.lower() in ("true", "yes", "on"),
    "tag:yaml.org,2002:int": lambda s: int(s.replace("_", ""), 0),
    "tag:yaml.org,2002:float": lambda s: float(s.replace("_", "")),
}


def _value(node: Node, loc: Loc, lines: dict[Loc, int]) -> object:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, ScalarNode):
        # Where the text itself starts: a block scalar (| or >) begins on the line after its indicator.
        lines[loc + (TEXT_START,)] = node.start_mark.line + (2 if node.style in ("|", ">") else 1)
        convert = _SCALAR_TAGS.get(node.tag)
        if convert is not None:
            try:
                return convert(node.value)
            except ValueError:
                return node.value
        return node.value  # strings, and timestamps kept verbatim for strict parsing later
    if isinstance(node, SequenceNode):
        return [_value(item, loc + (index,), lines) for index, item in enumerate(node.value)]
    if isinstance(node, MappingNode):
        result: dict[object, object] = {}
        for key_node, value_node in node.value:
            key = _value(key_node, loc + ("<key>",), {})
            key = str(key) if not isinstance(key, str) else key
            if key in result:
                first = lines.get(loc + (key,), "?")
                where = ".".join(str(p) for p in loc + (key,))
                raise YamlSyntaxError(key_node.start_mark.line + 1,
                                      f"{where}: expected each field once, got a second {key!r} "
                                      f"(the first is on line {first}); delete one of them")
            lines[loc + (key,)] = key_node.start_mark.line + 1
            result[key] = _value(value_node, loc + (key,), lines)
        return result
    raise YamlSyntaxError(node.start_mark.line + 1, f"unsupported YAML node {node.tag}")


def _syntax_hint(text: str, exc: yaml.MarkedYAMLError) -> str:
    """What to do about the YAML mistakes people make under pressure."""
    problem = str(exc.problem or "")
    lines = text.splitlines()
    mark = exc.problem_mark or exc.context_mark
    if "tab" in problem or (mark is not None and mark.line < len(lines) and "\t" in lines[mark.line]):
        return "indent with spaces, not tab characters"
    for mark in (exc.problem_mark, exc.context_mark):
        if mark is None:
            continue
        for number in (mark.line, mark.line - 1):
            if 0 <= number < len(lines) and _BRACKET_VALUE.search(lines[number]):
                return ('a value that starts with "[" or "{" is read as a list or mapping: put the text in '
                        'quotes, e.g. title: "[KR] Incident: ..."')
    if "mapping values are not allowed" in problem:
        return 'a text that contains ": " must be put in quotes'
    return ""


_BRACKET_VALUE = re.compile(r":\s+[\[{][^\]}]*[\]}]\s*\S")


def parse_yaml(text: str, line_offset: int = 0) -> YamlDocument:
    """Parse one YAML document; raises YamlSyntaxError with the line of the problem."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 1 if mark else 1) + line_offset
        message = f"YAML syntax error: {exc.problem or exc}"
        hint = _syntax_hint(text, exc)
        raise YamlSyntaxError(line, f"{message}; {hint}" if hint else message) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1 + line_offset, f"YAML syntax error: {exc}") from None
    lines: dict[Loc, int] = {}
    if node is None:
        return YamlDocument({}, {(): 1}, line_offset)
    try:
        value = _value(node, (), lines)
    except YamlSyntaxError as exc:
        raise YamlSyntaxError(exc.line + line_offset, exc.message) from None
    return YamlDocument(value, lines, line_offset)
