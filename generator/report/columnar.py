"""Columnar evaluation of ticket clocks: a chunk of tickets -> NumPy columns -> every clock's status, elapsed time
and stop in a few vectorised steps per calendar.

The rules are the SLA engine's (`engine.evaluate_ticket` is the reference: tests/report/test_columnar.py draws
random tickets and checks every clock against it). Each instant becomes a position on its ticket's calendar
through the calendar's own year tables (`BusinessCalendar.year_table`, the tables behind `position`), one
`searchsorted` per year and calendar; from there every duration is a subtraction, and the time a ticket waited on
the customer is subtracted pause by pause exactly as `engine.running_time` does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol, Sequence

import numpy as np

from ..sla.calendar import Calendar, TwentyFourSeven
from ..sla.engine import Status
from .tickets import Ticket

NONE = np.iinfo(np.int64).min  # an instant that did not happen (no reply yet, still open, ...)
NOT_APPLICABLE, ACHIEVED, BREACHED, PENDING = 0, 1, 2, 3
STATUSES = (Status.not_applicable, Status.achieved, Status.breached, Status.pending)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
# Years whose tables are used; any other instant goes through `position_us` one by one (same answer).
_TABLE_YEARS = range(1971, 2200)


class Plan(Protocol):
    """The calendar and targets of one region and severity (`monthly.TicketPlan`)."""

    calendar: Calendar
    first_response: tuple[str | None, int]   # (policy text, calendar microseconds)
    resolution: tuple[str | None, int]
    update_cadence: tuple[str | None, int]
    owner_assigned: tuple[str | None, int]


def microseconds(moment: datetime) -> int:
    """UTC microseconds since 1970 of an aware datetime."""
    return (moment - _EPOCH) // _MICROSECOND


# ---------------------------------------------------------------- positions


_TABLES: dict[tuple[Calendar, int], tuple | None] = {}


def _year_arrays(calendar, year: int):
    """(first midnight, end of year, midnights, openings, closings, position at each midnight) of one local year
    of `calendar` as arrays, from `year_table`; None where `position_us` itself would not use tables."""
    key = (calendar, year)
    if key not in _TABLES:
        probe = microseconds(datetime(year, 7, 1, tzinfo=timezone.utc))
        found = calendar.year_table(probe)
        if found is None:
            _TABLES[key] = None
        else:
            first, last, (midnights, spans, before) = found
            # a closed day is a day whose hours open and close at the same instant: nothing counts within it
            openings = np.array([0 if s is None else s[0] for s in spans], dtype=np.int64)
            closings = np.array([0 if s is None else s[1] for s in spans], dtype=np.int64)
            _TABLES[key] = (first, last, np.array(midnights, dtype=np.int64), openings, closings,
                            np.array(before, dtype=np.int64))
    return _TABLES[key]


def positions(calendar: Calendar, utc: np.ndarray) -> np.ndarray:
    """`calendar.position` of each instant (UTC microseconds); NONE stays NONE."""
    if isinstance(calendar, TwentyFourSeven):  # its position is the UTC microsecond itself
        return utc.copy()
    out = np.full(utc.shape, NONE, dtype=np.int64)
    where = np.flatnonzero(utc != NONE)
    if not where.size:
        return out
    values = utc[where]
    result = np.empty_like(values)
    done = np.zeros(values.shape, dtype=bool)
    # the local year of an instant is the UTC year of the instant moved by at most a day (no zone is 24 h off)
    day = 86_400_000_000
    years = set()
    for shift in (-day, 0, day):
        moved = values + shift
        years.update((np.unique(moved.astype("datetime64[us]").astype("datetime64[Y]").astype(np.int64))
                      + 1970).tolist())
    for year in sorted(years & set(_TABLE_YEARS)):
        table = _year_arrays(calendar, year)
        if table is None:
            continue
        first, last, midnights, openings, closings, before = table
        chosen = np.flatnonzero(~done & (values >= first) & (values < last))
        if not chosen.size:
            continue
        v = values[chosen]
        day = np.searchsorted(midnights, v, side="right") - 1
        opening, closing = openings[day], closings[day]
        result[chosen] = before[day] + np.clip(v - opening, 0, closing - opening)
        done[chosen] = True
    for i in np.flatnonzero(~done).tolist():
        result[i] = calendar.position_us(int(values[i]))
    out[where] = result
    return out


def _positions_by_calendar(utc: np.ndarray, calendar_of_row: np.ndarray, calendars: Sequence[Calendar]) -> np.ndarray:
    out = np.full(utc.shape, NONE, dtype=np.int64)
    for code, calendar in enumerate(calendars):
        rows = np.flatnonzero(calendar_of_row == code)
        if rows.size:
            out[rows] = positions(calendar, utc[rows])
    return out


# ---------------------------------------------------------------- columns


@dataclass
class Columns:
    """One chunk of tickets as columns; replies and pauses as rows naming their ticket (sorted by ticket)."""

    plan: np.ndarray          # index into the plans, per ticket
    created: np.ndarray       # UTC microseconds, per ticket
    owner: np.ndarray         # NONE when not assigned
    resolved: np.ndarray
    reply_ticket: np.ndarray  # one row per public reply (the first one included)
    reply: np.ndarray
    pause_ticket: np.ndarray  # one row per waiting-on-customer interval, as exported (not merged)
    pause_start: np.ndarray
    pause_end: np.ndarray     # NONE while still waiting

    def __len__(self) -> int:
        return len(self.plan)

    def subset(self, rows: np.ndarray) -> "Columns":
        """The tickets at `rows` (sorted), renumbered 0 .. len(rows) - 1."""
        number = np.full(len(self), -1, dtype=np.int64)
        number[rows] = np.arange(len(rows))
        replies = np.flatnonzero(number[self.reply_ticket] >= 0)
        pauses = np.flatnonzero(number[self.pause_ticket] >= 0)
        return Columns(self.plan[rows], self.created[rows], self.owner[rows], self.resolved[rows],
                       number[self.reply_ticket[replies]], self.reply[replies], number[self.pause_ticket[pauses]],
                       self.pause_start[pauses], self.pause_end[pauses])


def _array(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64) if values else np.empty(0, dtype=np.int64)


def columns(tickets: Sequence[Ticket], plan_codes: Sequence[int]) -> Columns:
    """The instants of `tickets` (validated `Ticket` values) as columns; `plan_codes[i]` is ticket i's plan."""
    epoch, micro = _EPOCH, _MICROSECOND  # microseconds() inlined: a chunk has a few hundred thousand instants
    created, owner, resolved = [], [], []
    reply_ticket, reply, pause_ticket, pause_start, pause_end = [], [], [], [], []
    for i, t in enumerate(tickets):
        created.append((t.created_at - epoch) // micro)
        owner.append(NONE if t.owner_assigned_at is None else (t.owner_assigned_at - epoch) // micro)
        resolved.append(NONE if t.resolved_at is None else (t.resolved_at - epoch) // micro)
        if t.first_public_reply_at is not None:
            reply_ticket.append(i)
            reply.append((t.first_public_reply_at - epoch) // micro)
        later = t.public_replies_at
        if later:
            reply_ticket.extend([i] * len(later))
            reply.extend([(moment - epoch) // micro for moment in later])
        for w in t.waiting_on_customer:
            pause_ticket.append(i)
            pause_start.append((w.start - epoch) // micro)
            pause_end.append(NONE if w.end is None else (w.end - epoch) // micro)
    return Columns(np.asarray(plan_codes, dtype=np.int64), _array(created), _array(owner), _array(resolved),
                   _array(reply_ticket), _array(reply), _array(pause_ticket), _array(pause_start), _array(pause_end))


# ---------------------------------------------------------------- clocks


@dataclass
class ClockColumns:
    """`engine.measure` of one clock per row: status code, elapsed seconds (-1 for None), stop (NONE for None)."""

    status: np.ndarray
    elapsed_seconds: np.ndarray
    at: np.ndarray


@dataclass
class Evaluated:
    first_response: ClockColumns
    resolution: ClockColumns
    owner_assigned: ClockColumns
    gap_ticket: np.ndarray       # the update-interval gaps, in each ticket's order, one row each
    gaps: ClockColumns
    attainment: np.ndarray       # ACHIEVED, BREACHED or PENDING per ticket
    breached: np.ndarray         # some clock of the ticket breached (bool)


@dataclass
class _Pauses:
    """Waiting intervals as of `now`, merged (`engine._pauses_as_of`), as CSR rows per ticket."""

    start_u: np.ndarray
    start_p: np.ndarray
    end_u: np.ndarray   # NONE: still waiting at `now`
    end_p: np.ndarray
    first: np.ndarray   # per ticket: its first row
    count: np.ndarray   # per ticket: how many rows


def _pauses_as_of(c: Columns, now_u: int, calendar_of_ticket: np.ndarray, calendars) -> _Pauses:
    known = np.flatnonzero(c.pause_start <= now_u)
    ticket, start, end = c.pause_ticket[known], c.pause_start[known], c.pause_end[known].copy()
    end[end > now_u] = NONE  # not over by `now`: still waiting
    order = np.lexsort((start, ticket))
    ticket, start, end = ticket[order], start[order], end[order]
    counts = np.bincount(ticket, minlength=len(c))
    if (counts > 1).any():
        # Overlapping intervals merge into one (few tickets wait more than once: plain Python for those).
        keep = np.ones(len(ticket), dtype=bool)
        firsts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        for t in np.flatnonzero(counts > 1).tolist():
            last = firsts[t]
            for row in range(firsts[t] + 1, firsts[t] + counts[t]):
                if end[last] == NONE or start[row] <= end[last]:
                    # still waiting if either is
                    end[last] = NONE if NONE in (end[last], end[row]) else max(end[last], end[row])
                    keep[row] = False
                else:
                    last = row
        ticket, start, end = ticket[keep], start[keep], end[keep]
        counts = np.bincount(ticket, minlength=len(c))
    first = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    cal = calendar_of_ticket[ticket]
    return _Pauses(start, _positions_by_calendar(start, cal, calendars), end,
                   _positions_by_calendar(end, cal, calendars), first, counts)


def _running(start_u, start_p, end_u, end_p, ticket, pauses: _Pauses | None) -> np.ndarray:
    """`engine.running_time` in microseconds, one clock per row (`ticket` names each row's ticket)."""
    total = np.maximum(0, end_p - start_p)
    if pauses is None or not len(pauses.start_u):
        return total
    repeat = pauses.count[ticket]
    clock = np.repeat(np.arange(len(ticket)), repeat)
    if not clock.size:
        return total
    # row k of the expansion is pause (first of its ticket + its rank among that clock's rows)
    offsets = np.arange(clock.size) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    row = pauses.first[ticket][clock] + offsets
    ps_u, ps_p, pe_u, pe_p = pauses.start_u[row], pauses.start_p[row], pauses.end_u[row], pauses.end_p[row]
    su, sp, eu, ep = start_u[clock], start_p[clock], end_u[clock], end_p[clock]
    later = ps_u > su
    low_u, low_p = np.where(later, ps_u, su), np.where(later, ps_p, sp)
    to_end = (pe_u == NONE) | (pe_u > eu)
    high_u, high_p = np.where(to_end, eu, pe_u), np.where(to_end, ep, pe_p)
    paused = np.where(high_u > low_u, high_p - low_p, 0)
    subtract = np.zeros(len(ticket), dtype=np.int64)
    np.add.at(subtract, clock, paused)
    return total - subtract


def _measure(has_target, limit, start_u, start_p, stop_u, stop_p, now_u, now_p, ticket,
             pauses: _Pauses | None) -> ClockColumns:
    """`engine.measure` without the due time, one clock per row."""
    stopped = (stop_u != NONE) & (stop_u <= now_u)
    future = ~stopped & (start_u > now_u)
    elapsed = _running(start_u, start_p, np.where(stopped, stop_u, now_u), np.where(stopped, stop_p, now_p), ticket,
                       pauses)
    over = elapsed > limit
    status = np.where(stopped, np.where(over, BREACHED, ACHIEVED),
                      np.where(future, PENDING, np.where(over, BREACHED, PENDING)))
    status = np.where(has_target, status, NOT_APPLICABLE).astype(np.int8)
    seconds = np.rint(elapsed / 1e6).astype(np.int64)  # round half to even, as `round` in the engine
    seconds = np.where(has_target & ~future, seconds, -1)
    at = np.where(has_target & stopped, stop_u, NONE)
    return ClockColumns(status, seconds, at)


def evaluate(c: Columns, plans: Sequence[Plan], now: datetime) -> Evaluated:
    """Every clock of `engine.evaluate_ticket` plus the OLA owner assignment, for a chunk of tickets, as of `now`."""
    calendars = list(dict.fromkeys(plan.calendar for plan in plans))
    calendar_of_plan = np.array([calendars.index(plan.calendar) for plan in plans], dtype=np.int64)

    def limits(name: str) -> tuple[np.ndarray, np.ndarray]:
        pairs = [getattr(plan, name) for plan in plans]
        has = np.array([text is not None for text, _ in pairs], dtype=bool)
        return has[c.plan], np.array([limit for _, limit in pairs], dtype=np.int64)[c.plan]

    n = len(c)
    calendar = calendar_of_plan[c.plan]
    now_u = microseconds(now)
    now_pos = np.array([positions(cal, np.array([now_u], dtype=np.int64))[0] for cal in calendars], dtype=np.int64)
    now_p = now_pos[calendar]
    now_us = np.full(n, now_u, dtype=np.int64)
    tickets = np.arange(n)
    created_p = _positions_by_calendar(c.created, calendar, calendars)

    # replies in time order per ticket (a stable sort, as `sorted` in the engine)
    order = np.lexsort((c.reply, c.reply_ticket))
    reply_t, reply_u = c.reply_ticket[order], c.reply[order]
    reply_p = _positions_by_calendar(reply_u, calendar[reply_t], calendars)
    replies = np.bincount(reply_t, minlength=n)
    first_row = np.concatenate(([0], np.cumsum(replies)[:-1])).astype(np.int64)
    # the first response is the earliest reply (`min(ticket.replies)` in the engine): each ticket's first row
    answered = np.flatnonzero(replies > 0)
    first_u, first_p = np.full(n, NONE, dtype=np.int64), np.full(n, NONE, dtype=np.int64)
    first_u[answered], first_p[answered] = reply_u[first_row[answered]], reply_p[first_row[answered]]

    has, limit = limits("first_response")
    first = _measure(has, limit, c.created, created_p, first_u, first_p, now_us, now_p, tickets, None)
    pauses = _pauses_as_of(c, now_u, calendar, calendars)
    resolved_p = _positions_by_calendar(c.resolved, calendar, calendars)
    has, limit = limits("resolution")
    resolution = _measure(has, limit, c.created, created_p, c.resolved, resolved_p, now_us, now_p, tickets, pauses)
    owner_p = _positions_by_calendar(c.owner, calendar, calendars)
    has, limit = limits("owner_assigned")
    owner = _measure(has, limit, c.created, created_p, c.owner, owner_p, now_us, now_p, tickets, None)

    # engine.cadence: the gaps between the replies made by `now` (and by the resolution), then from the last one
    # to the resolution (when later) or, while unresolved, to `now`.
    has_cadence, cadence_limit = limits("update_cadence")
    end_u = np.where((c.resolved != NONE) & (c.resolved <= now_u), c.resolved, NONE)
    end_p = np.where(end_u != NONE, resolved_p, NONE)
    t = reply_t
    kept = np.flatnonzero(has_cadence[t] & (reply_u <= now_u) & ((end_u[t] == NONE) | (reply_u <= end_u[t])))
    kt, ku, kp = t[kept], reply_u[kept], reply_p[kept]
    between = np.flatnonzero(kt[1:] == kt[:-1]) if kt.size else np.empty(0, dtype=np.int64)
    last = np.flatnonzero(np.append(kt[1:] != kt[:-1], True)) if kt.size else np.empty(0, dtype=np.int64)
    last_t = kt[last]
    open_end = end_u[last_t] == NONE
    closing = ~open_end & (end_u[last_t] > ku[last])
    final = last[open_end | closing]
    final_t = kt[final]
    gap_t = np.concatenate((kt[between], final_t))
    gap_start_u = np.concatenate((ku[between], ku[final]))
    gap_start_p = np.concatenate((kp[between], kp[final]))
    gap_stop_u = np.concatenate((ku[between + 1], end_u[final_t]))
    gap_stop_p = np.concatenate((kp[between + 1], end_p[final_t]))
    sequence = np.concatenate((2 * between, 2 * final + 1))  # a ticket's final gap comes after its others
    order = np.lexsort((sequence, gap_t))
    gap_t, gap_start_u, gap_start_p = gap_t[order], gap_start_u[order], gap_start_p[order]
    gap_stop_u, gap_stop_p = gap_stop_u[order], gap_stop_p[order]
    gaps = _measure(np.ones(len(gap_t), dtype=bool), cadence_limit[gap_t], gap_start_u, gap_start_p, gap_stop_u,
                    gap_stop_p, now_us[gap_t], now_p[gap_t], gap_t, pauses)

    a, b = first.status, resolution.status
    attainment = np.where((a == BREACHED) | (b == BREACHED), BREACHED,
                          np.where((a == ACHIEVED) & (b == ACHIEVED), ACHIEVED, PENDING)).astype(np.int8)
    breached = ((a == BREACHED) | (b == BREACHED) | (owner.status == BREACHED)
                | (np.bincount(gap_t[gaps.status == BREACHED], minlength=n) > 0))
    return Evaluated(first, resolution, owner, gap_t, gaps, attainment, breached)
