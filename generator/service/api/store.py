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
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import git
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
    content_files,
    duplicate_id_problem,
    load_config,
    load_item,
    load_rcas,
    missing_rca_problem,
)
from ...content.model import Config, Incident, Maintenance, is_valid_id
from ...content.yamlsource import YamlSyntaxError, parse_yaml

SCHEMA_LINE = "# yaml-language-server: $schema=../../schemas/incident.schema.json\n"
_TIME = "tag:yaml.org,2002:timestamp"
log = logging.getLogger("statusgen.api")
JOURNAL = "statusgen-pending.json"  # in .git: the write whose commit does not exist yet
KEY_TRAILER = "Idempotency-Key"
DIGEST_TRAILER = "Request-Digest"
KEY_RETENTION = "24 hours ago"  # keys are honoured for a day, as Stripe does


@dataclass(frozen=True)
class Author:
    name: str
    email: str


@dataclass(frozen=True)
class Written:
    incident: Incident
    path: str  # relative to the repository root
    commit: str


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


def incident_yaml(incident: Incident) -> str:
    """The incident file's text, fields in the model's order, defaults left out, like the shipped sample."""
    data = incident.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude={"schema_"})
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000,
                     default_flow_style=False, indent=2)
    return SCHEMA_LINE + body


def read_incident(file: Path) -> Incident | None:
    """The incident in `file`, or None when it does not load on its own (reported by `statusgen check`)."""
    try:
        doc = parse_yaml(file.read_text(encoding="utf-8"))
        return Incident.model_validate(doc.value)
    except (OSError, UnicodeDecodeError, YamlSyntaxError, ValueError):
        return None


@dataclass(frozen=True)
class _Entry:
    stamp: tuple[int, int, int]
    item: Incident | Maintenance | None  # None when the file does not load
    source: Source | None
    problems: tuple[Problem, ...]


def _stamp(file: Path) -> tuple[int, int, int]:
    info = file.stat()
    return info.st_mtime_ns, info.st_size, info.st_ino


def _content_stamps(root: Path, directory: str, suffixes: tuple[str, ...]) -> list[tuple[str, tuple[int, int, int]]]:
    """(relative path, stamp) of the files `content_files` lists, from one scandir walk (a pathlib walk
    with a stat per file was most of a refresh at thousands of files)."""
    found = []
    prefix = len(str(root)) + 1
    pending = [str(root / directory)]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            elif entry.name.endswith(suffixes) and not entry.name.startswith(".") and entry.is_file():
                info = entry.stat()
                found.append((entry.path[prefix:].replace(os.sep, "/"), (info.st_mtime_ns, info.st_size, info.st_ino)))
    return sorted(found)


class ContentIndex:
    """Every incident and maintenance file, loaded with `load_item` and kept by its stat stamp, and the RCAs:
    what the write path needs to know about the other files (their ids, whether they load, the RCA ids).
    `refresh` re-reads only the files whose size, mtime or inode changed (an engineer's commit, a sync)."""

    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._config_stamp: tuple[int, int, int] | None = None
        self._config_problems: list[Problem] = []
        self._rca_stamp: tuple = ()
        self._rca_problems: list[Problem] = []
        self.rca_ids: set[str] = set()
        self._rca_incidents: list = []
        self._derived: tuple | None = None  # _derive(), until a file changes
        self.config: Config = load_config(root)
        self._config_stamp = _stamp(root / CONFIG_FILE)
        self.scanned = False  # the first refresh reads every file; the server does it at start


    def refresh(self) -> None:
        with self._lock:
            changed = self._refresh_config()
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
            changed = self._refresh_rcas() or changed
            self.scanned = True
            if changed:
                self._derived = None

    def _refresh_config(self) -> None:
        try:
            stamp = _stamp(self.root / CONFIG_FILE)
        except OSError:
            stamp = None
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

    def _refresh_rcas(self) -> None:
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
            self._entries[rel] = _Entry(_stamp(file), item, source, ())


class IncidentStore:
    def __init__(self, root: Path, now=lambda: datetime.now(timezone.utc)):
        self.root = Path(root).resolve()
        self.now = now
        self._lock = threading.Lock()
        self._writer = threading.local()  # `active` inside writing(): the index was refreshed under the lock
        self._repo = git.Repo(self.root)
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
        with self._lock:
            lock_file = Path(self._repo.git_dir) / "statusgen-write.lock"
            with open(lock_file, "w") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

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
        journal = Path(self._repo.git_dir) / JOURNAL
        _write_durably(journal, json.dumps({"path": rel}).encode())
        created_dir = not file.parent.exists()
        file.parent.mkdir(parents=True, exist_ok=True)
        try:
            _write_durably(file, text.encode("utf-8"))
            commit = self._commit(rel, author, message)
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
        return Written(loaded[0], rel, commit)

    def _restore(self, rel: str) -> None:
        """Put `rel` back as HEAD has it (or remove it when HEAD has none), in the work tree and the index."""
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

    def _signing_configured(self) -> bool:
        reader = self._repo.config_reader()
        return bool(reader.get_value("user", "signingkey", "")) or str(
            reader.get_value("commit", "gpgsign", "false")).lower() == "true"

    def _commit(self, rel: str, author: Author, message: str) -> str:
        # git itself, not GitPython's index: it reads and writes a large index in C (GitPython's pure-Python
        # index handling was most of a write at thousands of files) and signs with the configured key.
        reader = self._repo.config_reader()
        env = {**os.environ,
               "GIT_COMMITTER_NAME": str(reader.get_value("user", "name", "") or author.name),
               "GIT_COMMITTER_EMAIL": str(reader.get_value("user", "email", "") or author.email)}
        run = lambda *args: subprocess.run(  # noqa: E731
            ["git", "-C", str(self.root), *args], check=True, capture_output=True, text=True, env=env).stdout
        sign = ["-S"] if self._signing_configured() else []
        # add + commit of the index, as GitPython's index did: `commit -- <path>` builds a second temporary
        # index, which took twice as long with thousands of files.
        run("add", "--", rel)
        run("commit", "-q", *sign, f"--author={author.name} <{author.email}>", "-m", message)
        return self._repo.head.commit.hexsha


def _write_durably(file: Path, data: bytes) -> None:
    """Replace `file` with `data` atomically (a temporary file renamed over it) and on disk (fsync)."""
    temp = file.with_name(f".{file.name}.statusgen-tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, file)
