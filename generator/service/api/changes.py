"""The bodies the status API accepts, and how they turn into incidents: pure functions, no files, no clock.

`new_incident` builds an Incident from a create request and `apply_change` returns a new Incident with a
PATCH applied; the store validates and commits the result.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from ...content.model import (
    ComponentImpact,
    EvidenceLink,
    Id,
    Impact,
    ImpactMetric,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    Model,
    Owner,
    Severity,
    Texts,
    Timestamp,
)


class MacroText(Model):
    """Generate the ko/ja/en texts from a communication macro (templates/macros/<name>.<lang>.txt)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80, examples=["s2_first_notice"])
    variables: dict[str, str] = Field(
        default={}, description="Placeholder values; ISO 8601 times with offset are written as local time + UTC"
    )


class UpdateIn(Model):
    """One timeline entry: its texts given directly, or generated from a macro."""

    at: Timestamp
    status: IncidentStatus
    text: Texts | None = Field(default=None, description="ko, ja and en texts (or use `macro`)")
    macro: MacroText | None = None
    next_update_at: Timestamp | None = None

    @model_validator(mode="after")
    def _text_or_macro(self):
        if (self.text is None) == (self.macro is None):
            raise ValueError("expected exactly one of 'text' or 'macro'")
        return self


class IncidentCreate(Model):
    """POST /v1/status/incidents: a new incident with its first update."""

    id: Id | None = Field(default=None, description="Defaults to <local date>-<region>-<slug of the English title>")
    region: str = Field(examples=["KR"])
    severity: Severity
    impact: Impact
    title: Texts
    summary: Texts | None = None
    components: list[ComponentImpact] = Field(min_length=1)
    started_at: Timestamp | None = None
    detected_at: Timestamp
    owner: Owner | None = None
    metrics: list[ImpactMetric] = []
    evidence: list[EvidenceLink] = []
    tickets: list[str] = []
    tenants: list[str] = []
    draft: bool = False
    update: UpdateIn


class TextsPatch(Model):
    """Some languages of a text; the languages not given keep their current text."""

    ko: str | None = None
    ja: str | None = None
    en: str | None = None


class IncidentChange(Model):
    """PATCH /v1/status/{id}: every field optional; only the fields given change."""

    severity: Severity | None = None
    impact: Impact | None = None
    title: TextsPatch | None = None
    summary: TextsPatch | None = None
    components: list[ComponentImpact] | None = Field(default=None, min_length=1, description="Replaces the list")
    owner: Owner | None = None
    secondary_verdict_at: Timestamp | None = None
    metrics: list[ImpactMetric] | None = Field(default=None, description="Replaces the list")
    evidence: list[EvidenceLink] | None = Field(default=None, description="Appended; a URL already listed is skipped")
    tickets: list[str] | None = Field(default=None, description="Appended; ids already listed are skipped")
    tenants: list[str] | None = Field(default=None, description="Replaces the list")
    rca: Id | None = None
    draft: bool | None = None
    update: UpdateIn | None = Field(default=None, description="Appended to the timeline")
    resolved_at: Timestamp | None = Field(
        default=None, description="Defaults to the update's time when the update's status is 'resolved'"
    )


# Renders macro `name` in `lang` with `variables` in the region's time zone; raises ValueError.
MacroRenderer = Callable[[str, str, dict[str, str], ZoneInfo], str]


def macro_renderer(root: Path) -> MacroRenderer:
    from ...comms.macros import render_macro

    def render(name: str, lang: str, variables: dict[str, str], tz: ZoneInfo) -> str:
        return render_macro(root / "templates" / "macros", name, lang, variables, tz)

    return render


class ChangeRejected(ValueError):
    """A request that cannot become an incident; `errors` are (field, message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-") or "incident"


def default_id(request: IncidentCreate, tz: ZoneInfo) -> str:
    title = request.title.en or ""
    title = re.sub(r"^\[[^\]]*\]\s*", "", title)  # "[KR] Incident: ..." -> the region is in the id already
    title = re.sub(r"^(incident|maintenance)\s*:\s*", "", title, flags=re.I)
    day = request.detected_at.astimezone(tz).date().isoformat()
    return f"{day}-{request.region.lower()}-{_slug(title)}"


def _update(update: UpdateIn, incident_id: str, tickets: list[str], tz: ZoneInfo,
            languages: tuple[str, ...], render: MacroRenderer, field: str) -> IncidentUpdate:
    text = update.text
    if update.macro is not None:
        # The seed's macros say "Ticket ID: {id}": the linked ticket, else the incident itself.
        variables = {"id": tickets[0] if tickets else incident_id, **update.macro.variables}
        try:
            text = Texts(**{lang: render(update.macro.name, lang, variables, tz) for lang in languages})
        except (ValueError, OSError) as exc:
            raise ChangeRejected([(f"{field}.macro", str(exc))]) from None
    return IncidentUpdate(at=update.at, status=update.status, text=text, next_update_at=update.next_update_at)


def new_incident(request: IncidentCreate, tz: ZoneInfo, languages: tuple[str, ...],
                 render: MacroRenderer) -> Incident:
    incident_id = request.id or default_id(request, tz)
    first = _update(request.update, incident_id, request.tickets, tz, languages, render, "update")
    fields = request.model_dump(exclude={"id", "update"}, exclude_none=True)
    resolved = {"resolved_at": first.at} if first.status is IncidentStatus.resolved else {}
    return Incident.model_validate({**fields, "id": incident_id, "updates": [first.model_dump()], **resolved})


def _merge_texts(current: Texts | None, change: TextsPatch) -> Texts:
    base = current.model_dump() if current else {}
    return Texts(**{**base, **change.model_dump(exclude_none=True)})


# The impact each severity is filed with (docs/formats.md). A change of severity that does not give an impact
# moves the impact along, so that severity and impact stay consistent: an incident raised to S1 reads
# `critical` on the page like one filed as S1, and one lowered to S2 reads `major`.
SEVERITY_IMPACT = {Severity.S1: Impact.critical, Severity.S2: Impact.major, Severity.S3: Impact.minor,
                   Severity.S4: Impact.none}


def apply_change(incident: Incident, change: IncidentChange, tz: ZoneInfo, languages: tuple[str, ...],
                 render: MacroRenderer) -> Incident:
    given = change.model_fields_set
    data = incident.model_dump(by_alias=True)
    for name in ("severity", "impact", "components", "owner", "secondary_verdict_at", "metrics", "tenants",
                 "rca", "draft"):
        if name in given:
            data[name] = change.model_dump(include={name})[name]
    if change.severity is not None and change.severity is not incident.severity and "impact" not in given:
        data["impact"] = SEVERITY_IMPACT[change.severity]
    for name in ("title", "summary"):
        if getattr(change, name) is not None:
            data[name] = _merge_texts(getattr(incident, name), getattr(change, name)).model_dump()
    if change.evidence:
        known = {link.url for link in incident.evidence}
        data["evidence"] = [link.model_dump() for link in incident.evidence] + [
            link.model_dump() for link in change.evidence if link.url not in known
        ]
    if change.tickets:
        data["tickets"] = list(incident.tickets) + [t for t in dict.fromkeys(change.tickets) if t not in incident.tickets]
    if change.update is not None:
        update = _update(change.update, incident.id, data["tickets"], tz, languages, render, "update")
        data["updates"] = [u.model_dump() for u in incident.updates] + [update.model_dump()]
        if update.status is IncidentStatus.resolved and change.resolved_at is None:
            data["resolved_at"] = update.at
        elif update.status is not IncidentStatus.resolved and incident.resolved_at is not None:
            data["resolved_at"] = None  # reopened
    if change.resolved_at is not None:
        data["resolved_at"] = change.resolved_at
    return Incident.model_validate(data)


def describe_change(change: IncidentChange) -> str:
    """A commit subject for a change: what it did, in a few words."""
    parts = []
    if change.update is not None:
        parts.append(f"update ({change.update.status.value})")
    for name in sorted(change.model_fields_set - {"update"}):
        value = getattr(change, name)
        parts.append(f"{name}={value.value}" if hasattr(value, "value") else name)
    return ", ".join(parts) or "no change"
