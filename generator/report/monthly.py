"""Tickets + incidents of one month -> `MonthlyReport`: attainment, percentiles, compliance, CSAT, breaches.

Pure: the tickets, the repository and `now` come in, a frozen value goes out; nothing reads files or the
clock. Every clock follows the SLA engine's rules (`generator.sla.engine`), on the calendar `calendar_for` picks,
so the report holds tickets to exactly the rules `statusgen sla` applies to incidents: the clocks of a chunk of
tickets are evaluated on columns (`columnar.py`, checked ticket by ticket against `engine.evaluate_ticket`), and
each breach is measured again by the engine itself for its due time.
"""
from __future__ import annotations

import gc
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterable, Literal, Sequence
from zoneinfo import ZoneInfo

import numpy as np

from ..content.model import Config, Incident, Repository, Severity
from ..sla.calendar import Calendar, calendar_for
from ..sla.engine import Clock, Pause, Status, TicketTimes, evaluate_incident, measure
from .columnar import ACHIEVED, BREACHED, NONE, columns, evaluate, microseconds
from .tickets import CHUNK, Ticket

Verdict = Literal["met", "missed", "no_data", "no_target"]
SEVERITIES = tuple(Severity)
PERCENTILES = (50, 90)


# ---------------------------------------------------------------- the month


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        try:
            year, month = (int(part) for part in text.split("-"))
            date(year, month, 1)
        except ValueError:
            raise ValueError(f"expected a month as YYYY-MM (e.g. 2025-10), got {text!r}") from None
        return cls(year, month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def days(self) -> int:
        following = date(self.year + self.month // 12, self.month % 12 + 1, 1)
        return (following - date(self.year, self.month, 1)).days

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[first instant, first instant of the next month) in the local time of `tz`."""
        start = datetime(self.year, self.month, 1, tzinfo=tz)
        return start, datetime(self.year + self.month // 12, self.month % 12 + 1, 1, tzinfo=tz)

    def contains(self, moment: datetime, tz: ZoneInfo) -> bool:
        """A ticket or incident belongs to the month of its creation (detection) in its region's local time."""
        local = moment.astimezone(tz)
        return (local.year, local.month) == (self.year, self.month)


# ---------------------------------------------------------------- statistics


def nearest_rank(values: Sequence[int], p: int) -> int | None:
    """The p-th percentile by the nearest-rank method: the ceil(p/100 * n)-th smallest value (1-based).

    Always one of the values (never interpolated): p50 of [10, 20, 30, 40] is 20, p90 is 40."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-p * len(ordered) // 100))
    return ordered[rank - 1]


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def verdict(value: float | None, target: float | None) -> Verdict:
    if target is None:
        return "no_target"
    if value is None:
        return "no_data"
    return "met" if value >= target else "missed"


# ---------------------------------------------------------------- one ticket


@dataclass(frozen=True)
class TicketPlan:
    """The calendar and targets of one region and severity, worked out once for all its tickets."""

    calendar: Calendar
    first_response: tuple[str | None, int]   # (policy text, calendar microseconds)
    resolution: tuple[str | None, int]
    update_cadence: tuple[str | None, int]
    owner_assigned: tuple[str | None, int]

    @classmethod
    def of(cls, config: Config, region: str, severity: Severity) -> "TicketPlan":
        policy = config.sla.policies[severity]
        calendar = calendar_for(config, region, severity)

        def limit(target: str | None) -> tuple[str | None, int]:
            return target, (calendar.duration(target) // timedelta(microseconds=1) if target else 0)

        return cls(calendar, limit(policy.first_response), limit(policy.resolution), limit(policy.update_cadence),
                   limit(config.sla.ola.owner_assigned.get(severity)))



def ticket_times(ticket: Ticket) -> TicketTimes:
    return TicketTimes(
        severity=ticket.severity,
        created=ticket.created_at,
        replies=tuple(ticket.replies),
        waiting_on_customer=tuple(Pause(w.start, w.end) for w in ticket.waiting_on_customer),
        resolved=ticket.resolved_at,
    )


# ---------------------------------------------------------------- breaches


@dataclass(frozen=True)
class Breach:
    """One target a ticket missed. `missed_by_seconds` is calendar time beyond the target (business time for
    S3/S4); while the event has not happened (`at` is None) it is measured up to `now` and still growing."""

    ticket_id: str
    tenant: str
    region: str
    severity: Severity
    metric: str
    target: str
    calendar: str
    started: datetime
    due: datetime | None
    at: datetime | None
    missed_by_seconds: int

    def as_json(self) -> dict:
        return {
            "ticket": self.ticket_id, "tenant": self.tenant, "region": self.region,
            "severity": self.severity.value, "metric": self.metric, "target": self.target,
            "calendar": self.calendar, "from": self.started.isoformat(),
            "due": self.due.isoformat() if self.due else None, "at": self.at.isoformat() if self.at else None,
            "missed_by_seconds": self.missed_by_seconds,
        }


def breaches_of_ticket(ticket: Ticket, plan: TicketPlan, now: datetime, owner: bool, first: bool, resolution: bool,
                       gaps: Sequence[bool]) -> list[Breach]:
    """`breaches_of` for a ticket whose breached clocks are known already (from the columnar evaluation): the
    same clocks, measured again by the engine itself for their due times. `gaps[i]` tells whether the ticket's
    i-th update interval (in `engine.cadence`'s order) breached."""
    calendar = plan.calendar
    pauses = tuple(Pause(w.start, w.end) for w in ticket.waiting_on_customer)
    clocks = []
    if owner:
        clocks.append(("owner_assigned", Clock(calendar, plan.owner_assigned[0], ticket.created_at,
                                               ticket.owner_assigned_at)))
    if first:
        clocks.append(("first_response_time", Clock(calendar, plan.first_response[0], ticket.created_at,
                                                     ticket.first_public_reply_at)))
    if resolution:
        clocks.append(("resolution_time", Clock(calendar, plan.resolution[0], ticket.created_at, ticket.resolved_at,
                                                pauses)))
    if any(gaps):
        # the gaps as engine.cadence draws them: replies by `now` (and by the resolution), in time order
        replies = ([ticket.first_public_reply_at] if ticket.first_public_reply_at else []) + ticket.public_replies_at
        replies.sort()
        resolved = ticket.resolved_at if ticket.resolved_at is not None and ticket.resolved_at <= now else None
        times = [t for t in replies if t <= now and (resolved is None or t <= resolved)]
        bounds: list[tuple[datetime, datetime | None]] = list(zip(times, times[1:]))
        if resolved is None:
            bounds.append((times[-1], None))
        elif resolved > times[-1]:
            bounds.append((times[-1], resolved))
        for (since, until), breached in zip(bounds, gaps, strict=True):
            if breached:
                clocks.append(("update_interval", Clock(calendar, plan.update_cadence[0], since, until, pauses)))
    found = []
    for metric, clock in clocks:
        m = measure(clock, now)
        target = int(calendar.duration(m.target).total_seconds())
        found.append(Breach(ticket.id, ticket.tenant, ticket.region, ticket.severity, metric, m.target, calendar.name,
                            clock.start, m.due, m.at, (m.elapsed_seconds or 0) - target))
    return found


# ---------------------------------------------------------------- aggregation


@dataclass(frozen=True)
class SeverityRow:
    severity: Severity
    tickets: int
    attained: int
    decided: int
    attainment: float | None
    target: float | None
    verdict: Verdict
    first_response_seconds: dict[int, int | None]   # percentile -> seconds
    resolution_seconds: dict[int, int | None]

    def as_json(self) -> dict:
        return {
            "tickets": self.tickets, "attained": self.attained, "decided": self.decided,
            "attainment": self.attainment, "target": self.target, "verdict": self.verdict,
            "first_response_time": {f"p{p}_seconds": v for p, v in self.first_response_seconds.items()},
            "resolution_time": {f"p{p}_seconds": v for p, v in self.resolution_seconds.items()},
        }


@dataclass(frozen=True)
class Compliance:
    """`within` of `decided` kept their target; `value` in percent, or a mean for CSAT."""

    within: int
    decided: int
    value: float | None
    target: float | None
    verdict: Verdict

    def as_json(self) -> dict:
        return {"within": self.within, "decided": self.decided, "value": self.value, "target": self.target,
                "verdict": self.verdict}


@dataclass(frozen=True)
class RcaResult:
    incident: str
    severity: Severity
    region: str
    target: str
    resolved: datetime | None
    published: datetime | None
    lead_seconds: int | None
    status: Status

    def as_json(self) -> dict:
        return {"incident": self.incident, "severity": self.severity.value, "region": self.region,
                "target": self.target, "resolved": self.resolved.isoformat() if self.resolved else None,
                "published": self.published.isoformat() if self.published else None,
                "lead_seconds": self.lead_seconds, "status": self.status.value}


@dataclass(frozen=True)
class GroupReport:
    """One region, one tenant, or all tickets."""

    scope: Literal["all", "region", "tenant"]
    key: str
    tickets: int
    severities: tuple[SeverityRow, ...]
    update_interval_compliance: Compliance
    owner_assigned: Compliance
    rca: Compliance
    rca_incidents: tuple[RcaResult, ...]
    csat: Compliance
    breached_tickets: tuple[str, ...]
    daily: tuple[int, ...]  # tickets created on each day of the month (local dates)

    def as_json(self) -> dict:
        return {
            "scope": self.scope, "key": self.key, "tickets": self.tickets,
            "severities": {row.severity.value: row.as_json() for row in self.severities},
            "update_interval_compliance": self.update_interval_compliance.as_json(),
            "owner_assigned": self.owner_assigned.as_json(),
            "rca_lead_time": {**self.rca.as_json(), "incidents": [r.as_json() for r in self.rca_incidents]},
            "csat": self.csat.as_json(),
            "breached_tickets": list(self.breached_tickets),
            "daily_tickets": list(self.daily),
        }


@dataclass(frozen=True)
class MonthlyReport:
    month: Month
    now: datetime
    overall: GroupReport
    regions: tuple[GroupReport, ...]
    tenants: tuple[GroupReport, ...]
    breaches: tuple[Breach, ...]
    skipped: tuple[str, ...] = ()  # bad rows left out with --skip-invalid, as path:line: field: message
    targets: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "month": str(self.month), "as_of": self.now.isoformat(), "targets": self.targets,
            "overall": self.overall.as_json(),
            "regions": {g.key: g.as_json() for g in self.regions},
            "tenants": {g.key: g.as_json() for g in self.tenants},
            "breaches": [b.as_json() for b in self.breaches],
            "skipped_rows": list(self.skipped),
        }


def _all_kept(within: int, decided: int) -> Compliance:
    """A per-item target with no percentage target (OLA, RCA): met only when every decided item kept it."""
    value = percent(within, decided)
    return Compliance(within, decided, value, 100.0, verdict(value, 100.0))


def rca_results(repository: Repository, month: Month, now: datetime) -> list[tuple[Incident, RcaResult]]:
    """The month's published incidents whose severity owes an RCA (S1 48 h, S2 72 h), from resolution to the
    RCA's publication, measured by the SLA engine's `rca_published` clock."""
    config = repository.config
    found = []
    for incident in sorted(repository.incidents, key=lambda i: (i.detected_at, i.id)):
        policy = config.sla.policies[incident.severity]
        if incident.draft or policy.rca_due is None:
            continue
        if not month.contains(incident.detected_at, config.region(incident.region).tz):
            continue
        m = evaluate_incident(incident, config, repository.rcas, now).metrics["rca_published"]
        resolved = incident.resolved_at if incident.resolved_at and incident.resolved_at <= now else None
        found.append((incident, RcaResult(incident.id, incident.severity, incident.region, policy.rca_due, resolved,
                                          m.at, m.elapsed_seconds if m.at else None, m.status)))
    return found


def monthly_report(tickets: Iterable[Ticket], repository: Repository, month: Month, now: datetime,
                   skipped: Sequence[str] = ()) -> MonthlyReport:
    """The report of the tickets created in `month` (each in its region's local time), as of `now`.

    Every ticket's region must be one of the configuration's (`read_tickets(..., regions=...)` checks it)."""
    fold = MonthFold(repository.config, month, now)
    chunk: list[Ticket] = []
    for ticket in tickets:
        chunk.append(ticket)
        if len(chunk) >= CHUNK:
            fold.add(chunk)
            chunk = []
    fold.add(chunk)
    return fold.report(repository, skipped)


class MonthFold:
    """The month's report built a chunk of tickets at a time: each chunk is evaluated on columns
    (`columnar.evaluate`) and folded into a few small integers per ticket, so only one chunk of `Ticket` values is
    alive at once whatever the size of the export. Breached tickets are measured once more by the per-ticket
    path, which gives each breach its due time (the engine's `measure`)."""

    def __init__(self, config: Config, month: Month, now: datetime):
        self.config, self.month, self.now = config, month, now
        self.regions = [region.id for region in config.regions]
        self.plans = [TicketPlan.of(config, region, severity) for region in self.regions for severity in SEVERITIES]
        self.plan_code = {(region, severity): i * len(SEVERITIES) + j
                          for i, region in enumerate(self.regions) for j, severity in enumerate(SEVERITIES)}
        self.severity_code = {severity: j for j, severity in enumerate(SEVERITIES)}
        self.region_code = {region: i for i, region in enumerate(self.regions)}
        # UTC microseconds of each local midnight of the month and of the next month's first, per region
        self.midnights = {}
        for region in config.regions:
            tz = region.tz
            days = [datetime(month.year, month.month, d, tzinfo=tz) for d in range(1, month.days + 1)]
            self.midnights[region.id] = [microseconds(d) for d in (*days, month.bounds(tz)[1])]
        self.tenant_code: dict[str, int] = {}
        self.parts: list[dict[str, np.ndarray]] = []
        self.breaches: list[Breach] = []
        self.linked: set[tuple[str, str]] = set()  # (incident id, tenant) of the month's tickets

    def add(self, tickets: Sequence[Ticket]) -> None:
        with _no_cycle_collection():
            self._add(tickets)

    def report(self, repository: Repository, skipped: Sequence[str] = ()) -> MonthlyReport:
        with _no_cycle_collection():
            return self._report(repository, skipped)

    def _add(self, tickets: Sequence[Ticket]) -> None:
        region_code, severity_code, tenant_code = self.region_code, self.severity_code, self.tenant_code
        regions, severities, tenants, scores = [], [], [], []
        for t in tickets:
            regions.append(region_code[t.region])
            severities.append(severity_code[t.severity])
            tenants.append(tenant_code.setdefault(t.tenant, len(tenant_code)))
            scores.append(t.csat or 0)
        region = np.array(regions, dtype=np.int64)
        severity = np.array(severities, dtype=np.int64)
        c = columns(tickets, region * len(SEVERITIES) + severity)
        # the month's tickets, each in its region's local time
        day = np.zeros(len(tickets), dtype=np.int64)
        for code, midnights in enumerate(self.midnights.values()):
            mine = region == code
            day[mine] = np.searchsorted(midnights, c.created[mine], side="right")
        inside = np.flatnonzero((day >= 1) & (day < len(self.midnights[self.regions[0]])))
        if not len(inside):
            return
        if len(inside) < len(tickets):
            c = c.subset(inside)
            tickets = [tickets[i] for i in inside.tolist()]
        region, severity, day = region[inside], severity[inside], day[inside]
        result = evaluate(c, self.plans, self.now)
        n = len(tickets)
        gap_statuses = result.gaps.status
        first, resolution = result.first_response, result.resolution
        self.parts.append({
            "region": region.astype(np.int16),
            "tenant": np.array(tenants, dtype=np.int32)[inside],
            "severity": severity.astype(np.int8),
            "attainment": result.attainment,
            # elapsed seconds of the events that happened by `now`, else -1 (left out of the percentiles)
            "first": np.where(first.at != NONE, first.elapsed_seconds, -1),
            "resolution": np.where(resolution.at != NONE, resolution.elapsed_seconds, -1),
            "owner": result.owner_assigned.status,
            "gaps_ok": np.bincount(result.gap_ticket[gap_statuses == ACHIEVED], minlength=n).astype(np.int32),
            "gaps_bad": np.bincount(result.gap_ticket[gap_statuses == BREACHED], minlength=n).astype(np.int32),
            "csat": np.array(scores, dtype=np.int8)[inside],
            "day": day.astype(np.int8),
        })
        gap_first = np.searchsorted(result.gap_ticket, np.arange(n + 1))
        for row in np.flatnonzero(result.breached).tolist():
            self.breaches.extend(breaches_of_ticket(
                tickets[row], self.plans[int(c.plan[row])], self.now,
                result.owner_assigned.status[row] == BREACHED, first.status[row] == BREACHED,
                resolution.status[row] == BREACHED,
                (gap_statuses[gap_first[row]:gap_first[row + 1]] == BREACHED).tolist()))
        self.linked.update((t.incident_id, t.tenant) for t in tickets if t.incident_id)

    def _report(self, repository: Repository, skipped: Sequence[str] = ()) -> MonthlyReport:
        config, month, now = self.config, self.month, self.now
        names = ("region", "tenant", "severity", "attainment", "first", "resolution", "owner", "gaps_ok", "gaps_bad",
                 "csat", "day")
        kinds = (np.int16, np.int32, np.int8, np.int8, np.int64, np.int64, np.int8, np.int32, np.int32, np.int8, np.int8)
        cols = {name: (np.concatenate([part[name] for part in self.parts]) if self.parts
                       else np.empty(0, dtype=kind)) for name, kind in zip(names, kinds)}
        self.parts = []
        breached: dict[tuple[str, str], set[str]] = defaultdict(set)  # (scope, key) -> ticket ids
        for b in self.breaches:
            breached["all", "all"].add(b.ticket_id)
            breached["region", b.region].add(b.ticket_id)
            breached["tenant", b.tenant].add(b.ticket_id)
        incidents = rca_results(repository, month, now)
        linked: dict[str, set[str]] = defaultdict(set)  # incident id -> tenants, from the incident and its tickets
        for incident, _ in incidents:
            linked[incident.id].update(incident.tenants)
        for incident_id, tenant in self.linked:
            linked[incident_id].add(tenant)
        all_rcas = [rca for _, rca in incidents]
        everything = np.arange(len(cols["region"]))
        by_region = _rows_by(cols["region"], len(self.regions))
        regions = tuple(
            _group_of_columns("region", region, cols, by_region[i], [x for x in all_rcas if x.region == region],
                              config, month, breached["region", region])
            for i, region in enumerate(self.regions)
        )
        by_tenant = _rows_by(cols["tenant"], len(self.tenant_code))
        tenants = tuple(
            _group_of_columns("tenant", tenant, cols, by_tenant[self.tenant_code[tenant]],
                              [x for x in all_rcas if tenant in linked[x.incident]], config, month,
                              breached["tenant", tenant])
            for tenant in sorted(self.tenant_code)
        )
        targets = {
            "attainment": {s.value: config.sla.policies[s].attainment_target for s in SEVERITIES},
            "update_interval_compliance": config.sla.update_interval_compliance_target,
            "csat": config.sla.csat_target,
            "rca_due": {s.value: config.sla.policies[s].rca_due for s in SEVERITIES if config.sla.policies[s].rca_due},
            "owner_assigned": {s.value: d for s, d in config.sla.ola.owner_assigned.items()},
        }
        return MonthlyReport(
            month=month, now=now,
            overall=_group_of_columns("all", "all", cols, everything, all_rcas, config, month, breached["all", "all"]),
            regions=regions, tenants=tenants,
            breaches=tuple(sorted(self.breaches, key=lambda b: (b.region, b.tenant, b.started, b.ticket_id, b.metric))),
            skipped=tuple(skipped), targets=targets,
        )


@contextmanager
def _no_cycle_collection():
    """The cyclic garbage collector off meanwhile: the breaches and the chunk's tickets hold no reference cycles, so
    its scans of the heap they fill (a million tickets make ~100,000 breaches) find nothing; reference counting
    still frees the garbage."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _rows_by(keys: np.ndarray, count: int) -> list[np.ndarray]:
    """The row numbers of each key 0 .. count - 1 (one stable sort for all groups)."""
    order = np.argsort(keys, kind="stable")
    ends = np.cumsum(np.bincount(keys, minlength=count))
    return np.split(order, ends[:-1]) if count else []


def _nearest_ranks(values: np.ndarray) -> dict[int, int | None]:
    ordered = np.sort(values)
    return {p: nearest_rank_of_sorted(ordered, p) for p in PERCENTILES}


def nearest_rank_of_sorted(ordered: np.ndarray, p: int) -> int | None:
    """`nearest_rank` of values already sorted."""
    if not len(ordered):
        return None
    return int(ordered[max(1, -(-p * len(ordered) // 100)) - 1])


def _group_of_columns(scope, key: str, cols: dict[str, np.ndarray], rows: np.ndarray, rcas: list[RcaResult],
                      config: Config, month: Month, breached: set[str]) -> GroupReport:
    """`GroupReport` of the tickets at `rows` of the folded columns."""
    c = {name: column[rows] for name, column in cols.items()}
    severity_rows = []
    for code, severity in enumerate(SEVERITIES):
        mine = c["severity"] == code
        attainment = c["attainment"][mine]
        achieved, failed = int((attainment == ACHIEVED).sum()), int((attainment == BREACHED).sum())
        decided = achieved + failed
        value = percent(achieved, decided)
        target = config.sla.policies[severity].attainment_target
        first, resolution = c["first"][mine], c["resolution"][mine]
        severity_rows.append(SeverityRow(
            severity, int(mine.sum()), achieved, decided, value, target, verdict(value, target),
            _nearest_ranks(first[first >= 0]), _nearest_ranks(resolution[resolution >= 0])))
    gaps_ok, gaps_bad = int(c["gaps_ok"].sum()), int(c["gaps_bad"].sum())
    uic_target = config.sla.update_interval_compliance_target
    uic_value = percent(gaps_ok, gaps_ok + gaps_bad)
    owners_ok, owners_bad = int((c["owner"] == ACHIEVED).sum()), int((c["owner"] == BREACHED).sum())
    rca_counts = Counter(r.status for r in rcas)
    scores = c["csat"][c["csat"] > 0]
    mean = round(int(scores.sum(dtype=np.int64)) / len(scores), 2) if len(scores) else None
    csat_target = config.sla.csat_target
    daily = np.bincount(c["day"].astype(np.int64) - 1, minlength=month.days) if len(rows) else [0] * month.days
    return GroupReport(
        scope=scope, key=key, tickets=len(rows), severities=tuple(severity_rows),
        update_interval_compliance=Compliance(gaps_ok, gaps_ok + gaps_bad, uic_value, uic_target,
                                              verdict(uic_value, uic_target)),
        owner_assigned=_all_kept(owners_ok, owners_ok + owners_bad),
        rca=_all_kept(rca_counts[Status.achieved], rca_counts[Status.achieved] + rca_counts[Status.breached]),
        rca_incidents=tuple(rcas),
        csat=Compliance(int((scores >= csat_target).sum()), len(scores), mean, csat_target,
                        verdict(mean, csat_target)),
        breached_tickets=tuple(sorted(breached)),
        daily=tuple(int(n) for n in daily),
    )
