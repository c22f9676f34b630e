"""The Statuspage v2-compatible JSON API: the documents that Statuspage serves under `/api/v2/`, as static files.

Field names and enums are Statuspage's, so monitoring tools, chat bots and status aggregators that already
read Atlassian Statuspage pages read ours. One set per language; the default language at `/api/v2/`, the
others under `/<lang>/api/v2/`. Pure: `api_documents` builds the values, `write_api` writes them.

Choices where our model and Statuspage's differ:
- ids are ours (`kr-ingest`, the incident's file id), stable across builds and the same in every language;
  region groups are `region-<id>`, updates `<incident id>.<UTC time of the update>`.
- `status.indicator` is the highest impact among unresolved incidents (`none` when there is none; an open
  maintenance window shows as `under_maintenance` components and in the description, not as an indicator).
- a maintenance's `impact` is `maintenance`, as Statuspage itself reports it.
- times are ISO 8601 with the UTC offset written in the content file.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..content.model import ComponentStatus, Incident, IncidentStatus, Maintenance, MaintenanceStatus, Repository
from .status import (
    ComponentState,
    component_states,
    is_active,
    maintenance_state,
    published_incidents,
    published_maintenance,
)
from .pages import STRINGS

API_PREFIX = "api/v2"
LATEST_INCIDENTS = 50
DOCUMENTS = (
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def language_prefix(repository: Repository, lang: str) -> str:
    """`` for the default language, `ja/` for the others: where a language's files live in the site."""
    return "" if lang == repository.config.default_language else f"{lang}/"


def site_url(repository: Repository, lang: str, path: str = "") -> str:
    base = repository.config.page.url.rstrip("/") + "/"
    return base + language_prefix(repository, lang) + path


def page_id(repository: Repository) -> str:
    """Statuspage-style 12-character page id, derived from the page's public address (stable)."""
    return hashlib.sha256(repository.config.page.url.encode()).hexdigest()[:12]


def group_id(region_id: str) -> str:
    return f"region-{region_id.lower()}"


def update_id(parent_id: str, at: datetime) -> str:
    return f"{parent_id}.{at.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}"


@dataclass(frozen=True)
class ApiView:
    """The facts every document shares, computed once per build."""

    repository: Repository
    now: datetime
    incidents: tuple[Incident, ...]  # published, detected by now, newest first
    maintenance: tuple[Maintenance, ...]  # published, announced by now, newest first
    states: tuple[ComponentState, ...]
    created_at: datetime
    updated_at: datetime
    component_updated_at: dict[str, datetime]  # last change of each component by `now`

    @classmethod
    def of(cls, repository: Repository, now: datetime) -> "ApiView":
        incidents = tuple(i for i in published_incidents(repository) if i.detected_at <= now)
        maintenance = tuple(m for m in published_maintenance(repository) if m.announced_at <= now)
        moments = [m for i in incidents for m in _incident_moments(i, now)]
        moments += [m for item in maintenance for m in _maintenance_moments(item, now)]
        created = min(moments, default=now)
        updated = max(moments, default=now)
        last_change: dict[str, datetime] = {}
        touched = [(tuple(c.id for c in i.components), max(_incident_moments(i, now))) for i in incidents]
        touched += [(tuple(m.components), max(_maintenance_moments(m, now))) for m in maintenance]
        for component_ids, moment in touched:
            for component_id in component_ids:
                last_change[component_id] = max(moment, last_change.get(component_id, moment))
        return cls(repository, now, incidents, maintenance, tuple(component_states(repository, now)),
                   created, updated, last_change)


def _incident_moments(incident: Incident, now: datetime) -> list[datetime]:
    moments = [incident.detected_at] + [u.at for u in incident.updates if u.at <= now]
    if incident.resolved_at and incident.resolved_at <= now:
        moments.append(incident.resolved_at)
    return moments


def _maintenance_moments(item: Maintenance, now: datetime) -> list[datetime]:
    moments = [item.announced_at] + [u.at for u in item.updates if u.at <= now]
    moments += [t for t in (item.scheduled_for, item.scheduled_until) if t <= now]
    return moments


class _Language:
    def __init__(self, view: ApiView, lang: str):
        self.view = view
        self.lang = lang
        self.repository = view.repository
        self.config = view.repository.config

    def text(self, texts) -> str:
        if texts is None:
            return ""
        return texts.get(self.lang) or texts.get(self.config.default_language) or ""

    def t(self, key: str) -> str:
        return STRINGS[key][self.lang]

    # ------------------------------------------------------------ page and components

    def page(self) -> dict:
        return {
            "id": page_id(self.repository),
            "name": self.text(self.config.page.name),
            "url": site_url(self.repository, self.lang),
            "time_zone": self.config.regions[0].timezone,
            "updated_at": iso(self.view.updated_at),
        }

    def component_updated_at(self, component_id: str) -> datetime:
        return self.view.component_updated_at.get(component_id, self.view.created_at)

    def components(self) -> list[dict]:
        """Region groups first-class, as Statuspage lists them: each group, then its members."""
        page = page_id(self.repository)
        services = {s.id: s for s in self.config.services}
        states = {s.id: s for s in self.view.states}
        out = []
        for region_position, region in enumerate(self.config.regions, start=1):
            members = [c for c in self.config.components if c.region == region.id]
            member_docs = []
            for position, component in enumerate(members, start=1):
                member_docs.append({
                    "id": component.id,
                    "name": self.text(services[component.service].name),
                    "status": states[component.id].status.value,
                    "created_at": iso(self.view.created_at),
                    "updated_at": iso(self.component_updated_at(component.id)),
                    "position": position,
                    "description": None,
                    "showcase": True,
                    "start_date": None,
                    "group_id": group_id(region.id),
                    "page_id": page,
                    "group": False,
                    "only_show_if_degraded": False,
                })
            worst = max((states[c.id].status for c in members), key=_STATUS_ORDER.index,
                        default=ComponentStatus.operational)
            out.append({
                "id": group_id(region.id),
                "name": self.text(region.name),
                "status": worst.value,
                "created_at": iso(self.view.created_at),
                "updated_at": max(d["updated_at"] for d in member_docs) if member_docs else iso(self.view.created_at),
                "position": region_position,
                "description": f"{region.id} · {region.timezone}",
                "showcase": False,
                "start_date": None,
                "group_id": None,
                "page_id": page,
                "group": True,
                "only_show_if_degraded": False,
                "components": [c.id for c in members],
            })
            out.extend(member_docs)
        return out

    def component_refs(self, ids: list[str]) -> list[dict]:
        by_id = {c["id"]: c for c in self._components}
        return [by_id[i] for i in ids if i in by_id]

    # ------------------------------------------------------------ incidents

    def incident(self, incident: Incident) -> dict:
        now = self.view.now
        updates = [u for u in incident.updates if u.at <= now]
        status = updates[-1].status if updates else IncidentStatus.investigating
        resolved_at = incident.resolved_at if incident.resolved_at and incident.resolved_at <= now else None
        monitoring_at = next((u.at for u in updates if u.status is IncidentStatus.monitoring), None)
        update_docs = []
        for index, update in enumerate(updates):
            affected = None
            if index == 0:
                affected = [{"code": c.id, "name": self._name(c.id), "old_status": "operational",
                             "new_status": c.status.value} for c in incident.components]
            elif update.status is IncidentStatus.resolved:
                affected = [{"code": c.id, "name": self._name(c.id), "old_status": c.status.value,
                             "new_status": "operational"} for c in incident.components]
            update_docs.append({
                "id": update_id(incident.id, update.at),
                "status": update.status.value,
                "body": self.text(update.text),
                "incident_id": incident.id,
                "created_at": iso(update.at),
                "updated_at": iso(update.at),
                "display_at": iso(update.at),
                "affected_components": affected,
            })
        update_docs.reverse()  # Statuspage lists the newest update first
        return {
            "id": incident.id,
            "name": self.text(incident.title),
            "status": status.value,
            "created_at": iso(updates[0].at if updates else incident.detected_at),
            "updated_at": iso(updates[-1].at if updates else incident.detected_at),
            "monitoring_at": iso(monitoring_at) if monitoring_at else None,
            "resolved_at": iso(resolved_at) if resolved_at else None,
            "impact": incident.impact.value,
            "shortlink": site_url(self.repository, self.lang, f"incidents/{incident.id}/"),
            "started_at": iso(incident.began_at),
            "page_id": page_id(self.repository),
            "incident_updates": update_docs,
            "components": self.component_refs([c.id for c in incident.components]),
        }

    def maintenance(self, item: Maintenance) -> dict:
        now = self.view.now
        state = maintenance_state(item, now)
        updates = [u for u in item.updates if u.at <= now]
        announcement = {
            "id": update_id(item.id, item.announced_at),
            "status": MaintenanceStatus.scheduled.value,
            "body": self.text(item.description),
            "incident_id": item.id,
            "created_at": iso(item.announced_at),
            "updated_at": iso(item.announced_at),
            "display_at": iso(item.announced_at),
            "affected_components": [{"code": c, "name": self._name(c), "old_status": "operational",
                                     "new_status": "under_maintenance"} for c in item.components],
        }
        update_docs = [announcement] + [{
            "id": update_id(item.id, u.at),
            "status": u.status.value,
            "body": self.text(u.text),
            "incident_id": item.id,
            "created_at": iso(u.at),
            "updated_at": iso(u.at),
            "display_at": iso(u.at),
            "affected_components": None,
        } for u in updates]
        update_docs.reverse()
        started = next((u.at for u in updates if u.status is MaintenanceStatus.in_progress), None)
        if started is None and state is not MaintenanceStatus.scheduled:
            started = item.scheduled_for
        completed = next((u.at for u in updates if u.status is MaintenanceStatus.completed), None)
        if completed is None and state is MaintenanceStatus.completed:
            completed = item.scheduled_until
        return {
            "id": item.id,
            "name": self.text(item.title),
            "status": state.value,
            "created_at": iso(item.announced_at),
            "updated_at": iso(max([item.announced_at] + [u.at for u in updates])),
            "monitoring_at": None,
            "resolved_at": iso(completed) if completed else None,
            "impact": "maintenance",
            "shortlink": site_url(self.repository, self.lang, f"maintenance/{item.id}/"),
            "started_at": iso(started) if started else None,
            "page_id": page_id(self.repository),
            "incident_updates": update_docs,
            "components": self.component_refs(list(item.components)),
            "scheduled_for": iso(item.scheduled_for),
            "scheduled_until": iso(item.scheduled_until),
        }

    def _name(self, component_id: str) -> str:
        component = self.config.component(component_id)
        if component is None:
            return component_id
        service = next(s for s in self.config.services if s.id == component.service)
        return f"{self.text(self.config.region(component.region).name)} {self.text(service.name)}"

    # ------------------------------------------------------------ documents

    def documents(self) -> dict[str, dict]:
        now = self.view.now
        self._components = self.components()
        page = self.page()
        indicator = api_indicator(self.view.repository, now)
        open_window = any(s.status is ComponentStatus.under_maintenance for s in self.view.states)
        description_key = "overall_maintenance" if indicator == "none" and open_window else f"overall_{indicator}"
        status = {"indicator": indicator, "description": self.t(description_key)}
        incidents = [self.incident(i) for i in self.view.incidents[:LATEST_INCIDENTS]]
        unresolved = [self.incident(i) for i in self.view.incidents if is_active(i, now)]
        maintenance = sorted(self.view.maintenance, key=lambda m: m.scheduled_for, reverse=True)
        maintenance_docs = [self.maintenance(m) for m in maintenance]
        upcoming = sorted((d for d in maintenance_docs if d["status"] == "scheduled"), key=lambda d: d["scheduled_for"])
        active = [d for d in maintenance_docs if d["status"] in ("in_progress", "verifying")]
        return {
            "summary.json": {"page": page, "status": status, "components": self._components,
                             "incidents": unresolved, "scheduled_maintenances": active + upcoming},
            "status.json": {"page": page, "status": status},
            "components.json": {"page": page, "components": self._components},
            "incidents.json": {"page": page, "incidents": incidents[:LATEST_INCIDENTS]},
            "incidents/unresolved.json": {"page": page, "incidents": unresolved},
            "scheduled-maintenances.json": {"page": page, "scheduled_maintenances": maintenance_docs},
            "scheduled-maintenances/upcoming.json": {"page": page, "scheduled_maintenances": upcoming},
            "scheduled-maintenances/active.json": {"page": page, "scheduled_maintenances": active},
        }


_STATUS_ORDER = [ComponentStatus.operational, ComponentStatus.under_maintenance,
                 ComponentStatus.degraded_performance, ComponentStatus.partial_outage, ComponentStatus.major_outage]


def api_indicator(repository: Repository, now: datetime) -> str:
    """Statuspage's indicator: the highest impact of the unresolved incidents, `none` without one."""
    from .status import overall_indicator

    indicator = overall_indicator(repository, now)
    return "none" if indicator == "maintenance" else indicator


def api_documents(repository: Repository, now: datetime, lang: str, view: ApiView | None = None) -> dict[str, dict]:
    """Every document of one language, keyed by its path under `api/v2/`."""
    return _Language(view or ApiView.of(repository, now), lang).documents()


def write_api(repository: Repository, now: datetime, site_dir: Path) -> list[Path]:
    """Write every language's documents into the built site; returns the files written."""
    view = ApiView.of(repository, now)
    written = []
    for lang in repository.config.languages:
        base = Path(site_dir) / language_prefix(repository, lang) / API_PREFIX
        for name, document in api_documents(repository, now, lang, view).items():
            target = base / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            written.append(target)
    return written
