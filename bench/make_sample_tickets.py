"""Write the synthetic sample export tickets/sample-2025-10.jsonl (seeded: the same file every run).

Run from the repository root: `PYTHONPATH=. python bench/make_sample_tickets.py [--seed 2025] [--count 320]
[--month 2025-10] [--out tickets/sample-2025-10.jsonl]`. `bench/report.py` uses `synthetic_tickets` for its
100,000-ticket run.

Times are drawn as fractions of each SLA target on the ticket's own calendar (the SLA engine's), so most
tickets keep their targets and about one in fifteen misses one; a fifth of the S3/S4 tickets wait on the
customer for a while; the worked example's S2 incident (2025-10-02-kr-ingest-latency) brings a burst of
linked S2 tickets from KR tenants; a few tickets are created on the last evening of the month and resolved
in the next one, and a few in the previous month (which the October report leaves out).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.content.load import load_config  # noqa: E402
from generator.content.model import Config, Severity  # noqa: E402
from generator.sla.calendar import calendar_for  # noqa: E402
from generator.sla.engine import Pause, due_time  # noqa: E402

TENANTS = {"KR": ["acme-kr", "hanbit-logistics", "nova-fintech"], "JP": ["sakura-retail", "kumo-games", "nova-fintech"]}
SEVERITY_WEIGHTS = {Severity.S1: 3, Severity.S2: 12, Severity.S3: 50, Severity.S4: 35}
CATEGORIES = ["billing", "incident", "howto", "fp/miss"]
PURPOSES = {
    "billing": "Invoice amount does not match the usage report",
    "incident": "Console or API errors seen by the tenant",
    "howto": "How to configure a saved query or a notification rule",
    "fp/miss": "Suspected false positive or missed detection",
}
INCIDENT = "2025-10-02-kr-ingest-latency"
INCIDENT_START = datetime.fromisoformat("2025-10-02T10:14:00+09:00")
# Tickets the sample incidents already name (incidents/2025/*.yaml `tickets:`).
NAMED = {"2025-10-02-kr-ingest-latency": "CS-20251002-0042", "2025-10-15-jp-search-false-positive": "CS-20251015-0107"}
MISS_RATE = 0.04


def _fraction(rng: random.Random, miss_rate: float = MISS_RATE) -> float:
    """Share of a target used: mostly well within, sometimes over."""
    return rng.uniform(1.05, 2.5) if rng.random() < miss_rate else rng.uniform(0.05, 0.9)


def _minutes(delta: timedelta) -> timedelta:
    return timedelta(minutes=max(1, round(delta.total_seconds() / 60)))


def make_ticket(config: Config, rng: random.Random, ident: str, region: str, tenant: str, severity: Severity,
                created: datetime, category: str, incident_id: str | None = None) -> dict:
    policy = config.sla.policies[severity]
    calendar = calendar_for(config, region, severity)
    tz = config.region(region).tz
    created = created.astimezone(tz).replace(second=0, microsecond=0)
    ola = config.sla.ola.owner_assigned.get(severity)
    owner_target = calendar.duration(ola) if ola else timedelta(minutes=40)
    owner = calendar.add(created, _minutes(owner_target * _fraction(rng)))
    first = calendar.add(created, _minutes(calendar.duration(policy.first_response) * _fraction(rng)))
    pauses: list[Pause] = []
    if severity in (Severity.S3, Severity.S4) and rng.random() < 0.2:
        start = first + timedelta(minutes=rng.randrange(10, 240))
        pauses.append(Pause(start, start + timedelta(hours=rng.randrange(4, 96))))
    running = _minutes(calendar.duration(policy.resolution) * _fraction(rng))
    resolved = due_time(calendar, created, running, pauses)
    resolved = max(resolved, first + timedelta(minutes=1))
    replies, cursor = [], first
    cadence = calendar.duration(policy.update_cadence) if policy.update_cadence else None
    while cadence is not None:
        cursor = calendar.add(cursor, _minutes(cadence * _fraction(rng, miss_rate=0.02)))
        for pause in pauses:
            if pause.start <= cursor <= pause.end:
                cursor = pause.end + timedelta(minutes=rng.randrange(5, 60))
        if cursor >= resolved:
            break
        replies.append(cursor)
    closed = resolved + timedelta(hours=rng.randrange(2, 72))
    row = {
        "id": ident, "severity": severity.value, "tenant": tenant, "region": region, "category": category,
        "purpose": PURPOSES[category],
        "evidence_uri": [f"https://grafana.example.com/d/{region.lower()}-{tenant}?ticket={ident}"],
        "created_at": created.isoformat(), "owner_assigned_at": owner.astimezone(tz).isoformat(),
        "first_public_reply_at": first.astimezone(tz).isoformat(),
        "public_replies_at": [t.astimezone(tz).isoformat() for t in replies],
        "waiting_on_customer": [{"start": p.start.astimezone(tz).isoformat(), "end": p.end.astimezone(tz).isoformat()}
                                for p in pauses],
        "resolved_at": resolved.astimezone(tz).isoformat(), "closed_at": closed.astimezone(tz).isoformat(),
    }
    if rng.random() < 0.6:
        late = resolved > calendar.add(created, policy.resolution)
        row["csat"] = rng.choices([1, 2, 3, 4, 5], weights=[1, 2, 4, 18, 75] if not late else [15, 20, 30, 20, 15])[0]
    if incident_id:
        row["incident_id"] = incident_id
    return row


def _created(rng: random.Random, first_day: datetime, days: int, tz) -> datetime:
    day = first_day + timedelta(days=rng.randrange(days))
    # Most tickets arrive in office hours, some in the evening and at night.
    hour = rng.randrange(9, 18) if rng.random() < 0.75 else rng.choice([0, 2, 5, 7, 19, 21, 23])
    return day.replace(hour=hour, minute=rng.randrange(60), tzinfo=tz)


def synthetic_tickets(config: Config, count: int, seed: int, year: int = 2025, month: int = 10,
                      sample_extras: bool = True) -> list[dict]:
    """`count` tickets created in the month, plus (with `sample_extras`) the incident burst and the edges."""
    rng, first_day, days, new_id = _drawing(seed, year, month)
    rows = list(_drawn(config, rng, count, first_day, days, new_id))
    if sample_extras:
        kr = config.region("KR").tz
        # The worked example: KR tenants report the ingest latency within minutes of the alarm.
        for n, tenant in enumerate(["acme-kr", "hanbit-logistics", "acme-kr", "nova-fintech", "hanbit-logistics"]):
            created = INCIDENT_START + timedelta(minutes=1 + 6 * n)
            ident = NAMED[INCIDENT] if n == 0 else new_id(created)
            rows.append(make_ticket(config, rng, ident, "KR", tenant, Severity.S2, created, "incident", INCIDENT))
        jp = config.region("JP").tz
        rows.append(make_ticket(config, rng, NAMED["2025-10-15-jp-search-false-positive"], "JP", "sakura-retail",
                                Severity.S3, datetime(2025, 10, 15, 14, 10, tzinfo=jp), "fp/miss",
                                "2025-10-15-jp-search-false-positive"))
        # Month edges: created on the last evening (resolved next month) and the month before (not counted).
        for region, tz in (("KR", kr), ("JP", jp)):
            for severity, hour in ((Severity.S3, 17), (Severity.S2, 22)):
                created = datetime(year, month, days, hour, 30, tzinfo=tz)
                rows.append(make_ticket(config, rng, new_id(created), region, TENANTS[region][0], severity, created,
                                        "howto" if severity is Severity.S3 else "incident"))
            created = first_day.replace(tzinfo=tz) - timedelta(hours=2)
            rows.append(make_ticket(config, rng, new_id(created), region, TENANTS[region][1], Severity.S3, created,
                                    "billing"))
    rows.sort(key=lambda row: (row["created_at"], row["id"]))
    return rows


def streamed_tickets(config: Config, count: int, seed: int, year: int = 2025, month: int = 10) -> Iterator[dict]:
    """`synthetic_tickets(..., sample_extras=False)` one at a time and not sorted: for exports of any size."""
    rng, first_day, days, new_id = _drawing(seed, year, month)
    yield from _drawn(config, rng, count, first_day, days, new_id)


def _drawing(seed: int, year: int, month: int):
    rng = random.Random(seed)
    first_day = datetime(year, month, 1)
    days = ((first_day.replace(day=28) + timedelta(days=4)).replace(day=1) - first_day).days
    counters: dict[str, int] = {}
    used = set(NAMED.values())

    def new_id(created: datetime) -> str:
        stamp = created.strftime("%Y%m%d")
        while True:
            counters[stamp] = counters.get(stamp, 0) + 1
            ident = f"CS-{stamp}-{counters[stamp]:04d}"
            if ident not in used:
                used.add(ident)
                return ident

    return rng, first_day, days, new_id


def _drawn(config: Config, rng: random.Random, count: int, first_day: datetime, days: int, new_id) -> Iterator[dict]:
    severities, weights = zip(*SEVERITY_WEIGHTS.items())
    for _ in range(count):
        region = rng.choice(list(TENANTS))
        tz = config.region(region).tz
        created = _created(rng, first_day, days, tz)
        severity = rng.choices(severities, weights)[0]
        yield make_ticket(config, rng, new_id(created), region, rng.choice(TENANTS[region]), severity, created,
                          rng.choice(CATEGORIES))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--count", type=int, default=320)
    parser.add_argument("--month", default="2025-10")
    parser.add_argument("--out", type=Path, default=ROOT / "tickets" / "sample-2025-10.jsonl")
    args = parser.parse_args()
    year, month = (int(x) for x in args.month.split("-"))
    rows = synthetic_tickets(load_config(ROOT), args.count, args.seed, year, month)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} tickets to {args.out}")


if __name__ == "__main__":
    main()
