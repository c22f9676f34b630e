"""YAML files read into plain Python values while remembering the line of every field.

PyYAML's composer gives us nodes with positions; we build the values ourselves so that every error can point
at `path:line`, and so that times stay the exact strings the engineer wrote (PyYAML would silently turn a
naive `2025-10-02 10:14` into a datetime and drop nothing, hiding the missing offset).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

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
# The tags a file may write explicitly: YAML's core schema. Anything else (`!!python/name:`, `!include`,
# `!!binary`, a CloudFormation `!Ref`) means the author expects a loader feature we do not have: refuse it
# rather than read the text after it as a plain value.
_CORE_TAGS = frozenset({*_SCALAR_TAGS, "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"})
_RESOLVER = yaml.resolver.Resolver()


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


def _prefix(loc: Loc) -> str:
    return f"{_where(loc)}: " if loc else ""


class _Builder:
    """Builds plain values straight from the parser's events, without recursion.

    Working on events (not on a composed node graph) lets us refuse an alias at the line that uses it before
    anything is expanded, and bound the nesting depth before Python or libyaml's composer recurses.
    """

    def __init__(self, limits: YamlLimits):
        self.limits = limits
        self.lines: dict[Loc, int] = {}
        # Open collections: [container, loc, pending key of a mapping (or a sentinel), key line]
        self.stack: list[list] = []
        self.root: object = None

    def _fail(self, event, loc: Loc, message: str):
        raise YamlSyntaxError(event.start_mark.line + 1, f"{_prefix(loc)}{message}")

    def _next_loc(self, event) -> tuple[Loc, bool]:
        """Where the value that starts at `event` goes, and whether it is a mapping key."""
        if not self.stack:
            return (), False
        top = self.stack[-1]
        container, loc = top[0], top[1]
        if isinstance(container, list):
            return loc + (len(container),), False
        if top[2] is _NO_KEY:
            return loc + ("<key>",), True
        return loc + (top[2],), False

    def _place(self, value: object, loc: Loc, event) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        container = top[0]
        if isinstance(container, list):
            container.append(value)
        elif top[2] is _NO_KEY:
            key = value if isinstance(value, str) else str(value)
            if key in container:
                first = self.lines.get(top[1] + (key,), "?")
                self._fail(event, (), f"{_where(top[1] + (key,))}: expected each field once, got a second {key!r} "
                                      f"(the first is on line {first}); delete one of them")
            top[2] = key
            self.lines[top[1] + (key,)] = event.start_mark.line + 1
        else:
            container[top[2]] = value
            top[2] = _NO_KEY

    def _check_tag(self, event, loc: Loc) -> None:
        tag = event.tag
        if tag is not None and tag != "!" and tag not in _CORE_TAGS:
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            self._fail(event, loc, f"expected plain YAML values, got the tag {shown!r}; YAML tags are not "
                                   "supported (no includes, no object construction): remove it")
        if getattr(event, "anchor", None) is not None:
            self._fail(event, loc, f"expected plain YAML values, got the anchor &{event.anchor}; anchors and "
                                   "aliases (&name, *name) are not accepted: write the value out")

    def feed(self, event) -> None:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            loc, is_key = self._next_loc(event)
            self._check_tag(event, loc)
            if not is_key:
                self.lines.setdefault(loc, event.start_mark.line + 1)
                # Where the text itself starts: a block scalar (| or >) begins on the line after its indicator.
                self.lines[loc + (TEXT_START,)] = event.start_mark.line + (2 if event.style in ("|", ">") else 1)
            text = event.value
            if len(text) > self.limits.max_text_chars:
                self._fail(event, loc if not is_key else (), f"expected a text of at most "
                           f"{self.limits.max_text_chars} characters (limits.max_text_chars), got {len(text)}")
            tag = event.tag
            if tag is None or tag == "!":
                tag = _RESOLVER.resolve(yaml.ScalarNode, text, event.implicit)
            convert = _SCALAR_TAGS.get(tag)
            value: object = text  # strings, and timestamps kept verbatim for strict parsing later
            if convert is not None:
                try:
                    value = convert(text)
                except ValueError:
                    pass
            self._place(value, loc, event)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            loc, is_key = self._next_loc(event)
            self._check_tag(event, loc)
            if is_key:
                self._fail(event, loc[:-1], "expected a plain text as a field name, got a list or mapping")
            if len(self.stack) >= self.limits.max_depth:
                self._fail(event, loc, f"expected lists and mappings nested at most {self.limits.max_depth} "
                                       f"deep (limits.max_depth), got deeper")
            self.lines.setdefault(loc, event.start_mark.line + 1)
            container: object = {} if kind is yaml.MappingStartEvent else []
            self.stack.append([container, loc, _NO_KEY])
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            container, loc, _ = self.stack.pop()
            self._place(container, loc, event)
        elif kind is yaml.AliasEvent:
            loc, _ = self._next_loc(event)
            self._fail(event, loc, f"expected plain YAML values, got the alias *{event.anchor}; anchors and "
                                   "aliases (&name, *name) are not accepted: write the value out")


_NO_KEY = object()


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

    Core-schema values only: tags other than YAML's core ones, anchors and aliases are refused, and
    `limits` bounds the nesting depth and the length of every text.
    """
    builder = _Builder(limits)
    documents = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if type(event) is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise YamlSyntaxError(event.start_mark.line + 1,
                                          "expected a single YAML document, found a second one (a '---' line)")
            else:
                builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 1 if mark else 1) + line_offset
        message = f"YAML syntax error: {exc.problem or exc}"
        hint = _syntax_hint(text, exc)
        raise YamlSyntaxError(line, f"{message}; {hint}" if hint else message) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1 + line_offset, f"YAML syntax error: {exc}") from None
    except YamlSyntaxError as exc:
        raise YamlSyntaxError(exc.line + line_offset, exc.message) from None
    if documents == 0:
        return YamlDocument({}, {(): 1}, line_offset)
    return YamlDocument(builder.root, builder.lines, line_offset)
