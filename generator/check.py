"""`statusgen check`: every validation that content must pass before it is published, in one run."""
from __future__ import annotations

import hashlib
import os
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

from .content.cache import Cache, code_version, digest
from .content.glossary import GLOSSARY_FILE
from .content.index import FileIndex
from .content.macrofiles import MACRO_DIR
from .content.load import (
    CONFIG_FILE,
    INCIDENT_DIR,
    MAINTENANCE_DIR,
    RCA_DIR,
    Loaded,
    LoadFailed,
    Problem,
    Source,
    _front_line,
    _load_file,
    _read_glossary,
    _read_macros,
    content_entries,
    load_config,
    load_rcas,
    refuse_outside_links,
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
    from .comms.checks import communication_problems

    return (communication_problems(loaded, cache, progress)
            + maintenance_notice_problems(loaded, now)
            + update_due_warnings(loaded, now)
            + draft_warnings(loaded))


# A draft passes `check` but is never published.
DRAFT_MESSAGE = "checked but not published; fill every {placeholder}, then delete `draft: true` to publish"


def draft_warnings(loaded: Loaded) -> list[Problem]:
    """A warning per draft, naming its file: drafts pass `check` but are never published, and an engineer
    who forgot to delete `draft: true` must see it before customers miss the notice."""
    repository = loaded.repository
    warnings = [loaded.problem(item.id, ("draft",), DRAFT_MESSAGE, level="warning")
                for item in [*repository.incidents, *repository.maintenance] if item.draft]
    return warnings + _rca_draft_warnings(loaded)


def _rca_draft_warnings(loaded: Loaded) -> list[Problem]:
    root = loaded.root
    warnings = []
    for rca in loaded.repository.rcas:
        if rca.draft:
            line = _line_of_key(root / rca.path, "draft") if root is not None else 1
            warnings.append(Problem(rca.path, line, "draft", DRAFT_MESSAGE, "warning"))
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
# The libraries whose judgement a file's verdict holds (YAML and validation messages, the guardrail's detectors):
# an upgrade of one of them judges every file again.
VERDICT_LIBRARIES = ("pydantic", "pydantic-core", "PyYAML", "detect-secrets", "phonenumbers", "python-stdnum",
                     "pyahocorasick")


def verdict_context(settings: tuple[bytes, ...]) -> str:
    """What every file's verdict derives from besides the file: the rules' code, the libraries, and the
    `settings` (`_settings`: status.yaml and the glossary)."""
    return digest(CHECK_RULES, *_library_versions(), *settings)


def _library_versions() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in VERDICT_LIBRARIES:
        try:
            found.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} absent")
    return found


class ItemVerdict(NamedTuple):
    """What `check` concludes from one incident or maintenance file alone: a pure function of its bytes, its
    path, status.yaml, the glossary and the rules, which the stat index keeps beside the file's hash. It holds
    the file's own problems and the few facts the checks across files need (id, RCA reference)."""

    problems: tuple[Problem, ...]  # found while loading the file
    id: str | None  # None: the file does not load
    id_line: int
    rca: str | None
    rca_line: int
    texts: tuple[Problem, ...]  # communication problems of its texts
    evidence: tuple[Problem, ...]  # ... and of its evidence links
    draft: Problem | None  # the draft warning
    timed: bool  # a time-dependent check may concern it ...
    until: int | None  # ... until then, in microseconds since the epoch (None: for ever)

    def concerns(self, now: datetime) -> bool:
        """Whether the time-dependent checks may have something to say about this item at `now`."""
        return self.timed and (self.until is None or _microseconds(now) < self.until)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _microseconds(moment: datetime | None) -> int | None:
    """`moment` as an exact count (an index of 10,000 verdicts pickles ints many times faster than datetimes
    with their time zones)."""
    return None if moment is None else (moment - _EPOCH) // timedelta(microseconds=1)


class RepositoryVerdict(NamedTuple):
    """What `check` concludes from the files that are not incidents or maintenance (RCAs, macros, glossary)."""

    problems: tuple[Problem, ...]  # found while loading the RCAs
    rca_ids: frozenset[str]
    rca_incidents: tuple[tuple[str, int, str], ...]  # (path, line, incident id) of each RCA
    head: tuple[Problem, ...]  # macro and glossary problems
    middle: tuple[Problem, ...]  # RCA text problems
    tail: tuple[Problem, ...]  # RCA evidence links, completeness
    drafts: tuple[Problem, ...]  # RCA draft warnings


def item_verdict(root: Path, file: Path, data: bytes | None, model, config: Config, glossary, guardrail,
                 alone: Repository) -> tuple[ItemVerdict, tuple | None]:
    """The verdict on one item file from its bytes, and the loaded `(item, source)` (None if it does not load).
    `guardrail` is `comms.checks.guardrail_of(config)`; `alone` a repository holding only the configuration."""
    value, source, found = _load_file(root, file, data, model, config)
    if value is None or any(p.level == "error" for p in found):
        return ItemVerdict(tuple(found), None, 0, None, 0, (), (), None, False, None), None
    loaded = Loaded(alone, {value.id: source}, root)
    texts, evidence = ([], []) if value.draft else _comms().item_communication_problems(loaded, value, guardrail,
                                                                                        glossary)
    draft = loaded.problem(value.id, ("draft",), DRAFT_MESSAGE, level="warning") if value.draft else None
    line = source.doc.line_of
    if isinstance(value, Incident):
        rca, rca_line = (value.rca, line(("rca",))) if value.rca else (None, 0)
        timed, until = not value.draft, value.resolved_at
    else:
        rca, rca_line = None, 0
        timed, until = not value.draft and value.emergency is None, value.scheduled_for
    verdict = ItemVerdict(tuple(found), value.id, line(("id",)), rca, rca_line, tuple(texts), tuple(evidence),
                          draft, timed, _microseconds(until))
    return verdict, (value, source)


def repository_verdict(root: Path, config: Config, glossary, glossary_problems) -> RepositoryVerdict:
    """The verdict on the RCAs, the macro files and the glossary file (read here)."""
    problems: list[Problem] = []
    rcas = load_rcas(root, config, problems)
    references = tuple((rca.path, 1 + _front_line(root / rca.path, "incident"), rca.incident) for rca in rcas)
    repository = Repository(config=config, incidents=(), maintenance=(), rcas=tuple(rcas))
    loaded = Loaded(repository, {}, root, glossary, tuple(glossary_problems), _read_macros(root))
    head, middle, tail = _comms().repository_communication_problems(loaded)
    return RepositoryVerdict(tuple(problems), frozenset(rca.id for rca in rcas), references, tuple(head),
                             tuple(middle), tuple(tail), tuple(_rca_draft_warnings(loaded)))


def check_repository(root: Path, now: datetime, progress: StageTimer | None = None,
                     cache: Cache | None = None) -> list[Problem]:
    """Every problem of the repository at `root`, using its `.statusgen-cache/` unless `cache` is given.

    Each file's verdict (`ItemVerdict`) is kept in a stat index (`content.index`) under the hash of its bytes
    and the context (rules, status.yaml, glossary): a warm check stats the files, reads only those whose stamp
    changed, and judges the rest from their stored verdicts; the checks across files (unique ids, RCA
    references) and the time-dependent ones (updates due, maintenance notice) run every time, the latter on the
    few items they can still concern. Cold or warm, the problems come out in the same order."""
    progress = progress or StageTimer("check")
    cache = cache if cache is not None else Cache.of(root)
    root = Path(root)
    with progress.stage("scan"):
        try:
            refuse_outside_links(root)
            settings = _settings(root)
            config = load_config(root)
        except LoadFailed as failed:
            return failed.problems
        index = FileIndex.open(cache, "check", verdict_context(settings))
        items = [(_rel(root, path), path, status, model)
                 for directory, model in ((INCIDENT_DIR, Incident), (MAINTENANCE_DIR, Maintenance))
                 for path, status in content_entries(root, directory, (".yaml", ".yml"))]
        others = [entry for directory in (RCA_DIR, MACRO_DIR) for entry in _all_entries(root, directory)]
    glossary_read = None
    alone = Repository(config=config, incidents=(), maintenance=(), rcas=())
    guardrail = None  # the guardrail's settings, made when a verdict must be derived
    verdicts: list[tuple[ItemVerdict, type]] = []
    concerned: dict[int, tuple] = {}  # position in `verdicts` -> (item, source) loaded in this run
    with progress.stage("load", len(items)) as advance:
        for rel, path, status, model in items:
            verdict, data, sha = None, None, None
            if stat.S_ISREG(status.st_mode):
                try:
                    sha, data, verdict = index.read(rel, path, status)
                    if not isinstance(verdict, ItemVerdict):
                        verdict = None
                        if data is None:
                            data = path.read_bytes()
                            sha = hashlib.sha256(data).hexdigest()
                except OSError as exc:
                    verdict = _unreadable(rel, exc)
            if verdict is None:
                if glossary_read is None:
                    glossary_read = _read_glossary(root)
                    guardrail = _comms().guardrail_of(config)
                verdict, value = item_verdict(root, path, data, model, config, glossary_read[0], guardrail, alone)
                if sha is not None:
                    index.record(rel, status, sha, verdict)
                if value is not None and verdict.concerns(now):
                    concerned[len(verdicts)] = value
            verdicts.append((verdict, model))
            advance(1)
        repository_key = digest(index.context, *_hashes(others, index.read))
        repository = cache.get("check-repository", repository_key)
        if not isinstance(repository, RepositoryVerdict):
            if glossary_read is None:
                glossary_read = _read_glossary(root)
            repository = repository_verdict(root, config, *glossary_read)
            # Kept only if no file changed while it was derived from them (read again, not trusting stamps).
            fresh = digest(index.context, *_hashes(others, lambda rel, path, status: (_sha(path),)))
            if fresh == repository_key and _settings(root) == settings:
                cache.put("check-repository", repository_key, repository)
    with progress.stage("checks"):
        problems = _problems(root, config, verdicts, repository, concerned, items, now)
    index.keep_only({rel for rel, _, _, _ in items} | {rel for rel, _, _ in others})
    if _settings(root) == settings:  # else status.yaml or the glossary changed during the run: keep nothing
        index.save()
    return problems


def _problems(root: Path, config: Config, verdicts: list[tuple[ItemVerdict, type]], repository: RepositoryVerdict,
              concerned: dict[int, tuple], items, now: datetime) -> list[Problem]:
    """The problems of the whole repository from the verdicts on its files, in the order of `load_content`
    (the load fails: its problems) or of `content_checks` (it loads: every check's)."""
    problems = [problem for verdict, _ in verdicts for problem in verdict.problems]
    loaded = [(verdict, model) for verdict, model in verdicts if verdict.id is not None]
    first_seen: dict[str, str] = {}
    for position, (verdict, model) in enumerate(verdicts):
        if verdict.id is None:
            continue
        rel = items[position][0]
        if verdict.id in first_seen and first_seen[verdict.id] != rel:
            problems.append(Problem(rel, verdict.id_line, "id", f"expected a unique id, got {verdict.id!r} which "
                                                               f"{first_seen[verdict.id]} already uses"))
        else:
            first_seen[verdict.id] = rel
    problems += repository.problems
    for position, (verdict, model) in enumerate(verdicts):
        if model is Incident and verdict.rca and verdict.rca not in repository.rca_ids:
            problems.append(Problem(items[position][0], verdict.rca_line, "rca",
                                    f"expected the id of an RCA in {RCA_DIR}/ ({verdict.rca}.<lang>.md), found none"))
    incidents = [verdict.id for verdict, model in loaded if model is Incident]
    # A broken incident file may be the one an RCA points at: report the file, not a cascade of references.
    if len(incidents) == sum(1 for _, model in verdicts if model is Incident):
        known = set(incidents)
        for path, line, incident in repository.rca_incidents:
            if incident not in known:
                problems.append(Problem(path, line, "incident",
                                        f"expected the id of an incident in {INCIDENT_DIR}/, got {incident!r}"))
    if any(p.level == "error" for p in problems):
        return problems
    timed = _concerned_items(root, config, verdicts, concerned, items, now)
    return (list(repository.head) + [p for verdict, _ in loaded for p in verdict.texts] + list(repository.middle)
            + [p for verdict, _ in loaded for p in verdict.evidence] + list(repository.tail)
            + maintenance_notice_problems(timed, now) + update_due_warnings(timed, now)
            + [verdict.draft for verdict, _ in loaded if verdict.draft is not None] + list(repository.drafts))


def _concerned_items(root: Path, config: Config, verdicts, concerned: dict[int, tuple], items, now) -> Loaded:
    """The items the time-dependent checks may concern at `now`, loaded (from this run, or read again)."""
    chosen = []
    for position, (verdict, model) in enumerate(verdicts):
        if verdict.id is None or not verdict.concerns(now):
            continue
        value = concerned.get(position)
        if value is None:
            path = items[position][1]
            try:
                item, source, found = _load_file(root, path, path.read_bytes(), model, config)
            except OSError:
                continue
            if item is None or any(p.level == "error" for p in found):
                continue  # changed since it was judged: the next check judges it again
            value = (item, source)
        chosen.append((value, model))
    incidents = [value for value, model in chosen if model is Incident]
    maintenance = [value for value, model in chosen if model is Maintenance]
    repository = Repository(config=config, incidents=tuple(i for i, _ in incidents),
                            maintenance=tuple(m for m, _ in maintenance), rcas=())
    return Loaded(repository, {item.id: source for item, source in [*incidents, *maintenance]}, root)


def _comms():
    """The communication checks, imported when a verdict must be derived: a check that finds every verdict in
    its index never loads the guardrail's detectors (a good part of a warm check's start-up)."""
    from .comms import checks

    return checks


def _rel(root: Path, path: Path) -> str:
    """`path` relative to `root`, as shown to the user (without pathlib's slow `relative_to` when possible)."""
    text, prefix = str(path), str(root) + os.sep
    if text.startswith(prefix):
        return text[len(prefix):].replace(os.sep, "/")
    return path.relative_to(root).as_posix()


def _unreadable(rel: str, exc: OSError) -> ItemVerdict:
    return ItemVerdict((Problem(rel, 1, "", f"expected a readable file, got {exc.strerror or exc}"),), None, 0,
                       None, 0, (), (), None, False, None)


def _hashes(entries, read) -> list[str]:
    """rel, hash, rel, hash... of the entries (`_all_entries`), each hash from `read(rel, path, status)[0]`."""
    parts: list[str] = []
    for rel, path, status in entries:
        try:
            parts += [rel, read(rel, path, status)[0] if status is not None else "not a file"]
        except OSError as exc:
            parts += [rel, f"unreadable: {exc.strerror or exc}"]
    return parts


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _settings(root: Path) -> tuple[bytes, bytes]:
    """The bytes of status.yaml and of the glossary, which every verdict depends on."""
    found = []
    for name in (CONFIG_FILE, GLOSSARY_FILE):
        try:
            found.append(b"file:" + (root / name).read_bytes())
        except OSError as exc:
            found.append(f"{type(exc).__name__}".encode())
    return tuple(found)


def _all_entries(root: Path, directory: str) -> list[tuple[str, Path, os.stat_result | None]]:
    """Every entry under `root/directory` with its stat (None: not a regular file), by path."""
    base = root / directory
    if not base.is_dir():
        return []
    found = []
    for path in base.rglob("*"):
        try:
            status = os.stat(path)
        except (OSError, ValueError):
            status = None
        found.append((_rel(root, path), path,
                      status if status is not None and stat.S_ISREG(status.st_mode) else None))
    found.sort(key=lambda entry: entry[1].parts)
    return found
