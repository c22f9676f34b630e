"""Ticket <-> incident sync (mission section G): status, severity and evidence links both ways.

Out: every status or severity change of an incident, as committed in Git, becomes one event per linked
ticket in `.statusgen/sync/outbox.jsonl` (and, optionally, a signed webhook). Event ids are derived from
the commit, so a rerun appends nothing already there.
In: ticket updates (severity, evidence links) read from a JSONL inbox are merged into every incident that
lists the ticket, validated and committed like an API write, field by field; applied fields are recorded
in `.statusgen/sync/applied.jsonl` and never applied twice. A field that cannot apply yet (the ticket is not
linked to an incident) or is refused stays pending and is retried by every run until it applies or the
operator discards the update.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import git
from pydantic import ValidationError

from .api.changes import IncidentChange, apply_change
from .api.store import Author, IncidentStore, Rejected, Written, file_stamp, read_incident
from ..content.model import EvidenceLink, Incident, Model, Severity
from .notifier import incident_url
from .webhook import SECRET_ENV, MissingSecret, post_signed
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
    pending: list[str] = field(default_factory=list)  # lines with fields waiting or refused: retried each run
    rejected: list[str] = field(default_factory=list)  # lines without a usable id or ticket


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
            events += [(commit.committed_date, event) for event in transition_events(
                store, previous, incident, commit.hexsha, commit.committed_datetime, commit.author.email)]
            previous = incident
    # Stable sort on commit time: one incident's events stay in commit order within the same second.
    return [event for _, event in sorted(events, key=lambda pair: pair[0])]


def transition_events(store: IncidentStore, previous: Incident | None, incident: Incident, commit: str,
                      committed_at: datetime, author_email: str) -> list[dict]:
    """The events of one commit of an incident file: one per linked ticket when the status or the severity
    differs from the version before (`previous` None: the incident was opened by this commit)."""
    changes = {}
    for name, now, before in (("status", incident.status.value, previous and previous.status.value),
                              ("severity", incident.severity.value, previous and previous.severity.value)):
        if now != before:
            changes[name] = {"from": before, "to": now}
    if not changes:
        return []
    return [{
        "id": hashlib.sha256(f"{incident.id}|{commit}|{ticket}".encode()).hexdigest()[:32],
        "event": "incident.opened" if previous is None else "incident.changed",
        "ticket": ticket, "incident": incident.id, "commit": commit,
        "at": committed_at.isoformat(), "changes": changes,
        "status": incident.status.value, "severity": incident.severity.value,
        "evidence": [link.url for link in incident.evidence],
        "url": incident_url(store.config, incident.id, "en"),
        # Changes the sync itself committed come from the ticket: a consumer may skip them.
        "source": "ticket" if author_email == SYNC_AUTHOR.email else "status",
    } for ticket in incident.tickets]


class ChangeEmitter:
    """The status API's write listener: the events of each accepted write appended to the outbox at once,
    so a ticketing system consuming it hears of an API change without waiting for `statusgen sync`.

    A write costs the same at any size of history: its events come from the version it replaced and the
    new one (its own commit), and the outbox's event ids are kept in memory (read again only when another
    process, such as `statusgen sync`, appended to it). Only the first write to an incident that has tickets
    but no event yet (it was opened by a hand-made commit before any sync) walks that file's history once,
    so its opening comes before the change in the outbox."""

    def __init__(self) -> None:
        self._stamp: tuple | None = None
        self._known: set[str] = set()
        self._incidents: set[str] = set()  # incidents with at least one event in the outbox

    def __call__(self, store: IncidentStore, written: Written) -> list[dict]:
        outbox = store.root / OUTBOX
        self._read(outbox)
        incident = written.incident
        if written.previous is not None and written.previous.tickets and incident.id not in self._incidents \
                or written.at is None:
            events = change_events(store, [store.root / written.path])
        else:
            events = transition_events(store, written.previous, incident, written.commit, written.at,
                                       written.author.email if written.author else "")
        new = [event for event in events if event["id"] not in self._known]
        _append(outbox, new)
        self._known.update(event["id"] for event in new)
        self._incidents.update(event["incident"] for event in new)
        self._stamp = file_stamp(outbox)
        return new

    def _read(self, outbox: Path) -> None:
        stamp = file_stamp(outbox)
        if stamp == self._stamp:
            return
        rows = _read_jsonl(outbox)
        self._known = {row.get("id") for row in rows}
        self._incidents = {row.get("incident") for row in rows}
        self._stamp = stamp


def emit_changes(store: IncidentStore) -> list[dict]:
    """Append to the outbox the change events of every incident file it does not hold yet; returns them.
    Run by `statusgen sync`: it also catches up commits made by hand (the API's writes emit theirs at once)."""
    known = {row.get("id") for row in _read_jsonl(store.root / OUTBOX)}
    new = [event for event in change_events(store) if event["id"] not in known]
    _append(store.root / OUTBOX, new)
    return new


# ---------------------------------------------------------------- in: ticket updates -> incident files

# The fields of a ticket update, applied one by one: a refused field never holds back a valid one.
UPDATE_FIELDS = ("severity", "evidence")


def _done_fields(root: Path) -> dict[str, set[str]]:
    """Per update id, the fields already applied or discarded (a discarded update has every field done)."""
    done: dict[str, set[str]] = {}
    for row in _read_jsonl(root / APPLIED):
        if "id" not in row:
            continue
        if row.get("result") == "discarded":
            done.setdefault(row["id"], set()).update(UPDATE_FIELDS)
        elif row.get("result") == "applied":
            # Rows written before fields were tracked applied the whole update.
            done.setdefault(row["id"], set()).update(row.get("fields", UPDATE_FIELDS))
    return done


def _field_errors(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}" for e in exc.errors(include_url=False)]


def apply_ticket_updates(store: IncidentStore, inbox: Path, report: SyncReport) -> None:
    """Apply each inbox line's fields that are not applied yet.

    A line is done when every field it carries is applied or it was discarded (`discard_ticket_updates`).
    Anything else stays pending and is retried by every run: a ticket not yet linked to an incident may be
    linked later, and an operator must see a refused field until it is fixed or discarded."""
    done = _done_fields(store.root)
    for number, line in enumerate(inbox.read_text(encoding="utf-8").splitlines() if inbox.exists() else [], 1):
        if not line.strip():
            continue
        where = f"{inbox}:{number}"
        try:
            row = json.loads(line)
            head = TicketUpdate.model_validate({"id": row.get("id"), "ticket": row.get("ticket")}
                                               if isinstance(row, dict) else row)
        except ValueError as exc:
            # Without an id and a ticket the line can be neither applied nor discarded: it is reported
            # every run until the ticketing system's export is fixed.
            errors = _field_errors(exc) if isinstance(exc, ValidationError) else [f"line: invalid JSON: {exc}"]
            report.rejected.append(f"{where}: " + "; ".join(errors))
            continue
        wanted = [name for name in row if name not in ("id", "ticket")]
        todo = [name for name in wanted if name not in done.get(head.id, set())]
        if not todo:
            continue
        valid: dict[str, object] = {}
        refused: list[str] = []
        for name in todo:
            try:
                valid[name] = getattr(TicketUpdate.model_validate({"id": head.id, "ticket": head.ticket,
                                                                   name: row[name]}), name)
            except ValidationError as exc:
                refused += _field_errors(exc)
        outcome = _apply_fields(store, head, valid) if valid else {"applied": [], "incidents": [], "refused": []}
        refused += outcome["refused"]
        if outcome["applied"]:
            _append(store.root / APPLIED, [{"id": head.id, "ticket": head.ticket, "result": "applied",
                                            "fields": outcome["applied"], "incidents": outcome["incidents"]}])
            done.setdefault(head.id, set()).update(outcome["applied"])
            report.applied.append(f"{where}: {head.ticket} -> {', '.join(outcome['incidents']) or 'no change'}"
                                  f" ({', '.join(outcome['applied'])})")
        if outcome.get("waiting"):
            report.pending.append(f"{where}: {head.id}: {outcome['waiting']}; retried on the next sync")
        elif refused:
            report.pending.append(f"{where}: {head.id}: refused {'; '.join(refused)}; kept pending until it "
                                  f"is fixed or discarded (statusgen sync --discard {head.id})")


def _change_of(fields: dict[str, object]) -> IncidentChange:
    data = {}
    if "severity" in fields:
        data["severity"] = fields["severity"]
    if fields.get("evidence"):
        data["evidence"] = [e.model_dump() for e in fields["evidence"]]
    return IncidentChange.model_validate(data)


def _apply_fields(store: IncidentStore, update: TicketUpdate, fields: dict[str, object]) -> dict:
    """Apply `fields` to every incident listing the ticket: together when the result passes the check,
    else each field on its own, so that one refused field does not hold back the others."""
    with store.writing():
        incidents = [(file, read_incident(file)) for file in store.files()]
        linked = [(file, i) for file, i in incidents if i is not None and update.ticket in i.tickets]
        if not linked:
            return {"applied": [], "incidents": [], "refused": [],
                    "waiting": f"no incident lists the ticket {update.ticket!r} yet"}
        groups = [list(fields)] + ([[name] for name in fields] if len(fields) > 1 else [])
        applied, changed, refused = [], [], []
        for group in groups:
            if any(name in applied for name in group):
                continue
            errors = []
            for file, _ in linked:
                incident = read_incident(file)
                new = apply_change(incident, _change_of({n: fields[n] for n in group}),
                                   store.config.region(incident.region).tz, tuple(store.config.languages),
                                   render=None)
                if new == incident:
                    continue
                try:
                    store.replace(file, new, SYNC_AUTHOR,
                                  f"sync: {incident.id}: {', '.join(group)} from ticket {update.ticket} ({update.id})")
                    changed.append(incident.id)
                except Rejected as rejected:
                    errors += [str(p) for p in rejected.problems]
            if not errors:
                applied += group
            elif len(group) == 1 or len(fields) == 1:
                refused.append(f"{group[0]}: " + "; ".join(errors))
    return {"applied": applied, "incidents": list(dict.fromkeys(changed)), "refused": refused}


def discard_ticket_updates(root: Path, ids: list[str]) -> None:
    """Record that the operator gave up on these pending updates: they are never retried again."""
    _append(Path(root) / APPLIED, [{"id": update_id, "result": "discarded"} for update_id in ids])


# ---------------------------------------------------------------- one sync run


def sync(root: Path, inbox: Path | None = None, webhook: str | None = None, secret: bytes | None = None,
         backoff: float = 0.5) -> SyncReport:
    if webhook and not secret:
        raise MissingSecret(f"no HMAC secret: set ${SECRET_ENV} (statusgen never sends unsigned webhooks)")
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
