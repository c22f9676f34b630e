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
# The tags a value may carry: YAML's core schema, plus what PyYAML's implicit resolver gives plain scalars
# (timestamps, `<<`, `=`), which a composed node cannot tell from an explicit tag. Anything else
# (`!!python/name:`, `!include`, `!!binary`, a CloudFormation `!Ref`) means the author expects a loader
# feature we do not have: refuse it rather than read the text after it as a plain value.
_ACCEPTED_TAGS = frozenset({*_SCALAR_TAGS, "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map",
                            "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})


@dataclass(frozen=True)
class YamlLimits:
    """Bounds that keep one hostile file from taking the machine (see `Limits` in status.yaml)."""

    max_depth: int = 16
    max_text_chars: int = 20_000


DEFAULT_YAML_LIMITS = YamlLimits()


def _where(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text or "(top level)"


class _Reader:
    """Turns libyaml's composed nodes into plain values, refusing what could take the machine.

    libyaml shares one node between an anchor and each of its aliases, so a "billion laughs" file composes in
    microseconds; it is the expansion into values that explodes. A node met a second time is an alias and is
    refused before anything is expanded. libyaml itself stops flow nesting at 1,000 levels; we stop at
    `limits.max_depth`, long before Python's recursion limit.
    """

    def __init__(self, limits: YamlLimits, may_alias: bool):
        self.limits = limits
        self.lines: dict[Loc, int] = {}
        self.seen: set[int] = set()
        # An alias is written `*name`: a text without `*` has none, and its nodes need no identity bookkeeping.
        self.may_alias = may_alias

    def fail(self, node: Node, loc: Loc, message: str, line: int | None = None):
        where = f"{_where(loc)}: " if loc else ""
        raise YamlSyntaxError(line or node.start_mark.line + 1, where + message)

    def value(self, node: Node, loc: Loc, depth: int) -> object:
        lines = self.lines
        if self.may_alias:
            if id(node) in self.seen:
                self.fail(node, loc, f"expected plain YAML values, got an alias (*name) of the value on line "
                                     f"{node.start_mark.line + 1}; anchors and aliases (&name, *name) are not "
                                     "accepted: write the value out", line=self._line(loc, node))
            self.seen.add(id(node))
        if node.tag not in _ACCEPTED_TAGS:
            shown = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.fail(node, loc, f"expected plain YAML values, got the tag {shown!r}; YAML tags are not supported "
                                 "(no includes, no object construction): remove it")
        lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, ScalarNode):
            text = node.value
            if len(text) > self.limits.max_text_chars:
                self.fail(node, loc, f"expected a text of at most {self.limits.max_text_chars} characters "
                                     f"(limits.max_text_chars), got {len(text)}")
            # Where the text itself starts: a block scalar (| or >) begins on the line after its indicator.
            lines[loc + (TEXT_START,)] = node.start_mark.line + (2 if node.style in ("|", ">") else 1)
            convert = _SCALAR_TAGS.get(node.tag)
            if convert is not None:
                try:
                    return convert(text)
                except ValueError:
                    return text
            return text  # strings, and timestamps kept verbatim for strict parsing later
        if depth >= self.limits.max_depth:
            self.fail(node, loc, f"expected lists and mappings nested at most {self.limits.max_depth} deep "
                                 "(limits.max_depth), got deeper")
        if isinstance(node, SequenceNode):
            return [self.value(item, loc + (index,), depth + 1) for index, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            result: dict[object, object] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    self.fail(key_node, loc, "expected a plain text as a field name, got a list or mapping")
                key = self.key(key_node, loc)
                if key in result:
                    first = lines.get(loc + (key,), "?")
                    raise YamlSyntaxError(key_node.start_mark.line + 1,
                                          f"{_where(loc + (key,))}: expected each field once, got a second {key!r} "
                                          f"(the first is on line {first}); delete one of them")
                lines[loc + (key,)] = key_node.start_mark.line + 1
                result[key] = self.value(value_node, loc + (key,), depth + 1)
            return result
        self.fail(node, loc, f"unsupported YAML node {node.tag}")

    def key(self, node: ScalarNode, loc: Loc) -> str:
        """A field name, checked like a value but not recorded in `lines`."""
        if self.may_alias:
            if id(node) in self.seen:
                self.fail(node, loc, "expected a plain field name, got an alias (*name); anchors and aliases "
                                     "(&name, *name) are not accepted: write the value out")
            self.seen.add(id(node))
        if node.tag not in _ACCEPTED_TAGS:
            self.fail(node, loc, f"expected a plain field name, got the tag {node.tag!r}: remove it")
        if len(node.value) > self.limits.max_text_chars:
            self.fail(node, loc, f"expected a field name of at most {self.limits.max_text_chars} characters "
                                 "(limits.max_text_chars)")
        convert = _SCALAR_TAGS.get(node.tag)
        if convert is None:
            return node.value
        try:
            return str(convert(node.value))
        except ValueError:
            return node.value

    def _line(self, loc: Loc, node: Node) -> int:
        """The line that uses an alias: the node's own line is its anchor's, so take the nearest known owner."""
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.lines.get(loc, node.start_mark.line + 1)


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


def parse_yaml(text: str, line_offset: int = 0, limits: YamlLimits = DEFAULT_YAML_LIMITS) -> YamlDocument:
    """Parse one YAML document; raises YamlSyntaxError with the line of the problem.

    Plain values only: tags outside YAML's core schema and aliases are refused, and `limits` bounds the
    nesting depth and the length of every text.
    """
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
    if node is None:
        return YamlDocument({}, {(): 1}, line_offset)
    reader = _Reader(limits, "*" in text)
    try:
        value = reader.value(node, (), 0)
    except YamlSyntaxError as exc:
        raise YamlSyntaxError(exc.line + line_offset, exc.message) from None
    return YamlDocument(value, reader.lines, line_offset)
