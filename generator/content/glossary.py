"""The glossary file (`glossary.yaml`): its format and its reading, done once in the load stage.

The checks that use it (forbidden variants, a term missing in one language) live in `comms.glossary`.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import Field

from .load import LoadFailed, Source, Problem, _read_yaml, _validate
from .model import Lang, Model

GLOSSARY_FILE = "glossary.yaml"


class GlossaryTerm(Model):
    id: str = Field(description="The term in English, e.g. false positive")
    ko: list[str] = Field(min_length=1, description="Accepted Korean forms; the first is preferred")
    ja: list[str] = Field(min_length=1, description="Accepted Japanese forms; the first is preferred")
    en: list[str] = Field(min_length=1, description="Accepted English forms; the first is preferred")
    forbidden: dict[Lang, list[str]] = Field(default={}, description="Variants that must not be used, per language")
    ambiguous: list[Lang] = Field(
        default=[],
        description="Languages whose forms also mean something else (ko 수집 is also 'collect'): finding them "
                    "there does not ask the other languages for the term",
    )

    def forms(self, lang: str) -> list[str]:
        return getattr(self, lang)


class Glossary(Model):
    schema_: str | None = Field(default=None, alias="$schema")
    terms: list[GlossaryTerm]


def load_glossary(root: Path) -> Glossary | None:
    """The repository's glossary, or None when it has none; raises LoadFailed on a malformed file."""
    file = Path(root) / GLOSSARY_FILE
    if not file.is_file():
        return None
    problems: list[Problem] = []
    source: Source | None = _read_yaml(Path(root), file, problems)
    glossary = _validate(Glossary, source, problems) if source else None
    if glossary is None:
        raise LoadFailed(problems)
    return glossary
