"""The status roll-up: what each component and the page as a whole look like at a given moment.

Pure functions over the repository and `now`: no clock is read here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..content.model import (
    COMPONENT_STATUS_RANK,
    ComponentStatus,
    Impact,
    Incident,
    Maintenance,
    MaintenanceStatus,
    Repository,
)

IMPACT_RANK = {Impact.none: 0, Impact.minor: 1, Impact.major: 2, Impact.critical: 3}


def as_of(repository: Repository, now: datetime) -> Repository:
    """The repository as the public could see it at `now`: what was posted later has not happened yet.

    An incident appears with its first public update (not at detection), with only the updates posted by
    `now`, and resolved only once `resolved_at` has passed; maintenance appears once announced; an RCA once
    published. Building with `--now` in the middle of an incident shows the page as it was then."""
    incidents = []
    for incident in repository.incidents:
        updates = tuple(u for u in incident.updates if u.at <= now)
        if not updates:
            continue
        resolved = incident.resolved_at if incident.resolved_at and incident.resolved_at <= now else None
        incidents.append(incident.model_copy(update={"updates": list(updates), "resolved_at": resolved}))
    maintenance = [
        m.model_copy(update={"updates": [u for u in m.updates if u.at <= now]})
        for m in repository.maintenance if m.announced_at <= now
    ]
    rcas = [r for r in repository.rcas if r.published_at <= now]
    return repository.model_copy(update={
        "incidents": tuple(incidents), "maintenance": tuple(maintenance), "rcas": tuple(rcas)})


def published_incidents(repository: Repository) -> list[Incident]:
    """Non-draft incidents, newest first."""
    # Every page and output asks for this list of the same repository: sorted once per list of incidents.
    known = _published.get(id(repository.incidents))
    if known is None or known[0] is not repository.incidents:
        known = (repository.incidents, tuple(sorted((i for i in repository.incidents if not i.draft),
                                                    key=lambda i: i.detected_at, reverse=True)))
        _published.clear()  # one repository at a time: never keeps an old one alive
        _published[id(repository.incidents)] = known
    return list(known[1])


_published: dict[int, tuple] = {}


def published_maintenance(repository: Repository) -> list[Maintenance]:
    return sorted((m for m in repository.maintenance if not m.draft), key=lambda m: m.scheduled_for, reverse=True)


def is_active(incident: Incident, now: datetime) -> bool:
    return incident.detected_at <= now and (incident.resolved_at is None or incident.resolved_at > now)


def maintenance_state(item: Maintenance, now: datetime) -> MaintenanceStatus:
    """Where a maintenance stands at `now`: its latest update, or its window when no update says more."""
    updates = [u for u in item.updates if u.at <= now]
    if updates and updates[-1].status is MaintenanceStatus.completed:
        return MaintenanceStatus.completed
    if now < item.scheduled_for:
        return MaintenanceStatus.scheduled
    if now >= item.scheduled_until and not updates:
        return MaintenanceStatus.completed
    if updates:
        return updates[-1].status if updates[-1].status is not MaintenanceStatus.scheduled else MaintenanceStatus.in_progress
    return MaintenanceStatus.in_progress if now < item.scheduled_until else MaintenanceStatus.completed


def is_in_window(item: Maintenance, now: datetime) -> bool:
    return maintenance_state(item, now) in (MaintenanceStatus.in_progress, MaintenanceStatus.verifying)


def is_upcoming(item: Maintenance, now: datetime) -> bool:
    return maintenance_state(item, now) is MaintenanceStatus.scheduled


@dataclass(frozen=True)
class ComponentState:
    id: str
    region: str
    service: str
    status: ComponentStatus
    incident_ids: tuple[str, ...]


def component_states(repository: Repository, now: datetime) -> list[ComponentState]:
    """Each component's status at `now`: the worst status of its active incidents, else maintenance."""
    active = [i for i in published_incidents(repository) if is_active(i, now)]
    in_window = [m for m in published_maintenance(repository) if is_in_window(m, now)]
    states = []
    for component in repository.config.components:
        status = ComponentStatus.operational
        incident_ids = []
        for incident in active:
            for impact in incident.components:
                if impact.id == component.id:
                    incident_ids.append(incident.id)
                    if COMPONENT_STATUS_RANK[impact.status] > COMPONENT_STATUS_RANK[status]:
                        status = impact.status
        if status is ComponentStatus.operational and any(component.id in m.components for m in in_window):
            status = ComponentStatus.under_maintenance
        states.append(ComponentState(component.id, component.region, component.service, status, tuple(incident_ids)))
    return states


def overall_indicator(repository: Repository, now: datetime) -> str:
    """Statuspage's page indicator: the highest impact among active incidents (`none|minor|major|critical`),
    or `maintenance` when nothing is broken but a maintenance window is open."""
    active = [i for i in published_incidents(repository) if is_active(i, now)]
    if active:
        worst = max((i.impact for i in active), key=IMPACT_RANK.__getitem__)
        if worst is not Impact.none:
            return worst.value
    if any(is_in_window(m, now) for m in published_maintenance(repository)):
        return "maintenance"
    return "none"


@dataclass(frozen=True)
class Banner:
    """The overall status line at the top of every home page."""

    indicator: str  # none | minor | major | critical | maintenance: the colour
    status: str  # the worst component status, or `incident` / `operational`: the text


# Statuspage's page indicator derived from the component states: a degraded component is a minor problem,
# never an outage; the banner must not say more than the board below it.
_BANNER_INDICATOR = {
    ComponentStatus.major_outage: "critical",
    ComponentStatus.partial_outage: "major",
    ComponentStatus.degraded_performance: "minor",
    ComponentStatus.under_maintenance: "maintenance",
}


def page_banner(states: list[ComponentState], active: list[Incident]) -> Banner:
    """The banner from the component board: its worst state, so that the banner and the board always agree.

    An active incident that leaves every component operational (a false-positive inquiry, say) still shows
    as a minor `incident` banner: the reader is told something is going on without overstating it."""
    worst = max((s.status for s in states), key=COMPONENT_STATUS_RANK.__getitem__,
                default=ComponentStatus.operational)
    if worst is not ComponentStatus.operational:
        return Banner(_BANNER_INDICATOR[worst], worst.value)
    if any(i.impact is not Impact.none for i in active):
        return Banner("minor", "incident")
    return Banner("none", "operational")
