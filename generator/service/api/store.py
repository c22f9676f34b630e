"""Incident files as the API's database: read them, write them in the shipped layout, validate, commit.

A write is all or nothing: the new file is checked with the rules of `statusgen check`; when the check
fails the previous bytes are put back and nothing is committed. Writes are serialized twice: a thread
lock for the server's worker threads and an flock on `.git/statusgen-write.lock` for other processes
(`statusgen sync`).
"""
from __future__ import annotations

import fcntl
import re
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import git
import yaml

from ...check import content_checks
from ...content.load import INCIDENT_DIR, LoadFailed, Problem, content_files, load_config, load_content
from ...content.model import Config, Incident
from ...content.yamlsource import YamlSyntaxError, parse_yaml

SCHEMA_LINE = "# yaml-language-server: $schema=../../schemas/incident.schema.json\n"
_TIME = "tag:yaml.org,2002:timestamp"


@dataclass(frozen=True)
class Author:
    name: str
    email: str


@dataclass(frozen=True)
class Written:
    incident: Incident
    path: str  # relative to the repository root
    commit: str


class Rejected(Exception):
    """The change would make the repository fail `statusgen check`; nothing was written."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class NotFound(KeyError):
    pass


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


VALID_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,119}")


class IncidentStore:
    def __init__(self, root: Path, now=lambda: datetime.now(timezone.utc)):
        self.root = Path(root).resolve()
        self.now = now
        self.config: Config = load_config(self.root)
        self._lock = threading.Lock()
        self._repo = git.Repo(self.root)

    # ------------------------------------------------------------ reading

    def files(self) -> list[Path]:
        return content_files(self.root, INCIDENT_DIR, (".yaml", ".yml"))

    def find(self, incident_id: str) -> tuple[Path, Incident]:
        # An id that cannot be valid names no file: never hand it to the file system (a glob pattern, a
        # name longer than the file system allows).
        if not VALID_ID.fullmatch(incident_id):
            raise NotFound(incident_id)
        # Files are named after their id by convention; look there first, then everywhere.
        likely = sorted((self.root / INCIDENT_DIR).glob(f"*/{incident_id}.yaml"))
        for file in likely + [f for f in self.files() if f not in likely]:
            incident = read_incident(file)
            if incident is not None and incident.id == incident_id:
                return file, incident
        raise NotFound(incident_id)

    def get(self, incident_id: str) -> Incident:
        return self.find(incident_id)[1]

    def list(self) -> list[Incident]:
        incidents = (read_incident(f) for f in self.files())
        return sorted((i for i in incidents if i is not None), key=lambda i: i.detected_at, reverse=True)

    def path_for(self, incident: Incident) -> Path:
        region = next((r for r in self.config.regions if r.id == incident.region), None)
        moment = incident.detected_at.astimezone(region.tz) if region else incident.detected_at
        return self.root / INCIDENT_DIR / str(moment.year) / f"{incident.id}.yaml"

    # ------------------------------------------------------------ writing

    @contextmanager
    def writing(self):
        """Hold the write lock (threads and processes) for a read-modify-write."""
        with self._lock:
            lock_file = Path(self._repo.git_dir) / "statusgen-write.lock"
            with open(lock_file, "w") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def create(self, incident: Incident, author: Author, message: str) -> Written:
        """Write a new incident file and commit it; the caller holds `writing()`."""
        try:
            self.find(incident.id)
        except NotFound:
            pass
        else:
            raise Conflict(f"an incident with id {incident.id!r} already exists")
        return self._write(self.path_for(incident), incident, author, message)

    def replace(self, file: Path, incident: Incident, author: Author, message: str) -> Written:
        """Rewrite an existing incident file and commit it; the caller holds `writing()`."""
        return self._write(file, incident, author, message)

    def _write(self, file: Path, incident: Incident, author: Author, message: str) -> Written:
        rel = file.relative_to(self.root).as_posix()
        previous = file.read_bytes() if file.exists() else None
        created_dir = not file.parent.exists()
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(incident_yaml(incident), encoding="utf-8")
        try:
            problems = self._problems_in(rel)
            if problems:
                raise Rejected(problems)
            commit = self._commit(rel, author, message)
        except BaseException:
            if previous is None:
                file.unlink(missing_ok=True)
                if created_dir:
                    file.parent.rmdir()
            else:
                file.write_bytes(previous)
            raise
        return Written(read_incident(file) or incident, rel, commit)

    def _problems_in(self, rel: str) -> list[Problem]:
        """The errors `statusgen check` reports for the file `rel` (other files' old problems are not ours)."""
        try:
            problems = content_checks(load_content(self.root), self.now())
        except LoadFailed as failed:
            problems = failed.problems
        return [p for p in problems if p.path == rel and p.level == "error"]

    def _signing_configured(self) -> bool:
        reader = self._repo.config_reader()
        return bool(reader.get_value("user", "signingkey", "")) or str(
            reader.get_value("commit", "gpgsign", "false")).lower() == "true"

    def _committer(self, author: Author) -> git.Actor:
        reader = self._repo.config_reader()
        name = reader.get_value("user", "name", "") or author.name
        email = reader.get_value("user", "email", "") or author.email
        return git.Actor(str(name), str(email))

    def _commit(self, rel: str, author: Author, message: str) -> str:
        if self._signing_configured():
            # GitPython cannot sign; git itself signs with the configured key (gpg or ssh).
            run = lambda *args: subprocess.run(  # noqa: E731
                ["git", "-C", str(self.root), *args], check=True, capture_output=True, text=True).stdout
            run("add", "--", rel)
            run("commit", "-q", "-S", f"--author={author.name} <{author.email}>", "-m", message, "--", rel)
            return run("rev-parse", "HEAD").strip()
        index = self._repo.index
        index.add([rel])
        actor = git.Actor(author.name, author.email)
        return index.commit(message, author=actor, committer=self._committer(author)).hexsha
