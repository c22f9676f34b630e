"""The columnar evaluation against the reference, the SLA engine's `evaluate_ticket`, ticket by ticket.

Hypothesis draws chunks of random tickets (S1-S4, KR/JP, month edges, public holidays, replies before and after
`now`, overlapping and open waits on the customer) and every clock of every ticket must equal the engine's."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.report.columnar import NONE, STATUSES, columns, evaluate, microseconds
from generator.report.monthly import SEVERITIES, TicketPlan, ticket_times
from generator.report.tickets import Ticket
from generator.sla.engine import Clock, evaluate_ticket, measure

# Around October 2025: KR closes for Chuseok (3, 6-8 Oct) and Hangul Day (9 Oct), JP for Sports Day (13 Oct);
# the window spans the month's edges and a weekend either side.
ANCHOR = datetime(2025, 9, 28, tzinfo=timezone.utc)
SPAN_MINUTES = 40 * 24 * 60
ZONES = [timezone.utc, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30))]

instants = st.builds(
    lambda minutes, micro, zone: (ANCHOR + timedelta(minutes=minutes, microseconds=micro)).astimezone(zone),
    st.integers(0, SPAN_MINUTES),
    st.one_of(st.just(0), st.integers(0, 999_999)),
    st.sampled_from(ZONES),
)
# a point of the business day on a local date: opening, closing and midnight matter most
edges = st.builds(
    lambda day, hm, zone: datetime(2025, 9, 28, *hm, tzinfo=timezone(timedelta(hours=9))).__add__(
        timedelta(days=day)).astimezone(zone),
    st.integers(0, 40), st.sampled_from([(0, 0), (9, 0), (18, 0), (17, 59), (8, 59), (23, 59)]), st.sampled_from(ZONES),
)
moments = st.one_of(instants, edges)


@st.composite
def tickets(draw, ident: int) -> Ticket:
    created = draw(moments)

    def after(base: datetime) -> datetime:
        return max(base, draw(moments))

    replies = draw(st.lists(st.builds(after, st.just(created)), max_size=6))  # in any order, as exported
    waits = []
    for _ in range(draw(st.integers(0, 3))):
        start = after(created)
        end = draw(st.one_of(st.none(), st.builds(after, st.just(start))))
        waits.append({"start": start.isoformat(), "end": end.isoformat() if end else None})
    resolved = draw(st.one_of(st.none(), st.builds(after, st.just(created))))
    owner = draw(st.one_of(st.none(), st.builds(after, st.just(created))))
    return Ticket.model_validate({
        "id": f"T-{ident}", "severity": draw(st.sampled_from(SEVERITIES)).value, "tenant": "acme",
        "region": draw(st.sampled_from(["KR", "JP"])), "category": "howto", "purpose": "p",
        "created_at": created.isoformat(),
        "first_public_reply_at": replies[0].isoformat() if replies else None,
        "public_replies_at": [r.isoformat() for r in replies[1:]],
        "waiting_on_customer": waits,
        "resolved_at": resolved.isoformat() if resolved else None,
        "owner_assigned_at": owner.isoformat() if owner else None,
    })


@st.composite
def chunks(draw) -> list[Ticket]:
    size = draw(st.integers(1, 12))
    return [draw(tickets(i)) for i in range(size)]


def _us(moment):
    return NONE if moment is None else microseconds(moment)


def _same(columns_clock, row: int, measurement, what: str) -> None:
    status = STATUSES[columns_clock.status[row]]
    seconds = int(columns_clock.elapsed_seconds[row])
    mine = (status, None if seconds == -1 else seconds, int(columns_clock.at[row]))
    theirs = (measurement.status, measurement.elapsed_seconds, _us(measurement.at))
    assert mine == theirs, what


def check_against_engine(config, chunk: list[Ticket], now: datetime) -> None:
    plans = [TicketPlan.of(config, region.id, severity) for region in config.regions for severity in SEVERITIES]
    index = {(region.id, severity): i * len(SEVERITIES) + j
             for i, region in enumerate(config.regions) for j, severity in enumerate(SEVERITIES)}
    codes = [index[t.region, t.severity] for t in chunk]
    result = evaluate(columns(chunk, codes), plans, now)
    for row, ticket in enumerate(chunk):
        plan = plans[codes[row]]
        shown = f"{ticket.model_dump_json(exclude_defaults=True)} as of {now.isoformat()}"
        engine = evaluate_ticket(ticket_times(ticket), config.sla.policies[ticket.severity], plan.calendar, now)
        owner = measure(Clock(plan.calendar, config.sla.ola.owner_assigned.get(ticket.severity), ticket.created_at,
                              ticket.owner_assigned_at), now)
        _same(result.first_response, row, engine["first_response"], f"first_response of {shown}")
        _same(result.resolution, row, engine["resolution"], f"resolution of {shown}")
        _same(result.owner_assigned, row, owner, f"owner_assigned of {shown}")
        gap_rows = [g for g in range(len(result.gap_ticket)) if result.gap_ticket[g] == row]
        engine_gaps = engine["update_cadence"].gaps
        assert len(gap_rows) == len(engine_gaps), f"gaps of {shown}"
        for g, gap in zip(gap_rows, engine_gaps):
            _same(result.gaps, g, gap.measurement, f"gap from {gap.since} of {shown}")
        statuses = {engine["first_response"].status, engine["resolution"].status}
        attained = ("breached" if "breached" in statuses else "achieved" if statuses == {"achieved"} else "pending")
        assert STATUSES[result.attainment[row]].value == attained, ticket.id


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk=chunks(), now=moments)
def test_every_clock_of_random_tickets_equals_the_engine(repository, chunk, now):
    check_against_engine(repository.config, chunk, now)


@pytest.mark.parametrize("now", ["2025-10-17T15:00+09:00", "2025-11-20T12:00+09:00"])
def test_every_clock_of_the_sample_equals_the_engine(repository, now):
    from conftest import PROJECT, at
    from generator.report.tickets import read_tickets

    imported = read_tickets([PROJECT / "tickets" / "sample-2025-10.jsonl"], ["KR", "JP"])
    check_against_engine(repository.config, list(imported.tickets), at(now))
