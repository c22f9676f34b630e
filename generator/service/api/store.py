"""Incident files as the API's database: read them, write them in the shipped layout, validate, commit.

A write is all or nothing: the new file's text is checked with the rules of `statusgen check` for that
file (`load_item` + `item_checks`) and against the cross-file index (ids across incidents and maintenance,
RCA references) before anything touches the disk. The index (`ContentIndex`) knows every content file by
its stat stamp and re-reads only files that changed, so a write costs one file, not the whole history.
A repository that does not load (another file broken) refuses writes with the broken paths.

Writes are serialized twice: a thread lock for the server's worker threads and an flock on
`.git/statusgen-write.lock` for other processes (`statusgen sync`). A write is journaled in
`.git/statusgen-pending.json` until its commit exists; a process killed in between leaves the journal,
and the next start puts the file back as committed (the client got no answer, so it retries). A commit
made with an `Idempotency-Key` carries the key and the request's digest as trailers, so a retry after a
lost answer is answered from the commit instead of applied twice.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import stat
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from pathlib import Path

import git
import pygit2
import yaml

from ...check import item_checks
from ...content.load import (
    CONFIG_FILE,
    INCIDENT_DIR,
    MAINTENANCE_DIR,
    RCA_DIR,
    LoadFailed,
    Problem,
    Source,
    content_entries,
    content_files,
    duplicate_id_problem,
    load_config,
    load_item,
    load_rcas,
    missing_rca_problem,
)
from ...content.index import Stamp, stamp_of
from ...content.model import Config, Incident, Maintenance, is_valid_id
from ...content.yamlsource import YamlSyntaxError, parse_yaml
from .watch import ContentWatch

SCHEMA_LINE = "# yaml-language-server: $schema=../../schemas/incident.schema.json\n"
_TIME = "tag:yaml.org,2002:timestamp"
log = logging.getLogger("statusgen.api")
JOURNAL = "statusgen-pending.json"  # in .git: the write whose commit does not exist yet
KEY_TRAILER = "Idempotency-Key"
DIGEST_TRAILER = "Request-Digest"
KEY_RETENTION = "24 hours ago"  # keys are honoured for a day, as Stripe does
MAINTENANCE_EVERY = 100  # API commits between two `git maintenance run --auto`


@dataclass(frozen=True)
class Author:
    name: str
    email: str


@dataclass(frozen=True)
class Written:
    incident: Incident
    path: str  # relative to the repository root
    commit: str
    at: datetime | None = None  # the commit's time
    author: Author | None = None
    previous: Incident | None = None  # the version this write replaced (None: a new incident, or a replay)


@dataclass(frozen=True)
class Request:
    """What a write was asked for, for idempotent retries: the client's key and the request's digest."""

    key: str
    digest: str


class Rejected(Exception):
    """The change would make the repository fail `statusgen check`; nothing was written."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class NotFound(KeyError):
    pass


class Broken(Rejected):
    """The repository does not load (files other than the one written are broken): no write until fixed."""


class KeyReused(Exception):
    """An Idempotency-Key already used for a different request."""


class Conflict(Exception):
    pass


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow=False, indentless=False):
        # Lists indented under their key ("  - id: kr-ingest"), as in the shipped sample files.
        return super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str):
    # Times are written bare, as engineers write them (2025-10-02T10:20:00+09:00); the loader keeps them as
    # text and parses them strictly, so tagging them as timestamps only changes the quoting.
    if yaml.resolver.Resolver.resolve(dumper, yaml.ScalarNode, value, (True, False)) == _TIME:
        return dumper.represent_scalar(_TIME, value)
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)


def _dump(data) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000,
                     default_flow_style=False, indent=2)


def incident_yaml(incident: Incident) -> str:
    """The incident file's text, fields in the model's order, defaults left out, like the shipped sample.

    `updates` is the last field and the bulk of a long incident; a written update never changes, so each
    is dumped once (`_update_yaml`) and the file is the other fields' dump followed by them."""
    data = incident.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude={"schema_", "updates"})
    updates = "".join(_update_yaml(json.dumps(update.model_dump(mode="json", by_alias=True, exclude_defaults=True),
                                              ensure_ascii=False)) for update in incident.updates)
    return SCHEMA_LINE + _dump(data) + "updates:\n" + updates


@lru_cache(maxsize=8192)
def _update_yaml(update: str) -> str:
    """One update (its JSON) as an item of the `updates:` list: the dump of a one-item list, indented as the
    list is (its lines moved right by two spaces, the empty lines of a quoted text left empty)."""
    return "".join(f"  {line}" if line.strip("\n") else line
                   for line in _dump([json.loads(update)]).splitlines(keepends=True))


def read_incident(file: Path) -> Incident | None:
    """The incident in `file`, or None when it does not load on its own (reported by `statusgen check`)."""
    try:
        doc = parse_yaml(file.read_text(encoding="utf-8"))
        return Incident.model_validate(doc.value)
    except (OSError, UnicodeDecodeError, YamlSyntaxError, ValueError):
        return None


@dataclass(frozen=True)
class _Entry:
    stamp: Stamp
    item: Incident | Maintenance | None  # None when the file does not load
    source: Source | None
    problems: tuple[Problem, ...]


def file_stamp(file: Path) -> Stamp | None:
    """The file's stamp, or None when it is not there."""
    try:
        return stamp_of(file.stat())
    except OSError:
        return None


def _content_stamps(root: Path, directory: str, suffixes: tuple[str, ...]) -> list[tuple[str, Stamp]]:
    """(relative path, stamp) of the content files (`content_entries`: one scandir walk, one stat each)."""
    return [(path.relative_to(root).as_posix(), stamp_of(info))
            for path, info in content_entries(root, directory, suffixes) if stat.S_ISREG(info.st_mode)]


class ContentIndex:
    """Every incident and maintenance file, loaded with `load_item` and kept by its stat stamp, and the RCAs:
    what the write path needs to know about the other files (their ids, whether they load, the RCA ids).
    `refresh` re-reads only the files whose size, mtime or inode changed (an engineer's commit, a sync)."""

    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._config_stamp: Stamp | None = None
        self._config_problems: list[Problem] = []
        self._rca_stamp: tuple = ()
        self._rca_problems: list[Problem] = []
        self.rca_ids: set[str] = set()
        self._rca_incidents: list = []
        self._derived: tuple | None = None  # _derive(), until a file changes
        self.config: Config = load_config(root)
        self._config_stamp = file_stamp(root / CONFIG_FILE)
        self._watch: ContentWatch | None = None
        self.scanned = False  # the first refresh reads every file; the server does it at start


    def refresh(self) -> None:
        with self._lock:
            changed = self._refresh_config()
            touched = self._touched() if self.scanned and not changed else None
            if touched is None:
                changed = self._walk() or changed
                changed = self._refresh_rcas() or changed
            else:
                changed = self._reread(touched)
            self.scanned = True
            if changed:
                self._derived = None

    def _touched(self) -> set[str] | None:
        """The paths changed since the last refresh (from `ContentWatch`), or None: walk every file."""
        if self._watch is None:
            return None
        return self._watch.changes()

    def _walk(self) -> bool:
        """Compare every incident and maintenance file's stamp with the index (re-reading the changed)."""
        if self._watch is None and not self.scanned:
            # Watch before the first walk, so that nothing changed during the walk goes unnoticed.
            try:
                self._watch = ContentWatch(self.root, (INCIDENT_DIR, MAINTENANCE_DIR, RCA_DIR))
            except OSError as exc:
                log.info("no content watch (%s): every refresh compares every file's stamp", exc)
        changed = False
        seen = set()
        for directory, model in ((INCIDENT_DIR, Incident), (MAINTENANCE_DIR, Maintenance)):
            for rel, stamp in _content_stamps(self.root, directory, (".yaml", ".yml")):
                seen.add(rel)
                entry = self._entries.get(rel)
                if entry is None or entry.stamp != stamp:
                    self._entries[rel] = self._read(self.root / rel, model, stamp)
                    changed = True
        for rel in set(self._entries) - seen:
            del self._entries[rel]
            changed = True
        return changed

    def _reread(self, touched: set[str]) -> bool:
        """Bring the index up to date for the `touched` paths only."""
        models = {INCIDENT_DIR: Incident, MAINTENANCE_DIR: Maintenance}
        changed = any(rel.startswith(RCA_DIR + "/") for rel in touched) and self._refresh_rcas()
        for rel in touched:
            top, _, rest = rel.partition("/")
            name = rel.rpartition("/")[2]
            if top not in models or not rest or name.startswith(".") or not name.endswith((".yaml", ".yml")):
                continue
            try:
                info = os.stat(self.root / rel)
                stamp = stamp_of(info) if stat.S_ISREG(info.st_mode) else None
            except OSError:
                stamp = None
            entry = self._entries.get(rel)
            if stamp is None:
                if entry is not None:
                    del self._entries[rel]
                    changed = True
            elif entry is None or entry.stamp != stamp:
                self._entries[rel] = self._read(self.root / rel, models[top], stamp)
                changed = True
        return changed

    def _refresh_config(self) -> bool:
        stamp = file_stamp(self.root / CONFIG_FILE)
        if stamp == self._config_stamp:
            return False
        self._config_stamp = stamp
        try:
            self.config, self._config_problems = load_config(self.root), []
        except LoadFailed as failed:
            self._config_problems = failed.problems
        self._entries.clear()  # every file's rules depend on the configuration
        self._rca_stamp = ()
        return True

    def _refresh_rcas(self) -> bool:
        stamp = tuple(_content_stamps(self.root, RCA_DIR, (".md",)))
        if stamp == self._rca_stamp:
            return False
        self._rca_stamp = stamp
        problems: list[Problem] = []
        rcas = load_rcas(self.root, self.config, problems)
        self._rca_problems = [p for p in problems if p.level == "error"]
        self.rca_ids = {rca.id for rca in rcas}
        self._rca_incidents = [(rca.path, rca.incident) for rca in rcas]
        return True

    def _read(self, file: Path, model, stamp) -> _Entry:
        problems: list[Problem] = []
        loaded = load_item(self.root, file, model, self.config, problems)
        errors = tuple(p for p in problems if p.level == "error")
        item, source = loaded if loaded else (None, None)
        return _Entry(stamp, item, source, errors)

    def _ordered(self) -> list[tuple[str, _Entry]]:
        # The order of `load_content`: incidents, then maintenance, each by path.
        return sorted(self._entries.items(), key=lambda kv: (not kv[0].startswith(INCIDENT_DIR + "/"), kv[0]))

    def _derive(self) -> tuple[dict[str, list[str]], list[Problem]]:
        """(id -> the files holding it, in load order; the errors that make `load_content` fail), computed
        once per change of the files, not per write."""
        if self._derived is not None:
            return self._derived
        holders: dict[str, list[str]] = {}
        problems: list[Problem] = []
        first_seen: dict[str, str] = {}
        incident_ids = set()
        all_loaded = True
        for rel, entry in self._ordered():
            problems += entry.problems
            if entry.item is None:
                all_loaded = all_loaded and not rel.startswith(INCIDENT_DIR + "/")
                continue
            holders.setdefault(entry.item.id, []).append(rel)
            duplicate = duplicate_id_problem(entry.item.id, entry.source, first_seen)
            if duplicate:
                problems.append(duplicate)
                continue
            first_seen[entry.item.id] = rel
            if isinstance(entry.item, Incident):
                incident_ids.add(entry.item.id)
                missing = missing_rca_problem(entry.item, entry.source, self.rca_ids)
                if missing:
                    problems.append(missing)
        problems += self._rca_problems
        if all_loaded:
            problems += [Problem(path, 1, "incident", f"expected the id of an incident in {INCIDENT_DIR}/, got {ref!r}")
                         for path, ref in self._rca_incidents if ref not in incident_ids]
        self._derived = holders, problems
        return self._derived

    def ids(self) -> dict[str, str]:
        """id -> the file that holds it first, over incidents and maintenance."""
        return {item_id: rels[0] for item_id, rels in self._derive()[0].items()}

    def holder(self, item_id: str, excluding: str) -> str | None:
        """The file other than `excluding` that holds the id `item_id`, if any."""
        return next((rel for rel in self._derive()[0].get(item_id, ()) if rel != excluding), None)

    def broken(self) -> list[Problem]:
        """The errors that make `load_content` fail, from the index: what `statusgen check` reports first."""
        if self._config_problems:
            return list(self._config_problems)
        return list(self._derive()[1])

    def incident(self, incident_id: str) -> tuple[Path, Incident]:
        rel = next(iter(self._derive()[0].get(incident_id, ())), None)
        entry = self._entries.get(rel) if rel else None
        if entry is None or not isinstance(entry.item, Incident):
            raise NotFound(incident_id)
        return self.root / rel, entry.item

    def item_at(self, rel: str) -> Incident | Maintenance | None:
        """The item the file `rel` held when last read (None: no such file, or it did not load)."""
        entry = self._entries.get(rel)
        return entry.item if entry else None

    def incidents(self) -> list[Incident]:
        return [e.item for e in self._entries.values() if isinstance(e.item, Incident)]

    def note_written(self, file: Path, item: Incident, source: Source) -> None:
        """The file the API just wrote, as validated: no need to read it back."""
        with self._lock:
            rel = file.relative_to(self.root).as_posix()
            before = self._entries.get(rel)
            if before is None or before.problems or before.item is None or before.item.id != item.id \
                    or getattr(before.item, "rca", None) != item.rca:
                self._derived = None
            self._entries[rel] = _Entry(stamp_of(file.stat()), item, source, ())


class IncidentStore:
    def __init__(self, root: Path, now=lambda: datetime.now(timezone.utc)):
        self.root = Path(root).resolve()
        self.now = now
        self._lock = threading.Lock()
        self._writer = threading.local()  # `active` inside writing(): the index was refreshed under the lock
        self._repo = git.Repo(self.root)
        self._commits = 0
        self._pygit2: pygit2.Repository | None = None
        self._trees: _TreeEditor | None = None
        self._queue = threading.Lock()  # guards _queued: threads waiting for the write lock
        self._queued = 0
        self._flock = None  # the open lock file while this process holds the flock
        self._unwritten: set[str] = set()  # files committed whose git index entry is not on disk yet
        self._index_stamp = None  # .git/index as this process last wrote it
        self.index = ContentIndex(self.root)
        with self._locked():
            self._recover()
        self._keys = self._recent_keys()

    @property
    def config(self) -> Config:
        return self.index.config

    # ------------------------------------------------------------ reading

    def files(self) -> list[Path]:
        return content_files(self.root, INCIDENT_DIR, (".yaml", ".yml"))

    def find(self, incident_id: str) -> tuple[Path, Incident]:
        # An id that cannot be valid names no file: never hand it to the file system (a glob pattern, a
        # name longer than the file system allows).
        if not is_valid_id(incident_id):
            raise NotFound(incident_id)
        if not self.index.scanned:
            # One look-up from the command line (`statusgen notify`): the file named after the id, if it is
            # there, rather than reading every incident first.
            for file in sorted((self.root / INCIDENT_DIR).glob(f"*/{incident_id}.yaml")):
                incident = read_incident(file)
                if incident is not None and incident.id == incident_id:
                    return file, incident
        if not getattr(self._writer, "active", False):
            self.index.refresh()
        return self.index.incident(incident_id)

    def get(self, incident_id: str) -> Incident:
        return self.find(incident_id)[1]

    def list(self) -> list[Incident]:
        self.index.refresh()
        return sorted(self.index.incidents(), key=lambda i: i.detected_at, reverse=True)

    def path_for(self, incident: Incident) -> Path:
        region = next((r for r in self.config.regions if r.id == incident.region), None)
        moment = incident.detected_at.astimezone(region.tz) if region else incident.detected_at
        return self.root / INCIDENT_DIR / str(moment.year) / f"{incident.id}.yaml"

    # ------------------------------------------------------------ writing

    @contextmanager
    def _locked(self):
        """The write lock: a thread lock for this process's request threads, and an flock on
        `.git/statusgen-write.lock` for other processes, held while this process has writers queued (a burst
        of writes holds it once), released with the git index written (see `_commit`)."""
        with self._queue:
            self._queued += 1
        with self._lock:
            with self._queue:
                self._queued -= 1
            if self._flock is None:
                handle = open(Path(self._repo.git_dir) / "statusgen-write.lock", "w")
                fcntl.flock(handle, fcntl.LOCK_EX)
                self._flock = handle
            try:
                yield
            finally:
                with self._queue:
                    last = self._queued == 0
                if last:
                    try:
                        self._write_index()
                    finally:
                        fcntl.flock(self._flock, fcntl.LOCK_UN)
                        self._flock.close()
                        self._flock = None

    @contextmanager
    def writing(self):
        """Hold the write lock (threads and processes) for a read-modify-write; the index is current inside."""
        with self._locked():
            self.index.refresh()
            self._writer.active = True
            try:
                yield
            finally:
                self._writer.active = False

    def refuse_if_broken(self) -> None:
        """Raise Broken when the repository does not load; the caller holds `writing()`."""
        problems = self.index.broken()
        if problems:
            raise Broken(problems)

    def replay(self, request: Request) -> Written | None:
        """The write an earlier request with this key made, or None; KeyReused when the key was used for a
        different request. The caller holds `writing()`."""
        known = self._keys.get(request.key)
        if known is None:
            return None
        digest, commit, rel = known
        if digest != request.digest:
            raise KeyReused(request.key)
        text = self._repo.git.show(f"{commit}:{rel}")
        return Written(Incident.model_validate(parse_yaml(text).value), rel, commit)

    def create(self, incident: Incident, author: Author, message: str, request: Request | None = None) -> Written:
        """Write a new incident file and commit it; the caller holds `writing()`."""
        owner = self.index.ids().get(incident.id)
        if owner is not None:
            raise Conflict(f"the id {incident.id!r} is already used by {owner}")
        file = self.path_for(incident)
        if file.exists():
            raise Conflict(f"{file.relative_to(self.root).as_posix()} exists already")
        return self._write(file, incident, author, message, request)

    def replace(self, file: Path, incident: Incident, author: Author, message: str,
                request: Request | None = None) -> Written:
        """Rewrite an existing incident file and commit it; the caller holds `writing()`."""
        return self._write(file, incident, author, message, request)

    def problems_of(self, file: Path, text: str) -> tuple[list[Problem], tuple[Incident, Source] | None]:
        """The errors `statusgen check` would report for `file` holding `text`, with the other files as the
        index knows them: the file's own rules (`load_item`, `item_checks`) and the cross-file ones."""
        rel = file.relative_to(self.root).as_posix()
        problems: list[Problem] = []
        loaded = load_item(self.root, file, Incident, self.config, problems, text=text)
        if loaded is not None:
            incident, source = loaded
            holder = self.index.holder(incident.id, excluding=rel)
            for problem in (duplicate_id_problem(incident.id, source, {incident.id: holder} if holder else {}),
                            missing_rca_problem(incident, source, self.index.rca_ids)):
                if problem:
                    problems.append(problem)
            problems += item_checks(self.root, self.config, incident, source, self.now())
        return [p for p in problems if p.level == "error"], loaded

    def _write(self, file: Path, incident: Incident, author: Author, message: str,
               request: Request | None) -> Written:
        rel = file.relative_to(self.root).as_posix()
        text = incident_yaml(incident)
        problems, loaded = self.problems_of(file, text)
        if problems or loaded is None:
            raise Rejected(problems)
        self.refuse_if_broken()
        if request is not None:
            message += f"\n\n{KEY_TRAILER}: {request.key}\n{DIGEST_TRAILER}: {request.digest}\n"
        previous = self.index.item_at(rel)
        journal = Path(self._repo.git_dir) / JOURNAL
        _write_durably(journal, json.dumps({"path": rel}).encode())
        created_dir = not file.parent.exists()
        file.parent.mkdir(parents=True, exist_ok=True)
        try:
            _write_durably(file, text.encode("utf-8"))
            commit, at = self._commit(rel, author, message)
        except BaseException:
            self._restore(rel)
            if created_dir and file.parent.exists() and not any(file.parent.iterdir()):
                file.parent.rmdir()
            journal.unlink(missing_ok=True)
            raise
        journal.unlink(missing_ok=True)
        self.index.note_written(file, *loaded)
        if request is not None:
            self._keys[request.key] = (request.digest, commit, rel)
        return Written(loaded[0], rel, commit, at, author, previous if isinstance(previous, Incident) else None)

    def _restore(self, rel: str) -> None:
        """Put `rel` back as HEAD has it (or remove it when HEAD has none), in the work tree and the index."""
        self._write_index()
        run = lambda *args: subprocess.run(["git", "-C", str(self.root), *args],  # noqa: E731
                                           capture_output=True, text=True)
        run("reset", "-q", "--", rel)
        if run("cat-file", "-e", f"HEAD:{rel}").returncode == 0:
            run("checkout", "HEAD", "--", rel)
        else:
            (self.root / rel).unlink(missing_ok=True)

    def _recover(self) -> None:
        """Finish a write interrupted by a crash (SIGKILL, power loss): the journal names the file written
        without a commit. Its request got no answer, so the client retries it: put the file back as committed
        rather than commit it, so the retry does not apply it twice."""
        git_dir = Path(self._repo.git_dir)
        journal = git_dir / JOURNAL
        for temp in (self.root / INCIDENT_DIR).rglob(".*.statusgen-tmp"):
            temp.unlink(missing_ok=True)
            log.warning("recovery: removed %s, a half-written file of an interrupted write",
                        temp.relative_to(self.root).as_posix())
        self._repair_index()
        if not journal.exists():
            return
        try:
            rel = json.loads(journal.read_text(encoding="utf-8"))["path"]
        except (ValueError, KeyError, OSError):
            rel = None
        stale = git_dir / "index.lock"  # left by the killed commit; we hold the write lock, no one else commits
        if stale.exists():
            stale.unlink()
            log.warning("recovery: removed the stale .git/index.lock of an interrupted commit")
        if rel and (self.root / rel).resolve().is_relative_to(self.root):
            dirty = subprocess.run(["git", "-C", str(self.root), "status", "--porcelain", "--", rel],
                                   capture_output=True, text=True).stdout.strip()
            if dirty:
                self._restore(rel)
                log.warning("recovery: discarded the uncommitted write of %s (the request got no answer; "
                            "its retry applies it once)", rel)
            else:
                log.warning("recovery: the interrupted write of %s was committed; nothing to undo", rel)
        journal.unlink()

    def _repair_index(self) -> None:
        """A process killed after a commit but before writing the git index (`_commit` leaves that to the last
        writer of a burst) leaves index entries behind HEAD for files whose work-tree text is HEAD's: `git
        status` would show the change as staged to be undone. Put those entries back to HEAD's."""
        def names(*args: str) -> set[str]:
            done = subprocess.run(["git", "-C", str(self.root), "diff", "--name-only", "-z", *args, "HEAD", "--",
                                   INCIDENT_DIR, MAINTENANCE_DIR], capture_output=True, text=True)
            return set(filter(None, done.stdout.split("\0"))) if done.returncode == 0 else set()

        staged = names("--cached")  # the index differs from HEAD
        behind = sorted(staged - names()) if staged else []  # ... while the work tree is HEAD's
        if behind:
            subprocess.run(["git", "-C", str(self.root), "reset", "-q", "--", *behind], capture_output=True)
            log.warning("recovery: the git index was behind the last commit for %d file(s) (a write killed "
                        "before the index was written); set them to the commit", len(behind))

    def _recent_keys(self) -> dict[str, tuple[str, str, str]]:
        """key -> (request digest, commit, path) from the trailers of the last day's commits."""
        out = subprocess.run(
            ["git", "-C", str(self.root), "log", f"--since={KEY_RETENTION}", f"--grep=^{KEY_TRAILER}: ",
             "--name-only", "--format=%x1e%H%x1f%B%x1f"], capture_output=True, text=True).stdout
        keys: dict[str, tuple[str, str, str]] = {}
        for record in out.split("\x1e")[1:]:
            commit, body, names = (record.split("\x1f") + ["", ""])[:3]
            trailers = dict(re.findall(rf"^({KEY_TRAILER}|{DIGEST_TRAILER}): (.+)$", body, re.M))
            paths = names.split()
            if KEY_TRAILER in trailers and DIGEST_TRAILER in trailers and paths:
                keys.setdefault(trailers[KEY_TRAILER], (trailers[DIGEST_TRAILER], commit.strip(), paths[0]))
        return keys

    def _setting(self, name: str) -> str:
        # libgit2's view of the configuration: re-read by it when a config file changes, and cheap per write.
        try:
            return str(self._libgit2().config[name])
        except KeyError:
            return ""

    def _signing_configured(self) -> bool:
        return bool(self._setting("user.signingkey")) or self._setting("commit.gpgsign").lower() in ("true", "yes", "on", "1")

    def _committer(self, author: Author) -> Author:
        """The repository's configured identity commits (the server's), the token's person authors."""
        return Author(self._setting("user.name") or author.name, self._setting("user.email") or author.email)

    def _commit(self, rel: str, author: Author, message: str) -> tuple[str, datetime]:
        """Commit the written file `rel` on top of HEAD; returns the commit's id and time."""
        if self._signing_configured():
            self._write_index()
            return self._commit_signed(rel, author, message)
        # In-process with libgit2: no git process to start. HEAD moves only if it is still the commit the change
        # was made on (create_commit refuses otherwise).
        repo = self._libgit2()
        index = self._git_index()
        if repo.head_is_unborn:
            index.add(rel)
            tree, parents = index.write_tree(), []
        else:
            # HEAD's tree with this one file replaced: only the folders on its path are written again, and
            # nothing else staged in the index is committed with it. The blob is made as `git add` makes it.
            blob = repo.create_blob_fromworkdir(rel)
            mode = index[rel].mode if rel in index else pygit2.enums.FileMode.BLOB
            tree, parents = self._trees.replace(repo.head.peel(pygit2.Commit).tree, rel, blob, mode), \
                [repo.head.target]
        committer = self._committer(author)
        oid = repo.create_commit("HEAD", pygit2.Signature(author.name, author.email),
                                 pygit2.Signature(committer.name, committer.email), _clean_message(message),
                                 tree, parents)
        # The index follows the commit, so `git status` in the checkout stays clean. Writing it (the whole
        # file, every path) is left to the last writer of a burst, which still holds the flock (`_locked`).
        index.add(rel)
        self._unwritten.add(rel)
        self._after_commit()
        commit = repo[oid]
        return str(oid), _commit_time(commit.commit_time, commit.commit_time_offset)

    def _git_index(self) -> pygit2.Index:
        """The git index in memory, with the entries of this process's commits not written yet."""
        index = self._libgit2().index
        stamp = file_stamp(self._index_file())
        if not self._unwritten:
            index.read(False)  # re-read only when it changed on disk
            self._index_stamp = stamp
        elif stamp != self._index_stamp:
            # Someone else wrote the index meanwhile (`git add` in the checkout): take theirs, ours on top.
            index.read(True)
            for rel in self._unwritten:
                index.add(rel)
            self._index_stamp = stamp
        return index

    def _write_index(self) -> None:
        """Write the git index if this process's commits changed it (before any git command reads it)."""
        if self._unwritten and self._pygit2 is not None:
            self._git_index().write()
            self._index_stamp = file_stamp(self._index_file())
            self._unwritten.clear()

    def _index_file(self) -> Path:
        return Path(self._repo.git_dir) / "index"

    def _libgit2(self) -> pygit2.Repository:
        if self._pygit2 is None:
            self._pygit2 = pygit2.Repository(self.root)
            self._trees = _TreeEditor(self._pygit2)
        return self._pygit2

    def _commit_signed(self, rel: str, author: Author, message: str) -> tuple[str, datetime]:
        # git itself signs with the configured key (ssh or gpg), as an engineer's `git commit -S` does.
        committer = self._committer(author)
        env = {**os.environ, "GIT_COMMITTER_NAME": committer.name, "GIT_COMMITTER_EMAIL": committer.email}
        run = lambda *args: subprocess.run(  # noqa: E731
            ["git", "-C", str(self.root), *args], check=True, capture_output=True, text=True, env=env).stdout
        # add + commit of the index: `commit -- <path>` builds a second temporary index, twice as slow.
        run("add", "--", rel)
        run("commit", "-q", "-S", f"--author={author.name} <{author.email}>", "-m", message)
        commit = self._repo.head.commit
        return commit.hexsha, commit.committed_datetime

    def _after_commit(self) -> None:
        """What `git commit` does after each commit and libgit2 does not: let git pack loose objects now and
        then (`git maintenance run --auto` returns at once when there is nothing to do), off the write path."""
        self._commits += 1
        if self._commits % MAINTENANCE_EVERY == 0:
            threading.Thread(target=subprocess.run, daemon=True, kwargs={
                "args": ["git", "-C", str(self.root), "maintenance", "run", "--auto", "--quiet"],
                "capture_output": True}).start()


class _TreeEditor:
    """Trees with one file replaced, keeping the last tree builder of each folder: a burst of writes into the
    same folder (an incident's year) copies that folder's entries into a builder once, not once per write."""

    def __init__(self, repo: pygit2.Repository):
        self.repo = repo
        self._builders: dict[str, tuple[pygit2.Oid, pygit2.TreeBuilder]] = {}  # folder -> (tree it holds, builder)

    def replace(self, tree: pygit2.Tree | None, path: str, blob: pygit2.Oid, mode: int, folder: str = "") -> pygit2.Oid:
        """The id of `tree` (the folder `folder`) with the file at `path` (relative to it) set to `blob`."""
        name, _, rest = path.partition("/")
        builder = self._builder(tree, folder)
        if not rest:
            builder.insert(name, blob, mode)
        else:
            below = tree[name] if tree is not None and name in tree else None
            below = below if isinstance(below, pygit2.Tree) else None
            builder.insert(name, self.replace(below, rest, blob, mode, f"{folder}{name}/"), pygit2.enums.FileMode.TREE)
        written = builder.write()
        self._builders[folder] = (written, builder)
        return written

    def _builder(self, tree: pygit2.Tree | None, folder: str) -> pygit2.TreeBuilder:
        known = self._builders.get(folder)
        if known is not None and tree is not None and known[0] == tree.id:
            return known[1]  # it holds exactly this tree (the one it wrote last)
        return self.repo.TreeBuilder(tree) if tree is not None else self.repo.TreeBuilder()


def _clean_message(message: str) -> str:
    """The message as `git commit -m` stores it: trailing spaces and blank lines at either end removed."""
    return "\n".join(line.rstrip() for line in message.splitlines()).strip() + "\n"


def _commit_time(seconds: int, offset_minutes: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone(timedelta(minutes=offset_minutes)))


def _write_durably(file: Path, data: bytes) -> None:
    """Replace `file` with `data` atomically (a temporary file renamed over it) and on disk (fsync)."""
    temp = file.with_name(f".{file.name}.statusgen-tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, file)
