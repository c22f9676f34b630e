"""Ticket exports -> `Ticket` values: JSON Lines or CSV from the ticketing system, one ticket a line/row.

Every bad row is reported as `path:line: field: expected ..., got ...`, all of them in one run. The caller
decides whether good rows are still used (`--skip-invalid`) or whether any bad row fails the run.
"""
from __future__ import annotations

import codecs
import csv
import gc
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Callable, Iterable, Iterator, Literal

from pydantic import Field, GetPydanticSchema, ValidationError, field_validator, model_validator
from pydantic_core import core_schema

from ..content.load import Problem, problems_from_validation
from ..content.model import Id, Model, Severity, Timestamp
from ..content.yamlsource import YamlDocument

Category = Literal["billing", "incident", "howto", "fp/miss"]
# CSV cells that hold several values separate them with this character (URLs and times never contain it).
LIST_SEPARATOR = "|"
CSV_LIST_FIELDS = ("evidence_uri", "public_replies_at", "waiting_on_customer")


class WaitingInterval(Model):
    """The ticket waited on the customer (Zendesk's *pending*): the resolution clock is paused."""

    start: Timestamp
    end: Timestamp | None = None


TicketId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", max_length=120)]


class Ticket(Model):
    id: TicketId
    severity: Severity
    tenant: str = Field(min_length=1)
    region: str = Field(min_length=1)
    category: Category
    purpose: str = Field(min_length=1)
    evidence_uri: list[str] = []
    created_at: Timestamp
    owner_assigned_at: Timestamp | None = None
    first_public_reply_at: Timestamp | None = None
    public_replies_at: list[Timestamp] = Field(default=[], description="Every later public reply")
    waiting_on_customer: list[WaitingInterval] = []
    resolved_at: Timestamp | None = None
    closed_at: Timestamp | None = None
    csat: int | None = Field(default=None, ge=1, le=5)
    incident_id: Id | None = None

    @field_validator("evidence_uri")
    @classmethod
    def _uris(cls, value: list[str]) -> list[str]:
        for uri in value:
            if not uri.startswith(("https://", "http://")):
                raise ValueError(f"expected http(s) URLs, got {uri!r}")
        return value

    @model_validator(mode="after")
    def _order(self) -> "Ticket":
        for name in ("owner_assigned_at", "first_public_reply_at", "resolved_at", "closed_at"):
            moment = getattr(self, name)
            if moment is not None and moment < self.created_at:
                raise ValueError(f"{name}: expected a time at or after created_at ({self.created_at.isoformat()}), "
                                 f"got {moment.isoformat()}")
        if self.closed_at and self.resolved_at and self.closed_at < self.resolved_at:
            raise ValueError(f"closed_at: expected a time at or after resolved_at ({self.resolved_at.isoformat()}), "
                             f"got {self.closed_at.isoformat()}")
        if self.public_replies_at and self.first_public_reply_at is None:
            raise ValueError("first_public_reply_at: expected the first public reply when later replies exist, "
                             "found none")
        for interval in self.waiting_on_customer:
            if interval.end is not None and interval.end < interval.start:
                raise ValueError(f"waiting_on_customer: expected each interval's end after its start, got "
                                 f"{interval.start.isoformat()}/{interval.end.isoformat()}")
        return self

    @property
    def replies(self) -> list[datetime]:
        """All public replies in time order, the first one included."""
        first = [self.first_public_reply_at] if self.first_public_reply_at else []
        return sorted(first + list(self.public_replies_at))


# ---------------------------------------------------------------- the fast path of JSON Lines
#
# A JSON line is first validated by pydantic-core alone, from the raw text (no `json.loads`, no Python
# validator per time): `_FastTicket` is a `Ticket` whose times are a native chain "text in the one canonical
# form -> aware datetime". The form is narrow on purpose (`YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM)`, the
# exporters' own), so that everything it accepts `datetime.fromisoformat` reads to the same instant and
# offset. Any line it refuses (a bad row, or a time in another accepted spelling) is validated again the
# slow way, by `Ticket` itself, which gives the accepted value or the exact `path:line: field:` errors.
_CANONICAL_TIME = (r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?"
                   r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$")
_FastTimestamp = Annotated[datetime, GetPydanticSchema(lambda _type, _handler: core_schema.chain_schema([
    core_schema.str_schema(pattern=_CANONICAL_TIME),
    core_schema.datetime_schema(tz_constraint="aware"),  # never naive: the pattern requires an offset
])), *Timestamp.__metadata__[1:]]  # Timestamp's serializer and JSON schema


class _FastWaitingInterval(WaitingInterval):
    start: _FastTimestamp
    end: _FastTimestamp | None = None


class _FastTicket(Ticket):
    created_at: _FastTimestamp
    owner_assigned_at: _FastTimestamp | None = None
    first_public_reply_at: _FastTimestamp | None = None
    public_replies_at: list[_FastTimestamp] = Field(default=[], description="Every later public reply")
    waiting_on_customer: list[_FastWaitingInterval] = []
    resolved_at: _FastTimestamp | None = None
    closed_at: _FastTimestamp | None = None


@dataclass(frozen=True)
class TicketImport:
    tickets: tuple[Ticket, ...]
    problems: tuple[Problem, ...]


def _problems(exc: ValidationError, path: str, line: int) -> list[Problem]:
    """The loader's messages, every one on the row's line; a whole-ticket rule names its field itself."""
    found = []
    for problem in problems_from_validation(exc, Ticket, YamlDocument({}, {(): line}), path):
        if not problem.field and ": " in problem.message and problem.message.split(": ", 1)[0] in Ticket.model_fields:
            field, message = problem.message.split(": ", 1)
            problem = Problem(path, line, field, message)
        found.append(problem)
    return found


def _from_csv_row(row: dict[str, str]) -> dict[str, object]:
    data: dict[str, object] = {}
    for key, value in row.items():
        if key is None:  # more cells than columns
            data["<extra cells>"] = value
            continue
        value = (value or "").strip()
        if value == "":
            continue
        if key in CSV_LIST_FIELDS:
            items = [item.strip() for item in value.split(LIST_SEPARATOR) if item.strip()]
            if key == "waiting_on_customer":
                data[key] = [dict(zip(("start", "end"), item.split("/", 1))) for item in items]
            else:
                data[key] = items
        elif key == "csat":
            data[key] = int(value) if value.isdigit() else value
        else:
            data[key] = value
    return data


def read_tickets(paths: list[Path], regions: Iterable[str] | None = None) -> TicketImport:
    """Read every export; `.jsonl`/`.json` as JSON Lines, `.csv` as CSV with a header row.

    With `regions` (the configuration's region ids) a ticket of any other region is a bad row too."""
    tickets: list[Ticket] = []
    problems: list[Problem] = []
    for chunk in ticket_chunks(paths, regions, problems):
        tickets.extend(chunk)
    return TicketImport(tuple(tickets), tuple(problems))


CHUNK = 20_000  # tickets validated before they are handed on: bounds the memory of a million-row export


def ticket_chunks(paths: list[Path], regions: Iterable[str] | None, problems: list[Problem], size: int = CHUNK,
                  progress: Callable[[int], None] | None = None) -> Iterator[list[Ticket]]:
    """The good tickets of every export, `size` at a time, in file and line order; each bad row goes to
    `problems` as it is met. Only one chunk of `Ticket` values is alive at a time (plus each id seen, for the
    duplicate check), so a caller that folds the chunks into columns reads any number of rows in bounded
    memory. `progress(n)` is called with the characters read since its last call."""
    known = sorted(regions) if regions is not None else None
    seen: dict[str, int] = {}  # id -> (file index << 32 | line): a location in two machine words
    shown_paths = [str(path) for path in paths]
    # Every ticket adds a dozen objects that live until its chunk is folded, so the cyclic collector would scan
    # the growing heap again and again and find nothing: validated tickets hold no reference cycles. Off while
    # a chunk is read; garbage is still freed by reference counting.
    collecting = gc.isenabled()
    chunk: list[Ticket] = []
    try:
        for index, path in enumerate(paths):
            gc.disable()
            for ticket in _read(Path(path), index, shown_paths, known, problems, seen, progress):
                chunk.append(ticket)
                if len(chunk) >= size:
                    if collecting:
                        gc.enable()
                    yield chunk
                    chunk = []
                    gc.disable()
        if collecting:
            gc.enable()
        if chunk:
            yield chunk
    finally:
        if collecting:
            gc.enable()


def _read(path: Path, index: int, shown_paths: list[str], known: list[str] | None, problems: list[Problem],
          seen: dict[str, int], progress: Callable[[int], None] | None) -> Iterator[Ticket]:
    shown = shown_paths[index]
    for line, data in _rows(path, problems, progress):
        try:
            if isinstance(data, str):  # a JSON line: pydantic-core parses and validates it in one go
                try:
                    ticket = _FastTicket.model_validate_json(data)
                except ValidationError:
                    data = _json_object(data, shown, line, problems)
                    if data is None:
                        continue
                    ticket = Ticket.model_validate(data)
            else:
                ticket = Ticket.model_validate(data)
        except ValidationError as exc:
            problems.extend(_problems(exc, shown, line))
            continue
        if known is not None and ticket.region not in known:
            problems.append(Problem(shown, line, "region", f"expected one of {', '.join(known)} (the regions "
                                                           f"in status.yaml), got {ticket.region!r}"))
            continue
        first = seen.get(ticket.id)
        if first is not None:
            problems.append(Problem(shown, line, "id", f"expected a unique ticket id, got {ticket.id!r} "
                                                         f"already at {shown_paths[first >> 32]}:{first & 0xFFFFFFFF}"))
            continue
        seen[ticket.id] = index << 32 | line
        yield ticket


def _rows(path: Path, problems: list[Problem], progress: Callable[[int], None] | None):
    shown = str(path)
    problem = _unreadable(path)
    if problem is not None:
        problems.append(Problem(shown, 1, "", f"expected a readable UTF-8 file, got {problem}"))
        return
    lines = _lines(path, progress)
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text for _, text in lines)
        for row in reader:
            yield reader.line_num, _from_csv_row(row)
        return
    for number, raw in lines:
        if not raw.strip():
            continue
        # without its line boundary, as splitting the whole text gives it (JSON error columns depend on it)
        yield number, raw.rstrip(_LINE_BREAKS)  # parsed by _read


def _unreadable(path: Path) -> Exception | None:
    """Why the file cannot be read as UTF-8, checked before any of its rows is used: a file that fails half way
    must contribute no row at all. Decoded a block at a time; on a failure the whole file is read once more so
    that the message (with its byte position) is exactly the one reading it whole gives."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        with path.open("rb") as file:
            while block := file.read(_BLOCK):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except OSError as exc:
        return exc
    except UnicodeDecodeError:
        try:
            path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            return exc
    return None


_BLOCK = 1 << 22


def _lines(path: Path, progress: Callable[[int], None] | None):
    """`enumerate(text.splitlines(keepends=True), start=1)` of the file's text, read a line at a time: a line cut
    at `\n` that holds another of the boundaries `str.splitlines` knows is split further by `splitlines` itself,
    which numbers the lines exactly as splitting the whole text would (`\n` always ends a line there too)."""
    number = 0
    done = 0
    with path.open(encoding="utf-8-sig", newline="\n") as file:
        for raw in file:
            if progress is not None:
                done += len(raw)
                if done >= _BLOCK:
                    progress(done)
                    done = 0
            if any(mark in raw for mark in _OTHER_LINE_BREAKS):
                for piece in raw.splitlines(keepends=True):
                    number += 1
                    yield number, piece
            else:
                number += 1
                yield number, raw
    if progress is not None and done:
        progress(done)


# Everything `str.splitlines` breaks at, `\n` aside.
_OTHER_LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAKS = "\n" + _OTHER_LINE_BREAKS


def _json_object(raw: str, shown: str, number: int, problems: list[Problem]) -> dict | None:
    """One JSON line as a dict, or None with the problem recorded."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        problems.append(Problem(shown, number, "", f"expected one JSON object per line, got invalid JSON "
                                                   f"({exc.msg} at column {exc.colno})"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(shown, number, "", f"expected a JSON object, got {type(data).__name__}"))
        return None
    return data
