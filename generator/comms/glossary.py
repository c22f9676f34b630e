"""The product's glossary (mission section I): one word per term and language, so ko/ja/en say the same.

`glossary.yaml` lists each term with its accepted forms per language (the first is the preferred word) and
forbidden variants per language. Two warnings come out of it for a public text:

- a forbidden variant is used (`레이턴시` where the glossary says `지연`);
- a term appears in one language's text of a field but none of its forms appears in another language's
  text of the same field (the ko title says `오탐`, the en title never says "false positive").

English forms match case-insensitively at the start of a word (`ingest` matches "ingested"); Korean and
Japanese forms match anywhere, as those scripts do not separate words with spaces.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..content.glossary import Glossary
from ..content.load import Problem

@dataclass(frozen=True)
class LocatedText:
    """One language's text of one public field, with the file line on which the text starts."""

    path: str
    field: str
    line: int
    lang: str
    text: str


def glossary_warnings(glossary: Glossary, texts: list[LocatedText]) -> list[Problem]:
    """Warnings for the texts of one field (one entry per language)."""
    warnings: list[Problem] = []
    uses = {item: _term_uses(glossary, item) for item in texts}
    for item in texts:
        accepted = [span for spans in uses[item].values() for span in spans]
        for term in glossary.terms:
            for variant in term.forbidden.get(item.lang, []):
                for match in _finder(variant, item.lang).finditer(item.text):
                    if any(a <= match.start() and match.end() <= b for a, b in accepted):
                        continue  # part of an accepted word (コンシューマ inside コンシューマー)
                    warnings.append(Problem(
                        item.path, item.line + item.text.count("\n", 0, match.start()), item.field,
                        f"glossary: {match.group()!r} is not our word for '{term.id}' in {item.lang}; "
                        f"write {term.forms(item.lang)[0]!r}", "warning"))
    for term in glossary.terms:
        users = [item for item in texts if uses[item].get(term.id)]
        triggers = [item for item in users if item.lang not in term.ambiguous]
        if not triggers:
            continue
        for item in texts:
            if item in users:
                continue
            other = triggers[0]
            warnings.append(Problem(
                item.path, item.line, item.field,
                f"glossary: the {other.lang} text uses '{term.id}' ({term.forms(other.lang)[0]}) but this "
                f"{item.lang} text has none of: {', '.join(term.forms(item.lang))}", "warning"))
    return warnings


def _term_uses(glossary: Glossary, item: LocatedText) -> dict[str, list[tuple[int, int]]]:
    """Spans of each term's forms in the text; a match inside a longer match of another term does not
    count (점검 inside 합성 점검 is not maintenance)."""
    found = [
        (match.start(), match.end(), term.id)
        for term in glossary.terms
        for form in term.forms(item.lang)
        for match in _finder(form, item.lang).finditer(item.text)
    ]
    uses: dict[str, list[tuple[int, int]]] = {}
    for start, end, term_id in found:
        inside = any(s <= start and end <= e and (e - s) > (end - start) and t != term_id for s, e, t in found)
        if not inside:
            uses.setdefault(term_id, []).append((start, end))
    return uses


_FINDERS: dict[tuple[str, str], re.Pattern[str]] = {}


def _finder(form: str, lang: str) -> re.Pattern[str]:
    key = (form, lang)
    if key not in _FINDERS:
        if lang == "en":
            _FINDERS[key] = re.compile(rf"(?<![A-Za-z]){re.escape(form)}", re.IGNORECASE)
        else:
            _FINDERS[key] = re.compile(re.escape(form))
    return _FINDERS[key]
