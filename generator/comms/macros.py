"""Communication macros (mission section F): one text file per message kind and language.

A macro lives at `templates/macros/<name>.<lang>.txt` and uses named placeholders such as
`{id}`, `{metric_link}` or `{next_update}`. The ko, ja and en variants of a macro must use the
same placeholder set, so one set of variables fills all three. Braces are reserved for
placeholders: a macro text has no literal `{` or `}`.
"""
from __future__ import annotations

import re
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Mapping

from ..content.macrofiles import PLACEHOLDER, Macro, load_macros, placeholders
from ..localtime import format_local_and_utc

LANGUAGES = ("ko", "ja", "en")
# The seed was written in Korean, so the Korean variant is the reference the others follow.
REFERENCE_LANGUAGE = "ko"

_BRACED = re.compile(r"\{([^{}]*)\}")


class MacroError(ValueError):
    """A macro cannot be found or rendered; the message says which file and what is missing."""


def unfilled_placeholders(text: str) -> set[str]:
    """Placeholders still present in a text meant for publication (empty when it is complete)."""
    return placeholders(text)


def check_macros(macro_dir: Path | str) -> list[str]:
    """Problems with the macros in `macro_dir`, one `path:line: message` string each.

    Checks that every macro exists in ko, ja and en, that no file is empty, that every braced
    name is a valid placeholder, and that each variant uses the reference (ko) variant's
    placeholder set.
    """
    return macro_problems(load_macros(macro_dir), Path(macro_dir))


def macro_problems(macros: Mapping[tuple[str, str], Macro], macro_dir: Path) -> list[str]:
    """`check_macros` over macros already read (the load stage reads them once)."""
    problems: list[str] = []
    for name in sorted({name for name, _ in macros}):
        variants = {lang: macros[(name, lang)] for lang in LANGUAGES if (name, lang) in macros}
        for lang in LANGUAGES:
            if lang not in variants:
                problems.append(f"{macro_dir / f'{name}.{lang}.txt'}: missing: {name} has no {lang} variant")
        for macro in variants.values():
            problems.extend(_problems_in_text(macro))
        reference = variants.get(REFERENCE_LANGUAGE) or next(iter(variants.values()))
        expected = reference.placeholders
        for macro in variants.values():
            if macro is reference or macro.placeholders == expected:
                continue
            extra = sorted(macro.placeholders - expected)
            line = _line_of_placeholder(macro.text, extra[0]) if extra else 1
            problems.append(
                f"{macro.path}:{line}: placeholders: expected the same set as {reference.path.name} "
                f"{_format_set(expected)}, found {_format_set(macro.placeholders)}"
            )
    return problems


def render_macro(
    macro_dir: Path | str,
    name: str,
    lang: str,
    variables: Mapping[str, str],
    tz: tzinfo,
) -> str:
    """The macro `name` in `lang` with its placeholders filled from `variables`.

    A value that parses as an ISO 8601 date-time with an offset (`2025-10-02T10:14+09:00`) is
    written in `tz` local time and UTC in the language's own format, e.g.
    `2025년 10월 2일 (목) 10:14 KST (01:14 UTC)`; other values are inserted as given.
    Variables the macro does not use are ignored, so one set can fill all three languages.
    Raises MacroError naming the file and every missing variable.
    """
    path = Path(macro_dir) / f"{name}.{lang}.txt"
    if not path.is_file():
        raise MacroError(f"{path}: no macro {name!r} in language {lang!r}")
    text = path.read_text(encoding="utf-8").rstrip("\n")
    missing = sorted(placeholders(text) - set(variables))
    if missing:
        raise MacroError(f"{path}: missing variable(s) for {name}.{lang}: {', '.join(missing)}")
    values = {key: _localize(value, tz, lang) for key, value in variables.items()}
    filled = PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
    return korean_particles(filled) if lang == "ko" else filled


# Korean particles depend on the word before them: 이/가, 을/를, 은/는, 과/와 (with or without a final
# consonant). A macro writes both, `{metric}이(가)`; once the word is known the right one is chosen.
_PARTICLE = re.compile(r"([가-힣])(이\(가\)|을\(를\)|은\(는\)|과\(와\))")


def korean_particles(text: str) -> str:
    """`지연이(가)` -> `지연이`, `값이(가)` -> `값이`, `속도이(가)` -> `속도가`; other words keep both forms."""

    def choose(match: re.Match) -> str:
        syllable, pair = match.group(1), match.group(2)
        with_final, without_final = pair[0], pair[2]
        has_final = (ord(syllable) - 0xAC00) % 28 != 0
        return syllable + (with_final if has_final else without_final)

    return _PARTICLE.sub(choose, text)


# Units of time in a value such as `18 s` or `1.5 h`, in each language's own words: a Korean sentence
# reads `18초`, not `18 s`. Other units (ms, %, req/s) are the same in all three languages.
_QUANTITY = re.compile(r"^\s*(?P<number>\d+(?:[.,]\d+)?)\s*(?P<unit>s|sec|secs|seconds?|min|mins|minutes?|h|hr|hours?)"
                       r"\s*$", re.IGNORECASE)
_UNIT_WORDS = {
    "s": {"ko": "{}초", "ja": "{} 秒", "en": "{} s"},
    "min": {"ko": "{}분", "ja": "{} 分", "en": "{} min"},
    "h": {"ko": "{}시간", "ja": "{} 時間", "en": "{} h"},
}


def localize_quantity(value: str, lang: str) -> str:
    """`18 s` -> `18초` (ko), `18 秒` (ja), `18 s` (en); a value that is not a time quantity is kept."""
    match = _QUANTITY.match(value)
    if match is None:
        return value
    unit = match["unit"].lower()
    key = "s" if unit.startswith("s") else "min" if unit.startswith("m") else "h"
    return _UNIT_WORDS[key][lang].format(match["number"])


def _localize(value: str, tz: tzinfo, lang: str) -> str:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return localize_quantity(value, lang)
    # A time without an offset is ambiguous across KR/JP/UTC readers; leave it as written.
    if moment.tzinfo is None:
        return value
    return format_local_and_utc(moment, tz, lang)


def _problems_in_text(macro: Macro) -> list[str]:
    problems: list[str] = []
    if not macro.text.strip():
        problems.append(f"{macro.path}:1: empty: the macro has no text")
    for number, line in enumerate(macro.text.splitlines(), start=1):
        for match in _BRACED.finditer(line):
            if not PLACEHOLDER.fullmatch(match.group()):
                problems.append(
                    f"{macro.path}:{number}: placeholder {match.group()!r}: "
                    "expected a lower-case name such as {metric_link}"
                )
        unmatched = _BRACED.sub("", line)
        if "{" in unmatched or "}" in unmatched:
            problems.append(f"{macro.path}:{number}: braces: unbalanced '{{' or '}}'")
    return problems


def _line_of_placeholder(text: str, name: str) -> int:
    offset = text.find("{" + name + "}")
    return text.count("\n", 0, offset) + 1 if offset >= 0 else 1


def _format_set(names: set[str]) -> str:
    return "{" + ",".join(sorted(names)) + "}"
