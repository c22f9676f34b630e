"""Checks of customer communication: macros, unfilled placeholders, the no-raw-logs guardrail, evidence links,
the glossary and RCA completeness, over every public (non-draft) text with its file and line.

A public text is: an incident's title, summary, update texts, metric names and values, evidence titles; a
maintenance's title, description, emergency reason and update texts; an RCA's title and body. Drafts are
not public and are not judged here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .glossary import LocatedText, glossary_warnings
from .guardrail import EvidencePolicy, check_evidence_url, scan_text
from ..content.cache import Cache, code_version, digest
from ..content.load import Loaded, Problem, Source, field_path
from .macros import macro_problems, unfilled_placeholders
from ..content.model import Config, Texts, duration_timedelta
from .rca import SECTIONS, completeness_problems, split_sections
from ..content.macrofiles import MACRO_DIR
from ..content.yamlsource import TEXT_START, Loc

_URL = re.compile(r"https?://[^\s<>\"'`)\]]+")
_MACRO_PROBLEM = re.compile(r"^(?P<path>.+?):(?:(?P<line>\d+):)? (?P<message>.*)$", re.S)


@dataclass(frozen=True)
class Guardrail:
    internal_hosts: tuple[str, ...]
    allowed_emails: tuple[str, ...]
    policy: EvidencePolicy


def guardrail_of(config: Config) -> Guardrail:
    """The guardrail settings of `status.yaml` as the scanner's arguments."""
    settings = config.guardrail
    urls = settings.signed_urls
    seconds = int(duration_timedelta(urls.max_lifetime).total_seconds())
    defaults = EvidencePolicy()
    signing = tuple(dict.fromkeys([*defaults.signing_params, *urls.expires_params, *urls.signature_params,
                                   *(name for pair in urls.window_params for name in pair)]))
    policy = EvidencePolicy(
        dashboard_hosts=tuple(settings.dashboard_hosts),
        relative_expiry_params=tuple((name, seconds) for name in urls.expires_params),
        absolute_expiry_params=tuple((expiry, signed_at, seconds) for expiry, signed_at in urls.window_params),
        signature_params=tuple(urls.signature_params),
        signing_params=signing,
    )
    return Guardrail(tuple(settings.internal_hosts), tuple(settings.allowed_emails), policy)


# What an item's communication problems derive from besides its file: this package (guardrail, glossary
# rules, macros' placeholder syntax). The guardrail settings are in status.yaml, part of the item's fingerprint.
COMMS_RULES = code_version(str(Path(__file__).parent))


def communication_problems(loaded: Loaded, cache: Cache | None = None, progress=None) -> list[Problem]:
    """Every communication problem of the repository: errors refuse publication, warnings only inform.

    With a `cache`, each incident's and maintenance's problems (guardrail, placeholders, glossary, evidence
    links) are looked up by its file's fingerprint, the glossary and these rules before scanning its texts.
    `progress(n)` is told of each item checked."""
    cache = cache or Cache.disabled()
    glossary = loaded.glossary
    glossary_key = glossary.model_dump_json() if glossary is not None else ""
    guardrail = guardrail_of(loaded.repository.config)
    text_problems: list[Problem] = []
    evidence_problems: list[Problem] = []
    for item in [*loaded.repository.incidents, *loaded.repository.maintenance]:
        if item.draft:
            continue
        fingerprint = loaded.fingerprints.get(item.id)
        key = digest(COMMS_RULES, fingerprint, glossary_key) if fingerprint else None
        found = cache.get("comms", key) if key else None
        if found is None:
            found = item_communication_problems(loaded, item, guardrail, glossary)
            if key:
                cache.put("comms", key, found)
        text_problems += found[0]
        evidence_problems += found[1]
        if progress is not None:
            progress(1)
    head, middle, tail = repository_communication_problems(loaded, guardrail)
    return head + text_problems + middle + evidence_problems + tail


def repository_communication_problems(loaded: Loaded, guardrail: Guardrail | None = None
                                      ) -> tuple[list[Problem], list[Problem], list[Problem]]:
    """The problems that are not one incident's or maintenance's, in three parts that `communication_problems`
    reports around the items' (text problems between the first two, evidence link problems between the last
    two): macro files and the glossary file; RCA texts; RCA evidence links and completeness."""
    guardrail = guardrail or guardrail_of(loaded.repository.config)
    glossary = loaded.glossary
    head: list[Problem] = _macro_problems(loaded) if loaded.macros is not None else []
    head += loaded.glossary_problems
    middle: list[Problem] = []
    for field in _rca_fields(loaded):
        middle += _field_problems(field, guardrail, glossary)
    tail = _rca_evidence_problems(loaded, guardrail)
    for rca in loaded.repository.rcas:
        tail += completeness_problems(rca)
    return head, middle, tail


def item_communication_problems(loaded: Loaded, item, guardrail: Guardrail, glossary
                                ) -> tuple[list[Problem], list[Problem]]:
    """(text problems, evidence link problems) of one incident or maintenance (`loaded` holds its source): a
    pure function of its file, the configuration and the glossary, which is what makes it cacheable."""
    source = loaded.sources[item.id]
    fields = _incident_fields(source, item) if hasattr(item, "detected_at") else _maintenance_fields(source, item)
    found: list[Problem] = []
    for field in fields:
        found += _field_problems(field, guardrail, glossary)
    evidence = _incident_evidence_problems(loaded, item, guardrail) if hasattr(item, "evidence") else []
    return found, evidence


def _field_problems(field: list[LocatedText], guardrail: Guardrail, glossary) -> list[Problem]:
    found: list[Problem] = []
    for text in field:
        found += _text_problems(text, guardrail)
    if glossary is not None:
        found += glossary_warnings(glossary, [t for t in field if t.lang != "*"])
    return found


def public_fields(loaded: Loaded) -> list[list[LocatedText]]:
    """The public texts, grouped by field: each group holds the languages of one field.

    Language-neutral texts (metric values) are groups of one with lang `*`. RCA bodies are grouped per
    section, so the glossary compares the same section across languages.
    """
    repository = loaded.repository
    fields: list[list[LocatedText]] = []
    for incident in repository.incidents:
        if not incident.draft:
            fields += _incident_fields(loaded.sources[incident.id], incident)
    for item in repository.maintenance:
        if not item.draft:
            fields += _maintenance_fields(loaded.sources[item.id], item)
    return fields + _rca_fields(loaded)


def _incident_fields(source: Source, incident) -> list[list[LocatedText]]:
    fields = [_texts(source, ("title",), incident.title)]
    if incident.summary:
        fields.append(_texts(source, ("summary",), incident.summary))
    for i, update in enumerate(incident.updates):
        fields.append(_texts(source, ("updates", i, "text"), update.text))
    for i, metric in enumerate(incident.metrics):
        fields.append(_texts(source, ("metrics", i, "name"), metric.name))
        for key in ("value", "baseline"):
            value = getattr(metric, key)
            if value:
                loc = ("metrics", i, key)
                fields.append([LocatedText(source.path, field_path(loc), _line(source, loc), "*", value)])
    for i, link in enumerate(incident.evidence):
        fields.append(_texts(source, ("evidence", i, "title"), link.title))
    return fields


def _maintenance_fields(source: Source, item) -> list[list[LocatedText]]:
    fields = [_texts(source, ("title",), item.title), _texts(source, ("description",), item.description)]
    if item.emergency:
        fields.append(_texts(source, ("emergency", "reason"), item.emergency.reason))
    for i, update in enumerate(item.updates):
        fields.append(_texts(source, ("updates", i, "text"), update.text))
    return fields


def _rca_fields(loaded: Loaded) -> list[list[LocatedText]]:
    fields: list[list[LocatedText]] = []
    by_section: dict[tuple[str, str], list[LocatedText]] = {}
    for rca in loaded.repository.rcas:
        if rca.draft:
            continue
        fields.append([LocatedText(rca.path, "title", 1, rca.lang, rca.title)])
        for section in split_sections(rca):
            text = f"{section.title}\n{section.text}"
            located = LocatedText(rca.path, f"section '{section.title}'", section.line, rca.lang, text)
            key = section.key or f"{rca.lang}:{section.title}"
            by_section.setdefault((rca.id, key), []).append(located)
        before = rca.body.split("\n## ", 1)[0] if not rca.body.startswith("## ") else ""
        if before.strip():
            fields.append([LocatedText(rca.path, "body", rca.body_line, "*", before)])
    fields += by_section.values()
    return fields


def _texts(source: Source, loc: Loc, texts: Texts) -> list[LocatedText]:
    return [
        LocatedText(source.path, field_path(loc + (lang,)), _line(source, loc + (lang,)), lang, text)
        for lang in ("ko", "ja", "en")
        if (text := texts.get(lang))
    ]


def _line(source: Source, loc: Loc) -> int:
    return source.doc.line_of(loc + (TEXT_START,))


def _text_problems(item: LocatedText, guardrail: Guardrail) -> list[Problem]:
    problems = []
    findings = scan_text(item.text, internal_hosts=guardrail.internal_hosts,
                         allowed_emails=guardrail.allowed_emails, evidence_policy=guardrail.policy)
    for finding, excerpt in zip(findings, _masked_excerpts(item.text, findings)):
        problems.append(Problem(item.path, item.line + finding.line - 1, item.field,
                                f"guardrail: {finding.kind.replace('_', ' ')} must not be published "
                                f"(no raw logs, secrets or addresses in customer texts): {excerpt}"))
    for name in sorted(unfilled_placeholders(item.text)):
        offset = item.text.find("{" + name + "}")
        problems.append(Problem(item.path, item.line + item.text.count("\n", 0, offset), item.field,
                                f"expected a finished text, found the unfilled placeholder {{{name}}}"))
    return problems


def _masked_excerpts(text: str, findings: list, width: int = 50) -> list[str]:
    """For each finding, its line with every finding masked, cut to `width` characters either side of
    the mask so that the mask is always in view."""
    pieces, marks, cursor = [], [], 0
    for finding in findings:  # in text order, not overlapping (the scanner folds nested spans)
        pieces.append(text[cursor:finding.start])
        start = sum(len(p) for p in pieces)
        pieces.append(f"[masked:{finding.kind}]")
        marks.append((start, start + len(pieces[-1])))
        cursor = finding.end
    pieces.append(text[cursor:])
    masked = "".join(pieces)
    excerpts = []
    for start, end in marks:
        line_start = masked.rfind("\n", 0, start) + 1
        line_end = masked.find("\n", end)
        line_end = len(masked) if line_end == -1 else line_end
        left, right = max(line_start, start - width), min(line_end, end + width)
        excerpt = masked[left:right].strip()
        excerpts.append(("…" if left > line_start else "") + excerpt + ("…" if right < line_end else ""))
    return excerpts


def _incident_evidence_problems(loaded: Loaded, incident, guardrail: Guardrail) -> list[Problem]:
    problems = []
    for i, link in enumerate(incident.evidence):
        reason = check_evidence_url(link.url, guardrail.policy)
        if reason:
            problems.append(loaded.problem(incident.id, ("evidence", i, "url"),
                                           f"expected an allow-listed dashboard link or a signed URL valid "
                                           f"at most {loaded.repository.config.guardrail.signed_urls.max_lifetime}: "
                                           f"{reason}"))
    return problems


def _rca_evidence_problems(loaded: Loaded, guardrail: Guardrail) -> list[Problem]:
    problems = []
    for rca in loaded.repository.rcas:
        if rca.draft:
            continue
        for section in split_sections(rca):
            if section.key != "evidence":
                continue
            for number, line in enumerate(section.text.splitlines(), start=section.line + 1):
                for match in _URL.finditer(line):
                    url = match.group().rstrip(".,;:!?")
                    reason = check_evidence_url(url, guardrail.policy)
                    if reason:
                        problems.append(Problem(rca.path, number, f"section '{SECTIONS[rca.lang]['evidence']}'",
                                                f"expected an allow-listed dashboard link or a short-lived signed "
                                                f"URL as evidence: {reason}"))
    return problems


def _macro_problems(loaded: Loaded) -> list[Problem]:
    root = Path(loaded.root) if loaded.root is not None else Path(".")
    problems = []
    for text in macro_problems(loaded.macros, root / MACRO_DIR):
        match = _MACRO_PROBLEM.match(text)
        if match is None:
            problems.append(Problem(MACRO_DIR, 1, "", text))
            continue
        path = Path(match["path"])
        shown = path.relative_to(root).as_posix() if path.is_absolute() and path.is_relative_to(root) else str(path)
        problems.append(Problem(shown, int(match["line"] or 1), "", match["message"]))
    return problems
