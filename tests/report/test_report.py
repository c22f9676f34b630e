"""The monthly SLA report, on ticket sets small enough to work out by hand (the arithmetic is in the comments)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import at
from generator.report.monthly import Month, monthly_report, nearest_rank
from generator.report.tickets import read_tickets

NOW = at("2025-11-20T12:00+09:00")
OCTOBER = Month.parse("2025-10")


def row(ident: str, **fields) -> dict:
    """A valid KR ticket row; `fields` override or add columns."""
    base = {"id": ident, "severity": "S2", "tenant": "acme-kr", "region": "KR", "category": "incident",
            "purpose": "API errors", "evidence_uri": ["https://grafana.example.com/d/x"],
            "created_at": "2025-10-06T10:00:00+09:00"}
    return {**base, **fields}


def import_rows(tmp_path: Path, rows: list[dict], name: str = "export.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    imported = read_tickets([path], ["KR", "JP"])
    assert imported.problems == ()
    return imported.tickets


def report_of(tmp_path, repository, rows, month=OCTOBER, now=NOW):
    return monthly_report(import_rows(tmp_path, rows), repository, month, now)


def test_nearest_rank_percentile_is_always_one_of_the_values():
    assert nearest_rank([40, 10, 30, 20], 50) == 20   # rank ceil(0.5 * 4) = 2
    assert nearest_rank([40, 10, 30, 20], 90) == 40   # rank ceil(0.9 * 4) = 4
    assert nearest_rank([7], 90) == 7
    assert nearest_rank(list(range(1, 11)), 90) == 9  # rank ceil(0.9 * 10) = 9
    assert nearest_rank([], 50) is None


def test_attainment_and_percentiles_of_four_s2_tickets(tmp_path, repository):
    # S2 runs 24x7: first response <= 30 min, resolution <= 8 h. Replies every 20 min keep the cadence out of it.
    def s2(ident, first_min, resolved_h):
        created = at("2025-10-06T10:00+09:00")
        from datetime import timedelta
        first = created + timedelta(minutes=first_min)
        resolved = created + timedelta(hours=resolved_h)
        replies, t = [], first
        while t + timedelta(minutes=20) < resolved:
            t += timedelta(minutes=20)
            replies.append(t.isoformat())
        return row(ident, first_public_reply_at=first.isoformat(), public_replies_at=replies,
                   resolved_at=resolved.isoformat())

    report = report_of(tmp_path, repository, [s2("A", 10, 2), s2("B", 20, 3), s2("C", 40, 4), s2("D", 25, 9)])
    s2row = report.overall.severities[1]
    # C answered after 40 min (> 30), D resolved after 9 h (> 8): 2 of 4 attained = 50 % against 96 %.
    assert (s2row.tickets, s2row.attained, s2row.decided, s2row.attainment) == (4, 2, 4, 50.0)
    assert (s2row.target, s2row.verdict) == (96.0, "missed")
    # First responses 10, 20, 25, 40 min: p50 = 2nd of 4 = 20 min, p90 = 4th of 4 = 40 min.
    assert s2row.first_response_seconds == {50: 1200, 90: 2400}
    # Resolutions 2, 3, 4, 9 h: p50 = 3 h, p90 = 9 h.
    assert s2row.resolution_seconds == {50: 3 * 3600, 90: 9 * 3600}
    missed = {(b.ticket_id, b.metric): b.missed_by_seconds for b in report.breaches}
    assert missed == {("C", "first_response_time"): 600, ("D", "resolution_time"): 3600}
    assert report.overall.breached_tickets == ("C", "D")
    assert report.overall.update_interval_compliance.verdict == "met"


def test_update_interval_compliance_counts_every_gap(tmp_path, repository):
    rows = [
        # S2 cadence 60 min. Gaps: 10:10->11:00 50 min ok, 11:00->12:30 90 min late by 30, 12:30->13:00 ok.
        row("GAPS", first_public_reply_at="2025-10-06T10:10:00+09:00",
            public_replies_at=["2025-10-06T11:00:00+09:00", "2025-10-06T12:30:00+09:00"],
            resolved_at="2025-10-06T13:00:00+09:00"),
        # One gap, 10:10 -> 10:50: ok.
        row("ONE", first_public_reply_at="2025-10-06T10:10:00+09:00", resolved_at="2025-10-06T10:50:00+09:00"),
    ]
    report = report_of(tmp_path, repository, rows)
    uic = report.overall.update_interval_compliance
    # 3 of 4 gaps within 60 min = 75 % against >= 95 %.
    assert (uic.within, uic.decided, uic.value, uic.target, uic.verdict) == (3, 4, 75.0, 95.0, "missed")
    [breach] = report.breaches
    assert (breach.ticket_id, breach.metric, breach.missed_by_seconds) == ("GAPS", "update_interval", 1800)
    assert breach.started == at("2025-10-06T11:00+09:00") and breach.due == at("2025-10-06T12:00+09:00")


def test_waiting_on_the_customer_pauses_resolution_on_business_hours(tmp_path, repository):
    # S3 on the KR business calendar (09:00-18:00, Mon-Fri; no holiday 13-17 Oct 2025): resolution <= 3d = 27 h.
    ticket = row("PAUSED", severity="S3", created_at="2025-10-13T09:00:00+09:00",
                 first_public_reply_at="2025-10-13T10:00:00+09:00",
                 public_replies_at=["2025-10-16T17:00:00+09:00", "2025-10-17T09:00:00+09:00"],
                 waiting_on_customer=[{"start": "2025-10-13T10:00:00+09:00", "end": "2025-10-16T09:00:00+09:00"}],
                 resolved_at="2025-10-17T18:00:00+09:00")
    report = report_of(tmp_path, repository, [ticket])
    s3 = report.overall.severities[2]
    # Mon 09-10 (1 h), paused until Thu 09:00, Thu 9 h, Fri 9 h = 19 h <= 27 h. Unpaused it would be 45 h.
    assert s3.resolution_seconds == {50: 19 * 3600, 90: 19 * 3600}
    assert (s3.attained, s3.decided, s3.attainment, s3.verdict) == (1, 1, 100.0, "met")
    # Cadence 1d = 9 h: Mon 10:00 -> Thu 17:00 is 8 h unpaused, Thu 17 -> Fri 09 is 1 h, Fri 09 -> 18 is 9 h.
    assert report.overall.update_interval_compliance.value == 100.0
    assert report.breaches == ()


def test_a_ticket_belongs_to_the_month_it_was_created_in_local_time(tmp_path, repository):
    rows = [
        # 23:30 KST on 31 October, resolved in November: an October ticket.
        row("LAST-EVENING", created_at="2025-10-31T23:30:00+09:00", first_public_reply_at="2025-10-31T23:40:00+09:00",
            resolved_at="2025-11-01T00:20:00+09:00"),
        # 31 October 15:30 UTC is 1 November 00:30 KST: a November ticket although its UTC date is in October.
        row("UTC-OCTOBER", created_at="2025-10-31T15:30:00Z", first_public_reply_at="2025-10-31T15:40:00Z",
            resolved_at="2025-10-31T16:20:00Z"),
        # 30 September 23:00 KST, resolved in October: a September ticket.
        row("SEPTEMBER", created_at="2025-09-30T23:00:00+09:00", first_public_reply_at="2025-09-30T23:10:00+09:00",
            resolved_at="2025-10-01T00:30:00+09:00"),
    ]
    tickets = import_rows(tmp_path, rows)
    october = monthly_report(tickets, repository, OCTOBER, NOW)
    november = monthly_report(tickets, repository, Month.parse("2025-11"), NOW)
    september = monthly_report(tickets, repository, Month.parse("2025-09"), NOW)
    assert october.overall.tickets == 1 and october.overall.daily[30] == 1 and sum(october.overall.daily) == 1
    assert november.overall.tickets == 1 and november.overall.daily[0] == 1 and len(november.overall.daily) == 30
    assert september.overall.tickets == 1 and september.overall.daily[29] == 1
    # The October ticket's resolution (50 min) counts in October although it happened in November.
    assert october.overall.severities[1].resolution_seconds[50] == 50 * 60


def test_an_open_ticket_is_pending_until_its_target_runs_out(tmp_path, repository):
    rows = [row("OPEN", created_at="2025-10-06T10:00:00+09:00", first_public_reply_at="2025-10-06T10:05:00+09:00")]
    early = report_of(tmp_path, repository, rows, now=at("2025-10-06T11:00+09:00"))
    s2 = early.overall.severities[1]
    # Neither achieved nor breached yet: left out of the attainment; no resolution time for the percentiles.
    assert (s2.tickets, s2.decided, s2.attainment, s2.verdict, s2.resolution_seconds[50]) == (1, 0, None, "no_data",
                                                                                              None)
    late = report_of(tmp_path, repository, rows, now=at("2025-10-06T19:00+09:00"))
    # 9 h open against 8 h: breached by 1 h so far, still open (at is None).
    [resolution] = [b for b in late.breaches if b.metric == "resolution_time"]
    assert (resolution.missed_by_seconds, resolution.at) == (3600, None)
    assert late.overall.severities[1].attainment == 0.0


def test_mean_csat_against_target(tmp_path, repository):
    scores = {"acme-kr": [5, 4, 4], "hanbit-logistics": [5, 5, 4, 4]}
    rows = [row(f"{tenant}-{n}", tenant=tenant, csat=score, first_public_reply_at="2025-10-06T10:05:00+09:00",
                resolved_at="2025-10-06T10:30:00+09:00")
            for tenant, values in scores.items() for n, score in enumerate(values)]
    report = report_of(tmp_path, repository, rows)
    tenants = {g.key: g.csat for g in report.tenants}
    # 13 / 3 = 4.33 < 4.5; 18 / 4 = 4.5, met at exactly the target.
    assert (tenants["acme-kr"].value, tenants["acme-kr"].verdict) == (4.33, "missed")
    assert (tenants["hanbit-logistics"].value, tenants["hanbit-logistics"].verdict) == (4.5, "met")
    # All seven: 31 / 7 = 4.43.
    assert (report.overall.csat.value, report.overall.csat.decided) == (4.43, 7)


def test_owner_assignment_ola_of_s1(tmp_path, repository):
    rows = [row("S1-LATE", severity="S1", owner_assigned_at="2025-10-06T10:12:00+09:00",
                first_public_reply_at="2025-10-06T10:05:00+09:00",
                public_replies_at=["2025-10-06T10:30:00+09:00"], resolved_at="2025-10-06T11:00:00+09:00"),
            row("S1-OK", severity="S1", owner_assigned_at="2025-10-06T10:04:00+09:00",
                first_public_reply_at="2025-10-06T10:05:00+09:00", resolved_at="2025-10-06T10:30:00+09:00")]
    report = report_of(tmp_path, repository, rows)
    ola = report.overall.owner_assigned
    # 12 min against 10 min: 1 of 2 = 50 %; the OLA is a per-ticket target, met only at 100 %.
    assert (ola.within, ola.decided, ola.value, ola.verdict) == (1, 2, 50.0, "missed")
    [breach] = report.breaches
    assert (breach.ticket_id, breach.metric, breach.missed_by_seconds) == ("S1-LATE", "owner_assigned", 120)


def test_rca_lead_time_of_the_months_incidents_per_region_and_tenant(tmp_path, repository):
    rows = [row("LINKED", tenant="nova-fintech", incident_id="2025-10-02-kr-ingest-latency",
                created_at="2025-10-02T10:20:00+09:00", first_public_reply_at="2025-10-02T10:25:00+09:00",
                resolved_at="2025-10-02T11:30:00+09:00"),
            row("JP", region="JP", tenant="sakura-retail", first_public_reply_at="2025-10-06T10:05:00+09:00",
                resolved_at="2025-10-06T10:30:00+09:00")]
    report = report_of(tmp_path, repository, rows)
    [rca] = report.overall.rca_incidents
    # Resolved 10-02 11:26 KST, RCA published 10-03 23:26 KST: 36 h against S2's 72 h.
    assert (rca.incident, rca.lead_seconds, rca.status.value) == ("2025-10-02-kr-ingest-latency", 36 * 3600,
                                                                   "achieved")
    regions = {g.key: g for g in report.regions}
    assert regions["KR"].rca.verdict == "met" and regions["JP"].rca.verdict == "no_data"  # the JP one is S3
    tenants = {g.key: g for g in report.tenants}
    # nova-fintech is linked through its ticket; sakura-retail has no incident owing an RCA.
    assert tenants["nova-fintech"].rca.decided == 1 and tenants["sakura-retail"].rca.decided == 0
    assert report.as_json()["month"] == "2025-10"


def test_groups_per_region_and_per_tenant(tmp_path, repository):
    rows = [row("K1", first_public_reply_at="2025-10-06T10:05:00+09:00", resolved_at="2025-10-06T10:30:00+09:00"),
            row("K2", tenant="nova-fintech", severity="S4", category="howto"),
            row("J1", region="JP", tenant="nova-fintech", severity="S3", category="billing")]
    report = report_of(tmp_path, repository, rows)
    assert [(g.key, g.tickets) for g in report.regions] == [("KR", 2), ("JP", 1)]
    assert [(g.key, g.tickets) for g in report.tenants] == [("acme-kr", 1), ("nova-fintech", 2)]
    nova = report.tenants[1]
    assert [r.tickets for r in nova.severities] == [0, 0, 1, 1]
    assert report.overall.daily[5] == 3  # all created on 6 October


@pytest.fixture
def sample_report(repository):
    from conftest import PROJECT

    imported = read_tickets([PROJECT / "tickets" / "sample-2025-10.jsonl"], ["KR", "JP"])
    return imported, monthly_report(imported.tickets, repository, OCTOBER, NOW)


def test_the_shipped_sample_is_valid_and_has_breaches_pauses_and_linked_tickets(sample_report):
    imported, report = sample_report
    assert imported.problems == () and 200 <= len(imported.tickets) <= 500
    assert any(t.waiting_on_customer for t in imported.tickets)
    assert sum(t.incident_id == "2025-10-02-kr-ingest-latency" for t in imported.tickets) >= 3
    assert report.breaches and {g.key for g in report.regions} == {"KR", "JP"}
    assert len(report.tenants) >= 3
    # Two tickets of 30 September are left out.
    assert report.overall.tickets == len(imported.tickets) - 2
