"""Uptime history: each component's last 90 days, day by day, and its availability over them.

Pure functions over the repository and `now`; no clock is read here.

- A day is a calendar day in the component's region's time zone; the last day is `now`'s local day (partial).
- A day's colour is the worst status the component had at any moment of that day: an incident's component
  status over [began_at, resolved_at) (or until `now` while unresolved) and `under_maintenance` over a
  maintenance window (scheduled_for until scheduled_until, or until the `completed` update if earlier).
- Availability over the period, maintenance windows excluded: `1 - downtime / counted minutes`, where
  counted minutes are the period's minutes outside maintenance windows, and downtime weighs each minute by
  the worst status in force then: major_outage 1, partial_outage 0.5, degraded_performance 0 (slow but up:
  it colours the bar, not the percentage). It is rounded down to two decimals, so any downtime shows below
  100 %.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ..content.model import (
    COMPONENT_STATUS_RANK,
    Component,
    ComponentStatus,
    Incident,
    Maintenance,
    MaintenanceStatus,
    Repository,
)
from .status import published_incidents, published_maintenance

HISTORY_DAYS = 90
DOWNTIME_WEIGHT = {
    ComponentStatus.major_outage: 1.0,
    ComponentStatus.partial_outage: 0.5,
    ComponentStatus.degraded_performance: 0.0,
    ComponentStatus.under_maintenance: 0.0,
    ComponentStatus.operational: 0.0,
}


@dataclass(frozen=True)
class UptimeDay:
    day: date
    status: ComponentStatus
    incidents: tuple[Incident, ...]  # worst first, then earliest
    maintenance: tuple[Maintenance, ...]
    # how long each incident / maintenance affected the component within this local day, by id
    minutes: tuple[tuple[str, int], ...] = ()

    def minutes_of(self, item_id: str) -> int:
        return next((m for i, m in self.minutes if i == item_id), 0)

    @property
    def notable(self) -> bool:
        """Something happened that day: the bar shows it and says what."""
        return bool(self.incidents or self.maintenance) or self.status is not ComponentStatus.operational


@dataclass(frozen=True)
class ComponentUptime:
    component_id: str
    days: tuple[UptimeDay, ...]  # oldest first, HISTORY_DAYS of them
    counted_minutes: float  # minutes of the period outside maintenance windows
    downtime_minutes: float  # weighted, see the module docstring

    @property
    def availability(self) -> float:
        """Percent, rounded down to two decimals."""
        if self.counted_minutes <= 0:
            return 100.0
        exact = 100.0 * (1.0 - self.downtime_minutes / self.counted_minutes)
        return math.floor(exact * 100 + 1e-9) / 100

    def day(self, which: date) -> UptimeDay | None:
        return next((d for d in self.days if d.day == which), None)


@dataclass(frozen=True)
class _Span:
    start: datetime
    end: datetime
    status: ComponentStatus
    source: Incident | Maintenance


def maintenance_window(item: Maintenance, now: datetime) -> tuple[datetime, datetime] | None:
    """The part of a maintenance window that has happened by `now`, ended early by a `completed` update."""
    end = item.scheduled_until
    for update in item.updates:
        if update.status is MaintenanceStatus.completed and item.scheduled_for <= update.at < end:
            end = update.at
            break
    end = min(end, now)
    return (item.scheduled_for, end) if item.scheduled_for < end else None


def _spans(component: Component, incidents: list[Incident], maintenance: list[Maintenance],
           start: datetime, now: datetime) -> list[_Span]:
    spans = []
    for incident in incidents:
        end = min(incident.resolved_at or now, now)
        if end <= start or incident.began_at >= now:
            continue
        for impact in incident.components:
            if impact.id == component.id:
                spans.append(_Span(max(incident.began_at, start), end, impact.status, incident))
    for item in maintenance:
        if component.id not in item.components:
            continue
        window = maintenance_window(item, now)
        if window and window[1] > start:
            spans.append(_Span(max(window[0], start), window[1], ComponentStatus.under_maintenance, item))
    return spans


def component_uptime(repository: Repository, component: Component, now: datetime,
                     days: int = HISTORY_DAYS) -> ComponentUptime:
    return _component_uptime(component, repository, published_incidents(repository),
                             published_maintenance(repository), now, days)


def uptime_history(repository: Repository, now: datetime, days: int = HISTORY_DAYS) -> dict[str, ComponentUptime]:
    """Every component's history, keyed by component id."""
    incidents = published_incidents(repository)
    maintenance = published_maintenance(repository)
    return {c.id: _component_uptime(c, repository, incidents, maintenance, now, days)
            for c in repository.config.components}


def _component_uptime(component: Component, repository: Repository, incidents: list[Incident],
                      maintenance: list[Maintenance], now: datetime, days: int) -> ComponentUptime:
    tz = repository.config.region(component.region).tz
    last_day = now.astimezone(tz).date()
    first_day = last_day - timedelta(days=days - 1)
    midnights = [datetime.combine(first_day + timedelta(days=n), time(0), tz) for n in range(days + 1)]
    start = midnights[0]
    spans = _spans(component, incidents, maintenance, start, now)

    # Cut the period at every span edge and every local midnight; within a piece nothing changes.
    edges = sorted({start, now, *(m for m in midnights if start < m < now),
                    *(s.start for s in spans), *(s.end for s in spans if s.end < now)})
    worst = [ComponentStatus.operational] * days
    counted = 0.0
    downtime = 0.0
    day_index = 0
    # Every span edge is a cut, so a span covers a piece [left, right) exactly when start <= left < end:
    # sweep the spans in order of start, keeping those in force (few at a time) instead of testing all.
    by_start = sorted(range(len(spans)), key=lambda n: spans[n].start)
    next_start = 0
    in_force: list[int] = []
    for left, right in zip(edges, edges[1:]):
        while day_index + 1 < days and left >= midnights[day_index + 1]:
            day_index += 1
        while next_start < len(by_start) and spans[by_start[next_start]].start <= left:
            in_force.append(by_start[next_start])
            next_start += 1
        in_force = [n for n in in_force if spans[n].end > left]
        covering = [spans[n] for n in sorted(in_force)]  # in the spans' own order, as before
        in_maintenance = any(s.status is ComponentStatus.under_maintenance for s in covering)
        status = max((s.status for s in covering), key=COMPONENT_STATUS_RANK.__getitem__,
                     default=ComponentStatus.operational)
        if COMPONENT_STATUS_RANK[status] > COMPONENT_STATUS_RANK[worst[day_index]]:
            worst[day_index] = status
        if not in_maintenance:
            minutes = (right - left).total_seconds() / 60
            counted += minutes
            downtime += minutes * DOWNTIME_WEIGHT[status]

    # Each span into the days it overlaps (spans are hours, not weeks), keeping the spans' order in a day.
    by_day: list[list[_Span]] = [[] for _ in range(days)]
    for span in spans:
        first = bisect.bisect_right(midnights, span.start) - 1
        for n in range(max(first, 0), days):
            if midnights[n] >= span.end:
                break
            if span.start < midnights[n + 1] and span.end > midnights[n]:
                by_day[n].append(span)
    result = []
    for n in range(days):
        lo, hi = midnights[n], midnights[n + 1]
        today = by_day[n]
        day_incidents = sorted({id(s.source): s for s in today if isinstance(s.source, Incident)}.values(),
                               key=lambda s: (-COMPONENT_STATUS_RANK[s.status], s.source.began_at))
        day_maintenance = sorted({id(s.source): s.source for s in today if isinstance(s.source, Maintenance)}.values(),
                                 key=lambda m: m.scheduled_for)
        minutes: dict[str, float] = {}
        for span in today:
            overlap = (min(span.end, hi) - max(span.start, lo)).total_seconds() / 60
            minutes[span.source.id] = minutes.get(span.source.id, 0.0) + overlap
        result.append(UptimeDay(first_day + timedelta(days=n), worst[n],
                                tuple(s.source for s in day_incidents), tuple(day_maintenance),
                                tuple((item, max(1, round(m))) for item, m in minutes.items())))
    return ComponentUptime(component.id, tuple(result), counted, downtime)
