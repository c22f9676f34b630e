"""`statusgen check`: every validation that content must pass before it is published, in one run."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from .comms.checks import communication_problems
from .content.cache import Cache, code_version, digest
from .content.glossary import GLOSSARY_FILE
from .content.macrofiles import MACRO_DIR
from .content.load import (
    CONFIG_FILE,
    RCA_DIR,
    ItemFile,
    Loaded,
    LoadFailed,
    Problem,
    load_content,
    load_items,
    scan_item_files,
)
from .localtime import format_local_and_utc
from .sla.calendar import region_calendar
from .progress import StageTimer
from .sla.engine import Status, maintenance_notice, next_update_due

# Warn this long before the next public update of an active incident is owed.
UPDATE_WARNING_LEAD = timedelta(minutes=5)
# CLI messages are English; the times in them carry the region's local time and UTC.
MESSAGE_LANG = "en"


def content_checks(loaded: Loaded, now: datetime, cache: Cache | None = None, progress=None) -> list[Problem]:
    """Checks that need the whole validated repository (SLA rules, guardrails...). With a `cache`, each
    item's communication checks are reused while its file, the rules and the glossary are unchanged; the
    time-dependent checks (maintenance notice, updates due) always run."""
    return (communication_problems(loaded, cache, progress)
            + maintenance_notice_problems(loaded, now)
            + update_due_warnings(loaded, now))


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


_PACKAGE = Path(__file__).parent
# What a check's result derives from besides the content files: the code of every stage it runs.
CHECK_RULES = code_version(*(str(_PACKAGE / name) for name in ("content", "comms", "sla", "check.py", "localtime.py")))


def check_repository(root: Path, now: datetime, progress: StageTimer | None = None,
                     cache: Cache | None = None) -> list[Problem]:
    """Every problem of the repository at `root`, using its `.statusgen-cache/` unless `cache` is given.

    The problems that do not depend on `now` are cached for the whole repository under the hash of every
    input (item files, RCAs, glossary, macros, status.yaml, rules): a warm check reads and hashes the files,
    then re-runs only the time-dependent checks, on the incidents and maintenance they can still concern."""
    progress = progress or StageTimer("check")
    cache = cache if cache is not None else Cache.of(root)
    root = Path(root)
    with progress.stage("scan"):
        files = scan_item_files(root)
        key = _repository_key(root, files)
        known = cache.get("check", key)
    if known is None:
        try:
            with progress.stage("load", len(files)) as advance:
                loaded = load_content(root, cache, advance, files)
        except LoadFailed as failed:
            cache.put("check", key, (failed.problems, None))
            return failed.problems
        with progress.stage("checks", len(loaded.repository.incidents) + len(loaded.repository.maintenance)) as advance:
            static = communication_problems(loaded, cache, advance)
            known = (static, _timed_items(loaded))
            cache.put("check", key, known)
            return static + maintenance_notice_problems(loaded, now) + update_due_warnings(loaded, now)
    static, timed = known
    if timed is None:  # the content does not load: nothing else was checked
        return static
    with progress.stage("checks"):
        concerned = {fingerprint for fingerprint, until in timed if until is None or now < until}
        loaded = load_items(root, cache, [f for f in files if f.fingerprint in concerned])
        return static + maintenance_notice_problems(loaded, now) + update_due_warnings(loaded, now)


def _timed_items(loaded: Loaded) -> list[tuple[str, datetime | None]]:
    """(fingerprint, until) of each item a time-dependent check may concern: until is when it stops
    (resolution of an incident, start of a maintenance window); None is never."""
    repository = loaded.repository
    timed = [(loaded.fingerprints[i.id], i.resolved_at) for i in repository.incidents if not i.draft]
    timed += [(loaded.fingerprints[m.id], m.scheduled_for) for m in repository.maintenance
              if not m.draft and m.emergency is None]
    return timed


def _repository_key(root: Path, files: list[ItemFile]) -> str:
    parts: list[bytes | str] = [CHECK_RULES, *(f.fingerprint for f in files)]
    for name in (CONFIG_FILE, GLOSSARY_FILE):
        file = root / name
        parts += [name, file.read_bytes() if file.is_file() else b""]
    for directory in (RCA_DIR, MACRO_DIR):
        base = root / directory
        for file in sorted((p for p in base.rglob("*") if p.is_file()), key=lambda p: p.parts) if base.is_dir() else ():
            parts += [file.relative_to(root).as_posix(), file.read_bytes()]
    return digest(*parts)
