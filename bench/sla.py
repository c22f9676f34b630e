"""Benchmark: evaluate 10,000 synthetic incidents and 100,000 synthetic tickets' clocks; print time and peak memory.

Run from the repository root: `PYTHONPATH=. python bench/sla.py [--incidents N] [--tickets N] [--seed N]`.
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.content.load import load_repository  # noqa: E402
from generator.content.model import Incident, Severity  # noqa: E402
from generator.sla.calendar import calendar_for  # noqa: E402
from generator.sla.engine import Pause, TicketTimes, evaluate_incident, evaluate_ticket  # noqa: E402

KST = timezone(timedelta(hours=9))
START = datetime(2024, 1, 1, tzinfo=KST)
NOW = datetime(2026, 1, 1, tzinfo=KST)


def synthetic_incidents(template: Incident, count: int, rng: random.Random) -> list[Incident]:
    incidents = []
    for n in range(count):
        detected = START + timedelta(minutes=rng.randrange(0, 700 * 24 * 60))
        severity = rng.choice(list(Severity))
        times, t = [], detected + timedelta(minutes=rng.randrange(1, 90))
        for _ in range(rng.randrange(1, 8)):
            times.append(t)
            t += timedelta(minutes=rng.randrange(5, 600))
        resolved = t if rng.random() < 0.9 else None
        update = template.updates[0]
        updates = [update.model_copy(update={"at": a, "next_update_at": a + timedelta(minutes=30)}) for a in times]
        incidents.append(template.model_copy(update={
            "id": f"synthetic-{n}", "severity": severity, "region": rng.choice(["KR", "JP"]),
            "detected_at": detected, "resolved_at": resolved, "updates": updates,
            "secondary_verdict_at": detected + timedelta(minutes=rng.randrange(5, 60)),
        }))
    return incidents


def synthetic_tickets(count: int, rng: random.Random) -> list[TicketTimes]:
    tickets = []
    for _ in range(count):
        created = START + timedelta(minutes=rng.randrange(0, 700 * 24 * 60))
        replies, t = [], created + timedelta(minutes=rng.randrange(5, 3000))
        for _ in range(rng.randrange(0, 6)):
            replies.append(t)
            t += timedelta(minutes=rng.randrange(30, 4000))
        pauses = ()
        if replies and rng.random() < 0.4:
            pauses = (Pause(replies[0], replies[0] + timedelta(minutes=rng.randrange(60, 5000))),)
        resolved = t if rng.random() < 0.85 else None
        tickets.append(TicketTimes(rng.choice(list(Severity)), created, tuple(replies), pauses, resolved))
    return tickets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--trace", action="store_true",
                        help="also trace allocations with tracemalloc (exact peak, about 3x slower timings)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    repository = load_repository(ROOT)
    config = repository.config
    template = next(i for i in repository.incidents if i.severity is Severity.S2)
    incidents = synthetic_incidents(template, args.incidents, rng)
    tickets = [(t, rng.choice(["KR", "JP"])) for t in synthetic_tickets(args.tickets, rng)]
    calendars = {(r, s): calendar_for(config, r, s) for r in ("KR", "JP") for s in Severity}

    if args.trace:
        tracemalloc.start()
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    reports = [evaluate_incident(i, config, repository.rcas, NOW) for i in incidents]
    incident_seconds = time.perf_counter() - began
    began = time.perf_counter()
    ticket_metrics = [evaluate_ticket(t, config.sla.policies[t.severity], calendars[(region, t.severity)], NOW)
                      for t, region in tickets]
    ticket_seconds = time.perf_counter() - began
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    print(f"incidents: {len(reports):>7,} evaluated in {incident_seconds:6.2f} s "
          f"({incident_seconds / len(reports) * 1e6:,.0f} µs each)")
    print(f"tickets:   {len(ticket_metrics):>7,} evaluated in {ticket_seconds:6.2f} s "
          f"({ticket_seconds / len(ticket_metrics) * 1e6:,.0f} µs each)")
    print(f"process max RSS: {rss / 1024:,.1f} MiB (inputs loaded: {base_rss / 1024:,.1f} MiB; "
          f"the results are kept, so the growth includes them)")
    if args.trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"peak traced Python memory during evaluation: {peak / 2**20:,.1f} MiB")


if __name__ == "__main__":
    main()
