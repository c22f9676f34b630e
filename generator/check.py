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
    Source,
    load_content,
    load_items,
    scan_item_files,
)
from .content.model import Config, Incident, Maintenance, Repository
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
            + update_due_warnings(loaded, now)
            + draft_warnings(loaded))


def draft_warnings(loaded: Loaded) -> list[Problem]:
    """A warning per draft, naming its file: drafts pass `check` but are never published, and an engineer
    who forgot to delete `draft: true` must see it before customers miss the notice."""
    repository = loaded.repository
    warnings = []
    for item in [*repository.incidents, *repository.maintenance]:
        if item.draft:
            warnings.append(loaded.problem(item.id, ("draft",), "checked but not published; fill every "
                                           "{placeholder}, then delete `draft: true` to publish", level="warning"))
    root = loaded.root
    for rca in repository.rcas:
        if rca.draft:
            line = _line_of_key(root / rca.path, "draft") if root is not None else 1
            warnings.append(Problem(rca.path, line, "draft", "checked but not published; fill every "
                                    "{placeholder}, then delete `draft: true` to publish", "warning"))
    return warnings


def _line_of_key(path: Path, key: str) -> int:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 1
    return next((number for number, line in enumerate(lines, start=1) if line.startswith(f"{key}:")), 1)


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
        when = f"{human_duration(now - due)} overdue" if due < now else f"due in {human_duration(due - now)}"
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


def human_duration(duration: timedelta) -> str:
    """`7 d 4 h`, `2 h 5 min`, `3 min`, `less than 1 min`: the two largest units, as a person reads them."""
    minutes = int(abs(duration).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{value} {unit}" for value, unit in ((days, "d"), (hours, "h"), (minutes, "min")) if value]
    return " ".join(parts[:2]) if parts else "less than 1 min"


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
        try:
            files = scan_item_files(root)
        except LoadFailed as failed:
            return failed.problems
        key = _repository_key(root, files)
        known = cache.get("check", key)
    if known is None:
        try:
            with progress.stage("load", len(files)) as advance:
                loaded = load_content(root, cache, advance, files)
        except LoadFailed as failed:
            cache.put("check", key, (failed.problems, None, []))
            return failed.problems
        with progress.stage("checks", len(loaded.repository.incidents) + len(loaded.repository.maintenance)) as advance:
            static = communication_problems(loaded, cache, advance)
            drafts = draft_warnings(loaded)
            cache.put("check", key, (static, _timed_items(loaded), drafts))
            return static + maintenance_notice_problems(loaded, now) + update_due_warnings(loaded, now) + drafts
    static, timed, drafts = known
    if timed is None:  # the content does not load: nothing else was checked
        return static
    with progress.stage("checks"):
        concerned = {fingerprint for fingerprint, until in timed if until is None or now < until}
        loaded = load_items(root, cache, [f for f in files if f.fingerprint in concerned])
        return static + maintenance_notice_problems(loaded, now) + update_due_warnings(loaded, now) + drafts


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
