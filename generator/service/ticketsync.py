"""Ticket <-> incident sync (mission section G): status, severity and evidence links both ways.

Out: every status or severity change of an incident, as committed in Git, becomes one event per linked
ticket in `.statusgen/sync/outbox.jsonl` (and, optionally, a signed webhook). Event ids are derived from
the commit, so a rerun appends nothing already there.
In: ticket updates (severity, evidence links) read from a JSONL inbox are merged into every incident that
lists the ticket, validated and committed like an API write; applied (or rejected) lines are recorded in
`.statusgen/sync/applied.jsonl` and never applied twice.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import git
from pydantic import ValidationError

from .api.changes import IncidentChange, apply_change
from .api.store import Author, IncidentStore, Rejected, Written, read_incident
from ..content.model import EvidenceLink, Incident, Model, Severity
from .notifier import incident_url
from .webhook import post_signed
from ..content.yamlsource import YamlSyntaxError, parse_yaml

SYNC_DIR = ".statusgen/sync"
OUTBOX = f"{SYNC_DIR}/outbox.jsonl"
INBOX = f"{SYNC_DIR}/inbox.jsonl"
APPLIED = f"{SYNC_DIR}/applied.jsonl"
POSTED = f"{SYNC_DIR}/posted.jsonl"
SYNC_AUTHOR = Author("ticket sync", "ticket-sync@statusgen.invalid")


class TicketUpdate(Model):
    """One line of the inbox: what the ticketing system changed on a ticket."""

    id: str  # unique per update, chosen by the ticketing system
    ticket: str
    severity: Severity | None = None
    evidence: list[EvidenceLink] = []


@dataclass
class SyncReport:
    emitted: list[dict] = field(default_factory=list)
    posted: int = 0
    post_failures: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def _read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def _append(path: Path, rows: list[dict]) -> None:
    if rows:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)


# ---------------------------------------------------------------- out: incident changes -> ticket events


def incident_history(repo: git.Repo, rel: str) -> list[tuple[git.Commit, Incident]]:
    """Each committed version of the incident file `rel` that loads, oldest first."""
    versions = []
    for commit in repo.iter_commits(paths=rel, reverse=True):
        try:
            # `<commit>:<path>` through git's persistent cat-file process: GitPython's `tree / rel` parses
            # every tree on the way in Python, slow with thousands of incidents in a folder.
            data = repo.git.get_object_data(f"{commit.hexsha}:{rel}")[3]
            incident = Incident.model_validate(parse_yaml(data.decode("utf-8")).value)
        except (ValueError, git.GitCommandError, UnicodeDecodeError, YamlSyntaxError, ValidationError):
            continue  # deleted or broken in that commit: `statusgen check` reported it then
        versions.append((commit, incident))
    return versions


def change_events(store: IncidentStore, files: list[Path] | None = None) -> list[dict]:
    """One event per linked ticket for each committed change of status or severity (the opening included),
    over every incident file or only `files`."""
    repo = git.Repo(store.root)
    events = []
    for file in store.files() if files is None else files:
        rel = file.relative_to(store.root).as_posix()
        previous: Incident | None = None
        for commit, incident in incident_history(repo, rel):
            opened = previous is None
            changes = {}
            for name, now, before in (("status", incident.status.value, previous and previous.status.value),
                                      ("severity", incident.severity.value, previous and previous.severity.value)):
                if now != before:
                    changes[name] = {"from": before, "to": now}
            previous = incident
            if not changes:
                continue
            for ticket in incident.tickets:
                events.append((commit.committed_date, {
                    "id": hashlib.sha256(f"{incident.id}|{commit.hexsha}|{ticket}".encode()).hexdigest()[:32],
                    "event": "incident.opened" if opened else "incident.changed",
                    "ticket": ticket, "incident": incident.id, "commit": commit.hexsha,
                    "at": commit.committed_datetime.isoformat(), "changes": changes,
                    "status": incident.status.value, "severity": incident.severity.value,
                    "evidence": [link.url for link in incident.evidence],
                    "url": incident_url(store.config, incident.id, "en"),
                    # Changes the sync itself committed come from the ticket: a consumer may skip them.
                    "source": "ticket" if commit.author.email == SYNC_AUTHOR.email else "status",
                }))
    # Stable sort on commit time: one incident's events stay in commit order within the same second.
    return [event for _, event in sorted(events, key=lambda pair: pair[0])]


# ---------------------------------------------------------------- in: ticket updates -> incident files


def apply_ticket_updates(store: IncidentStore, inbox: Path, report: SyncReport) -> None:
    done = {row.get("id") for row in _read_jsonl(store.root / APPLIED)}
    for number, line in enumerate(inbox.read_text(encoding="utf-8").splitlines() if inbox.exists() else [], 1):
        if not line.strip():
            continue
        where = f"{inbox}:{number}"
        try:
            update = TicketUpdate.model_validate_json(line)
        except ValidationError as exc:
            report.rejected.append(f"{where}: " + "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}" for e in exc.errors(include_url=False)))
            continue
        if update.id in done:
            continue
        outcome = _apply_one(store, update)
        _append(store.root / APPLIED, [{"id": update.id, "ticket": update.ticket, **outcome}])
        done.add(update.id)
        if outcome["result"] == "applied":
            report.applied.append(f"{where}: {update.ticket} -> {', '.join(outcome['incidents'])}")
        else:
            report.rejected.append(f"{where}: {outcome['error']}")


def _apply_one(store: IncidentStore, update: TicketUpdate) -> dict:
    change = IncidentChange.model_validate(
        {**({"severity": update.severity} if update.severity else {}),
         **({"evidence": [e.model_dump() for e in update.evidence]} if update.evidence else {})})
    changed = []
    with store.writing():
        incidents = [(file, read_incident(file)) for file in store.files()]
        linked = [(file, i) for file, i in incidents if i is not None and update.ticket in i.tickets]
        if not linked:
            return {"result": "rejected", "error": f"no incident lists the ticket {update.ticket!r}"}
        for file, incident in linked:
            new = apply_change(incident, change, store.config.region(incident.region).tz,
                               tuple(store.config.languages), render=None)
            if new == incident:
                continue
            try:
                store.replace(file, new, SYNC_AUTHOR, f"sync: {incident.id}: from ticket {update.ticket} ({update.id})")
            except Rejected as rejected:
                return {"result": "rejected", "error": "; ".join(str(p) for p in rejected.problems)}
            changed.append(incident.id)
    return {"result": "applied", "incidents": changed}


# ---------------------------------------------------------------- one sync run


def emit_changes(store: IncidentStore, written: Written | None = None) -> list[dict]:
    """Append to the outbox the change events it does not hold yet; returns them.

    Run by `statusgen sync` (every incident file) and by the status API after each accepted write, under
    its write lock, with the file it wrote: a ticketing system consuming the outbox hears of an API change
    without waiting for the next sync, and the write does not walk the history of every other incident."""
    known = {row.get("id") for row in _read_jsonl(store.root / OUTBOX)}
    files = None if written is None else [store.root / written.path]
    new = [event for event in change_events(store, files) if event["id"] not in known]
    _append(store.root / OUTBOX, new)
    return new


def sync(root: Path, inbox: Path | None = None, webhook: str | None = None, secret: bytes | None = None,
         backoff: float = 0.5) -> SyncReport:
    store = IncidentStore(root)
    report = SyncReport()
    apply_ticket_updates(store, inbox or store.root / INBOX, report)
    report.emitted = emit_changes(store)
    if webhook:
        posted = {row.get("id") for row in _read_jsonl(store.root / POSTED)}
        for event in _read_jsonl(store.root / OUTBOX):
            if event["id"] in posted:
                continue
            outcome = post_signed(webhook, event, secret=secret, delivery_id=event["id"], backoff=backoff)
            if not outcome.ok:
                report.post_failures.append(f"{event['id']}: {outcome.error}")
                break  # keep the order: later events wait for this one
            _append(store.root / POSTED, [{"id": event["id"]}])
            report.posted += 1
    return report
