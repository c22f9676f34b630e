"""`statusgen check`: every validation that content must pass before it is published, in one run."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from .comms.checks import communication_problems
from .content.load import Loaded, LoadFailed, Problem, Source, load_content
from .content.model import Config, Incident, Maintenance, Repository
from .localtime import format_local_and_utc
from .sla.calendar import region_calendar
from .sla.engine import Status, maintenance_notice, next_update_due

# Warn this long before the next public update of an active incident is owed.
UPDATE_WARNING_LEAD = timedelta(minutes=5)
# CLI messages are English; the times in them carry the region's local time and UTC.
MESSAGE_LANG = "en"


def content_checks(loaded: Loaded, now: datetime) -> list[Problem]:
    """Checks that need the whole validated repository (SLA rules, guardrails...)."""
    return (communication_problems(loaded)
            + maintenance_notice_problems(loaded, now)
            + update_due_warnings(loaded, now))


def item_checks(root: Path, config: Config, item: Incident | Maintenance, source: Source,
                now: datetime) -> list[Problem]:
    """What `content_checks` reports for one loaded incident or maintenance file. Every check in
    `content_checks` judges an incident or maintenance item on its own, so running them over a repository
    holding only that item gives that file's results without reading the others (the status API's write
    path). Macro files, the glossary and RCAs are other files: their problems are not the item's."""
    incidents, maintenance = ((item,), ()) if isinstance(item, Incident) else ((), (item,))
    repository = Repository(config=config, incidents=incidents, maintenance=maintenance, rcas=())
    return content_checks(Loaded(repository, {item.id: source}, root), now)


def maintenance_notice_problems(loaded: Loaded, now: datetime) -> list[Problem]:
    """Errors for planned maintenance announced with too little notice, while it can still be fixed
    (the window has not started): announce earlier, move the window, or mark it an emergency."""
    repository = loaded.repository
    config = repository.config
    problems = []
    for item in repository.maintenance:
        if item.draft or item.emergency is not None or item.scheduled_for <= now:
            continue
        calendar = region_calendar(config, item.region)
        notice = maintenance_notice(calendar, config.sla.maintenance_notice, item.announced_at, item.scheduled_for, now)
        if notice.status is Status.achieved or (notice.status is Status.pending and item.announced_at <= notice.due):
            continue
        tz = config.region(item.region).tz
        required = calendar.duration(config.sla.maintenance_notice)
        given = calendar.elapsed(item.announced_at, item.scheduled_for)
        problems.append(loaded.problem(
            item.id, ("announced_at",),
            f"expected the announcement at least {config.sla.maintenance_notice} "
            f"({_hours(required)} business hours on the {item.region} calendar) before the window starting "
            f"{format_local_and_utc(item.scheduled_for, tz, MESSAGE_LANG)}, i.e. by "
            f"{format_local_and_utc(notice.due, tz, MESSAGE_LANG)}; got {item.announced_at.isoformat()} "
            f"({_hours(given)} business hours of notice). Announce earlier, move the window, "
            f"or set emergency.reason",
        ))
    return problems


def update_due_warnings(loaded: Loaded, now: datetime) -> list[Problem]:
    """Warnings for active incidents whose next public update is due within 5 minutes or overdue."""
    repository = loaded.repository
    config = repository.config
    warnings = []
    for incident in repository.incidents:
        if incident.draft or incident.detected_at > now:
            continue
        due = next_update_due(incident, config, now)
        if due is None or due - now > UPDATE_WARNING_LEAD:
            continue
        tz = config.region(incident.region).tz
        minutes = int(abs((due - now).total_seconds()) // 60)
        when = f"overdue by {minutes} min" if due < now else f"due in {minutes} min"
        last = len([u for u in incident.updates if u.at <= now]) - 1
        loc = ("updates", last, "next_update_at") if last >= 0 else ("detected_at",)
        if last >= 0 and incident.updates[last].next_update_at is None:
            loc = ("updates", last, "at")
        warnings.append(loaded.problem(
            incident.id, loc,
            f"next update of {incident.id} ({incident.severity.value} {incident.region}) is {when}: "
            f"{format_local_and_utc(due, tz, MESSAGE_LANG)}",
            level="warning",
        ))
    return warnings


def _hours(duration: timedelta) -> str:
    return f"{duration.total_seconds() / 3600:g}"


def check_repository(root: Path, now: datetime) -> list[Problem]:
    try:
        loaded = load_content(root)
    except LoadFailed as failed:
        return failed.problems
    return content_checks(loaded, now)
