"""SLA/OLA metrics as pure functions over the model values and `now`.

The building block is a `Clock` (start, stop, pauses, a target on a calendar); `measure` turns it into a
`Measurement` (target, due, at, elapsed, status) as of `now`. Incidents, maintenance and tickets are all
described as clocks, so the monthly ticket report reuses exactly the rules the status page is held to.
Nothing here reads the clock or the files: pass `now` and the loaded values.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Iterable, Literal, Mapping, Sequence

from ..content.model import Config, Incident, Maintenance, Rca, Repository, Severity, SeverityPolicy
from .calendar import ZERO, Calendar, calendar_for, region_calendar


class Status(str, Enum):
    achieved = "achieved"
    breached = "breached"
    pending = "pending"
    not_applicable = "not_applicable"


@dataclass(frozen=True)
class Pause:
    """A stretch during which a clock does not run, e.g. a ticket waiting on the customer.

    `end=None` means the clock is still paused."""

    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class Clock:
    """One SLA timer: runs on `calendar` from `start` until `stop`, except during `pauses`.

    `target` is the policy text ("15m", "4h", "3d"; days are business days of the calendar) or None
    when the policy sets no target. `stop=None` means the event has not happened yet."""

    calendar: Calendar
    target: str | None
    start: datetime | None
    stop: datetime | None = None
    pauses: tuple[Pause, ...] = ()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _seconds(duration: timedelta | None) -> int | None:
    return None if duration is None else round(duration.total_seconds())


@dataclass(frozen=True)
class Measurement:
    target: str | None
    due: datetime | None
    at: datetime | None
    elapsed_seconds: int | None
    status: Status

    def as_json(self) -> dict:
        return {
            "target": self.target,
            "due": _iso(self.due),
            "at": _iso(self.at),
            "elapsed_seconds": self.elapsed_seconds,
            "status": self.status.value,
        }


NOT_APPLICABLE = Measurement(None, None, None, None, Status.not_applicable)


# ---------------------------------------------------------------- clocks


def _pauses_as_of(pauses: Iterable[Pause], now: datetime) -> list[Pause]:
    """Pauses known at `now`, merged and sorted; a pause that has not ended by `now` is open."""
    known = sorted(
        (Pause(p.start, p.end if p.end is not None and p.end <= now else None) for p in pauses if p.start <= now),
        key=lambda p: p.start,
    )
    merged: list[Pause] = []
    for pause in known:
        if merged and (merged[-1].end is None or pause.start <= merged[-1].end):
            last = merged[-1]
            end = None if last.end is None or pause.end is None else max(last.end, pause.end)
            merged[-1] = Pause(last.start, end)
        else:
            merged.append(pause)
    return merged


def running_time(calendar: Calendar, start: datetime, end: datetime, pauses: Sequence[Pause] = ()) -> timedelta:
    """Calendar time between `start` and `end` that was not paused."""
    total = calendar.elapsed(start, end)
    for pause in pauses:
        low = max(pause.start, start)
        high = end if pause.end is None else min(pause.end, end)
        if high > low:
            total -= calendar.elapsed(low, high)
    return total


def due_time(calendar: Calendar, start: datetime, target: timedelta, pauses: Sequence[Pause] = ()) -> datetime | None:
    """When `target` of running time will have passed; None while the clock is paused (no due time yet)."""
    cursor, remaining = start, target
    for pause in pauses:
        if pause.end is not None and pause.end <= cursor:
            continue
        if pause.start > cursor:
            run = calendar.elapsed(cursor, pause.start)
            if run >= remaining:
                break
            remaining -= run
        if pause.end is None:
            return None
        cursor = max(cursor, pause.end)
    return calendar.add(cursor, remaining)


def measure(clock: Clock, now: datetime) -> Measurement:
    """The state of one clock as of `now`. Events later than `now` have not happened yet."""
    if clock.target is None or clock.start is None:
        return Measurement(clock.target, None, None, None, Status.not_applicable)
    target = clock.calendar.duration(clock.target)
    pauses = _pauses_as_of(clock.pauses, now)
    due = due_time(clock.calendar, clock.start, target, pauses)
    stop = clock.stop if clock.stop is not None and clock.stop <= now else None
    if stop is not None:
        elapsed = running_time(clock.calendar, clock.start, stop, pauses)
        # Business time decides, not the wall clock: an answer given after closing but before the
        # next opening used no business time beyond the target (Jira SM measures the same way).
        status = Status.achieved if elapsed <= target else Status.breached
        return Measurement(clock.target, due, stop, _seconds(elapsed), status)
    if clock.start > now:
        return Measurement(clock.target, due, None, None, Status.pending)
    elapsed = running_time(clock.calendar, clock.start, now, pauses)
    status = Status.breached if elapsed > target else Status.pending
    return Measurement(clock.target, due, None, _seconds(elapsed), status)


# ---------------------------------------------------------------- update cadence


@dataclass(frozen=True)
class Gap:
    """The time between one public update and the next (or resolution, or `now` while open)."""

    since: datetime
    measurement: Measurement

    def as_json(self) -> dict:
        return {"from": _iso(self.since), **self.measurement.as_json()}


@dataclass(frozen=True)
class Promise:
    """A promised next-update time and whether an update (or the resolution) came by then."""

    made_at: datetime
    promised: datetime
    kept_at: datetime | None
    status: Status

    def as_json(self) -> dict:
        return {"made_at": _iso(self.made_at), "promised": _iso(self.promised), "at": _iso(self.kept_at),
                "status": self.status.value}


@dataclass(frozen=True)
class CadenceMeasurement(Measurement):
    gaps: tuple[Gap, ...] = ()
    update_interval_compliance: float | None = None  # percent of decided gaps within target
    promises: tuple[Promise, ...] = ()

    def as_json(self) -> dict:
        return {
            **super().as_json(),
            "update_interval_compliance": self.update_interval_compliance,
            "gaps": [gap.as_json() for gap in self.gaps],
            "promises": [promise.as_json() for promise in self.promises],
        }


def keep_promises(
    promises: Iterable[tuple[datetime, datetime]], updates: Sequence[datetime], end: datetime | None, now: datetime
) -> tuple[Promise, ...]:
    """Each (made_at, promised) pair against the updates that followed; resolution also keeps a promise."""
    answers = sorted([t for t in updates if t <= now] + ([end] if end is not None and end <= now else []))
    kept = []
    for made_at, promised in promises:
        if made_at > now:
            continue
        answer = next((t for t in answers if t > made_at), None)
        if answer is not None:
            status = Status.achieved if answer <= promised else Status.breached
        else:
            status = Status.breached if now > promised else Status.pending
        kept.append(Promise(made_at, promised, answer, status))
    return tuple(kept)


def cadence(
    calendar: Calendar,
    target: str | None,
    updates: Sequence[datetime],
    end: datetime | None,
    now: datetime,
    promises: Iterable[tuple[datetime, datetime]] = (),
    pauses: Sequence[Pause] = (),
) -> CadenceMeasurement:
    """Every gap between consecutive updates, and from the last one to `end` (or `now` while open).

    The summary (due, at, elapsed) describes the open gap while there is one (its due time is when the
    next update is owed), else the longest gap. Status: breached if any gap or promise was breached."""
    end = end if end is not None and end <= now else None
    times = sorted(t for t in updates if t <= now and (end is None or t <= end))
    kept = keep_promises(promises, times, end, now)
    gaps: list[Gap] = []
    if target is not None and times:
        bounds = list(zip(times, times[1:]))
        if end is None:
            bounds.append((times[-1], None))
        elif end > times[-1]:
            bounds.append((times[-1], end))
        gaps = [Gap(a, measure(Clock(calendar, target, a, b, tuple(pauses)), now)) for a, b in bounds]
    decided = [g for g in gaps if g.measurement.status in (Status.achieved, Status.breached)]
    compliance = (
        round(100 * sum(g.measurement.status is Status.achieved for g in decided) / len(decided), 2)
        if decided else None
    )
    statuses = [g.measurement.status for g in gaps] + [p.status for p in kept]
    if target is None and not kept:
        status = Status.not_applicable
    elif Status.breached in statuses:
        status = Status.breached
    elif Status.pending in statuses or end is None:
        status = Status.pending
    else:
        status = Status.achieved
    open_gaps = [g for g in gaps if g.measurement.at is None]
    summary = open_gaps[-1] if open_gaps else max(gaps, key=lambda g: g.measurement.elapsed_seconds or 0, default=None)
    m = summary.measurement if summary else None
    return CadenceMeasurement(
        target=target,
        due=m.due if m else None,
        at=m.at if m else None,
        elapsed_seconds=m.elapsed_seconds if m else None,
        status=status,
        gaps=tuple(gaps),
        update_interval_compliance=compliance,
        promises=kept,
    )


# ---------------------------------------------------------------- reports


@dataclass(frozen=True)
class SlaReport:
    """The metrics of one incident or maintenance, as `statusgen sla` prints them."""

    kind: Literal["incident", "maintenance"]
    id: str
    severity: str | None
    region: str
    metrics: Mapping[str, Measurement] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "severity": self.severity,
            "region": self.region,
            "kind": self.kind,
            "metrics": {name: m.as_json() for name, m in self.metrics.items()},
        }


INCIDENT_METRICS = (
    "first_response", "status_post", "update_cadence", "resolution", "rca_published", "owner_assigned",
    "secondary_verdict",
)


def _before(moment: datetime | None, now: datetime) -> datetime | None:
    return moment if moment is not None and moment <= now else None


def rca_published_at(incident: Incident, rcas: Iterable[Rca], now: datetime) -> datetime | None:
    """The RCA counts as published when its first language is out (the earliest `published_at`)."""
    times = [
        r.published_at for r in rcas
        if (r.id == incident.rca if incident.rca else r.incident == incident.id)
        and not r.draft and r.published_at <= now
    ]
    return min(times, default=None)


def status_post(incident: Incident, policy: SeverityPolicy, calendar: Calendar, now: datetime) -> Measurement:
    """S1 at once (measured against the first-response target: nothing can be posted in zero time);
    S2 once it has lasted `status_post` (due then; not applicable when it was over sooner)."""
    if policy.status_post is None:
        return Measurement(None, None, None, None, Status.not_applicable)
    threshold = calendar.duration(policy.status_post)
    resolved = _before(incident.resolved_at, now)
    if threshold > ZERO and resolved is not None and calendar.elapsed(incident.detected_at, resolved) < threshold:
        return Measurement(policy.status_post, None, None, None, Status.not_applicable)
    target = policy.status_post if threshold > ZERO else policy.first_response
    first_post = min(u.at for u in incident.updates)
    return measure(Clock(calendar, target, incident.detected_at, first_post), now)


def evaluate_incident(incident: Incident, config: Config, rcas: Sequence[Rca], now: datetime) -> SlaReport:
    policy = config.sla.policies[incident.severity]
    calendar = calendar_for(config, incident.region, incident.severity)
    detected = incident.detected_at
    resolved = _before(incident.resolved_at, now)
    first_post = min(u.at for u in incident.updates)
    # Only updates while unresolved count for the cadence; a later note does not open a new gap.
    live = [u for u in incident.updates if resolved is None or u.at <= resolved]
    metrics: dict[str, Measurement] = {
        "first_response": measure(Clock(calendar, policy.first_response, detected, first_post), now),
        "status_post": status_post(incident, policy, calendar, now),
        "update_cadence": cadence(
            calendar, policy.update_cadence, [u.at for u in live], resolved, now,
            promises=[(u.at, u.next_update_at) for u in live if u.next_update_at is not None],
        ),
        "resolution": measure(Clock(calendar, policy.resolution, detected, resolved), now),
    }
    if policy.rca_due is None:
        metrics["rca_published"] = NOT_APPLICABLE
    elif resolved is None:
        # Owed, but its clock starts at resolution.
        metrics["rca_published"] = Measurement(policy.rca_due, None, None, None, Status.pending)
    else:
        metrics["rca_published"] = measure(
            Clock(calendar, policy.rca_due, resolved, rca_published_at(incident, rcas, now)), now
        )
    ola = config.sla.ola
    owner_at = incident.owner.assigned_at if incident.owner else None
    metrics["owner_assigned"] = measure(
        Clock(calendar, ola.owner_assigned.get(incident.severity), detected, owner_at), now
    )
    metrics["secondary_verdict"] = measure(
        Clock(calendar, ola.secondary_verdict.get(incident.severity), detected, incident.secondary_verdict_at), now
    )
    return SlaReport("incident", incident.id, incident.severity.value, incident.region, metrics)


@dataclass(frozen=True)
class NoticeMeasurement(Measurement):
    """Maintenance notice: `due` is the latest allowed announcement, `elapsed_seconds` the notice given."""

    emergency: bool = False

    def as_json(self) -> dict:
        return {**super().as_json(), "emergency": self.emergency}


def maintenance_notice(
    calendar: Calendar, target: str, announced_at: datetime, scheduled_for: datetime, now: datetime,
    emergency: bool = False,
) -> NoticeMeasurement:
    """Notice = business time of the region's calendar between announcement and the window's start; it must
    be at least `target` ("3d" = 3 x the business day length)."""
    required = calendar.duration(target)
    due = calendar.subtract(scheduled_for, required)
    if announced_at > now:
        status = Status.pending if now <= due else Status.breached
        return NoticeMeasurement(target, due, None, None, status, emergency)
    notice = calendar.elapsed(announced_at, scheduled_for)
    status = Status.achieved if notice >= required else Status.breached
    return NoticeMeasurement(target, due, announced_at, _seconds(notice), status, emergency)


def evaluate_maintenance(item: Maintenance, config: Config, now: datetime) -> SlaReport:
    calendar = region_calendar(config, item.region)
    notice = maintenance_notice(calendar, config.sla.maintenance_notice, item.announced_at, item.scheduled_for,
                                now, emergency=item.emergency is not None)
    return SlaReport("maintenance", item.id, None, item.region, {"status_post": notice})


def evaluate_repository(repository: Repository, now: datetime) -> list[SlaReport]:
    """Every published incident (by detection time), then every published maintenance (by window)."""
    config = repository.config
    incidents = sorted((i for i in repository.incidents if not i.draft), key=lambda i: (i.detected_at, i.id))
    maintenance = sorted((m for m in repository.maintenance if not m.draft), key=lambda m: (m.scheduled_for, m.id))
    return [evaluate_incident(i, config, repository.rcas, now) for i in incidents] + [
        evaluate_maintenance(m, config, now) for m in maintenance
    ]


def next_update_due(incident: Incident, config: Config, now: datetime) -> datetime | None:
    """When the next public update of an active incident is owed: the earlier of the cadence deadline and
    the time promised in the last update; the first-response due time while nothing is posted yet.
    None once resolved, or when the policy sets no cadence and nothing was promised."""
    if _before(incident.resolved_at, now) is not None:
        return None
    policy = config.sla.policies[incident.severity]
    calendar = calendar_for(config, incident.region, incident.severity)
    posted = [u for u in incident.updates if u.at <= now]
    if not posted:
        return calendar.add(incident.detected_at, policy.first_response)
    last = max(posted, key=lambda u: u.at)
    candidates = [last.next_update_at] if last.next_update_at is not None else []
    if policy.update_cadence is not None:
        candidates.append(calendar.add(last.at, policy.update_cadence))
    return min(candidates, default=None)


# ---------------------------------------------------------------- tickets


@dataclass(frozen=True)
class TicketTimes:
    """The moments of a support ticket that its SLA clocks need."""

    severity: Severity
    created: datetime
    replies: tuple[datetime, ...] = ()  # public replies to the customer, the first one is the first response
    waiting_on_customer: tuple[Pause, ...] = ()
    resolved: datetime | None = None


def evaluate_ticket(ticket: TicketTimes, policy: SeverityPolicy, calendar: Calendar, now: datetime) -> dict[str, Measurement]:
    """first_response (not paused: we owe the first answer whatever the customer does), update_cadence and
    resolution (both paused while waiting on the customer, as Zendesk and Jira SM do)."""
    first_reply = min(ticket.replies, default=None)
    return {
        "first_response": measure(Clock(calendar, policy.first_response, ticket.created, first_reply), now),
        "update_cadence": cadence(calendar, policy.update_cadence, ticket.replies, ticket.resolved, now,
                                  pauses=ticket.waiting_on_customer),
        "resolution": measure(
            Clock(calendar, policy.resolution, ticket.created, ticket.resolved, ticket.waiting_on_customer), now
        ),
    }
