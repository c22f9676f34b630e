"""The SLA/OLA metrics of incidents, maintenance and tickets, read from the shipped sample content."""
from __future__ import annotations

from datetime import timedelta

import pytest

from generator.content.model import Severity
from generator.sla.calendar import TwentyFourSeven, region_calendar
from generator.sla.engine import (
    Clock,
    Pause,
    Status,
    TicketTimes,
    cadence,
    evaluate_incident,
    evaluate_maintenance,
    evaluate_repository,
    maintenance_notice,
    measure,
    next_update_due,
)

from conftest import at

WORKED_EXAMPLE = "2025-10-02-kr-ingest-latency"
LATER = at("2025-11-01T00:00+09:00")


@pytest.fixture(scope="module")
def worked(repository):
    incident = next(i for i in repository.incidents if i.id == WORKED_EXAMPLE)
    return evaluate_incident(incident, repository.config, repository.rcas, LATER)


def incident_with(repository, incident_id=WORKED_EXAMPLE, **changes):
    incident = next(i for i in repository.incidents if i.id == incident_id)
    return incident.model_copy(update=changes)


# ---------------------------------------------------------------- the worked example (S2, KR)


def test_worked_example_first_response_achieved_after_6_minutes(worked):
    m = worked.metrics["first_response"]
    assert (m.status, m.elapsed_seconds, m.target) == (Status.achieved, 6 * 60, "30m")
    assert m.at == at("2025-10-02T10:20+09:00")
    assert m.due == at("2025-10-02T10:44+09:00")


def test_worked_example_was_posted_in_time(worked):
    m = worked.metrics["status_post"]
    # S2 must be on the page once it has lasted 10 min: due 10:24, posted 10:20.
    assert (m.status, m.due, m.target) == (Status.achieved, at("2025-10-02T10:24+09:00"), "10m")


def test_worked_example_updates_never_more_than_30_minutes_apart(worked):
    m = worked.metrics["update_cadence"]
    assert m.status is Status.achieved
    assert [g.measurement.elapsed_seconds // 60 for g in m.gaps] == [7, 28, 25, 6]
    assert max(g.measurement.elapsed_seconds for g in m.gaps) <= 30 * 60
    assert m.update_interval_compliance == 100.0
    assert [p.status for p in m.promises] == [Status.achieved] * 4


def test_worked_example_resolved_after_72_minutes_against_8_hours(worked):
    m = worked.metrics["resolution"]
    assert (m.status, m.elapsed_seconds, m.target) == (Status.achieved, 72 * 60, "8h")
    assert m.due == at("2025-10-02T18:14+09:00")


def test_worked_example_rca_published_after_36_hours(worked):
    m = worked.metrics["rca_published"]
    assert (m.status, m.elapsed_seconds, m.target) == (Status.achieved, 36 * 3600, "72h")
    assert m.at == at("2025-10-03T23:26+09:00")


def test_worked_example_ola(worked):
    assert worked.metrics["owner_assigned"].status is Status.not_applicable  # the 10 min OLA is for S1
    verdict = worked.metrics["secondary_verdict"]
    assert (verdict.status, verdict.elapsed_seconds) == (Status.achieved, 24 * 60)


def test_report_json_keeps_the_published_key_names(worked):
    data = worked.as_json()
    assert {"id", "severity", "region", "metrics"} <= data.keys()
    assert data["severity"] == "S2" and data["region"] == "KR"
    for metric in data["metrics"].values():
        assert {"target", "due", "at", "elapsed_seconds", "status"} <= metric.keys()
    assert data["metrics"]["resolution"]["due"] == "2025-10-02T18:14:00+09:00"


# ---------------------------------------------------------------- as of `now`


def test_events_after_now_have_not_happened_yet(repository):
    incident = incident_with(repository)
    report = evaluate_incident(incident, repository.config, repository.rcas, at("2025-10-02T10:18+09:00"))
    first = report.metrics["first_response"]
    assert (first.status, first.at, first.elapsed_seconds) == (Status.pending, None, 4 * 60)
    assert report.metrics["rca_published"].status is Status.pending
    assert report.metrics["update_cadence"].status is Status.pending


def test_a_missed_deadline_is_breached_before_the_event_happens(repository):
    updates = incident_with(repository).updates
    late_post = updates[0].model_copy(update={"at": at("2025-10-02T10:40+09:00"), "next_update_at": None})
    incident = incident_with(repository, updates=[late_post], resolved_at=None)
    # As of 10:30 nothing is posted yet, and the S2 post was due at 10:24: already a fact.
    m = evaluate_incident(incident, repository.config, repository.rcas, at("2025-10-02T10:30+09:00")).metrics
    assert (m["status_post"].status, m["status_post"].at) == (Status.breached, None)
    assert m["first_response"].status is Status.pending  # due 10:44


def test_breached_when_the_update_comes_too_late(repository):
    updates = list(incident_with(repository).updates)
    late = updates[2].model_copy(update={"at": at("2025-10-02T11:40+09:00"), "next_update_at": None})
    incident = incident_with(repository, updates=[updates[0], updates[1], late, updates[4]],
                             resolved_at=at("2025-10-02T11:45+09:00"))
    incident = incident.model_copy(update={"updates": [*incident.updates[:3], updates[4].model_copy(
        update={"at": at("2025-10-02T11:45+09:00")})]})
    m = evaluate_incident(incident, repository.config, repository.rcas, LATER).metrics["update_cadence"]
    # 10:27 -> 11:40 is 73 min against 60 min; the promise of 10:57 (made at 10:27) was broken.
    assert m.status is Status.breached
    assert [g.measurement.status for g in m.gaps] == [Status.achieved, Status.breached, Status.achieved]
    assert m.update_interval_compliance == pytest.approx(66.67)
    assert m.promises[1].status is Status.breached


def test_an_open_gap_is_due_at_the_next_update(repository):
    incident = incident_with(repository, resolved_at=None, updates=incident_with(repository).updates[:2])
    m = evaluate_incident(incident, repository.config, repository.rcas, at("2025-10-02T10:40+09:00")).metrics
    cadence_now = m["update_cadence"]
    assert cadence_now.status is Status.pending
    assert cadence_now.due == at("2025-10-02T11:27+09:00")  # 10:27 + 60 min
    assert m["resolution"].status is Status.pending
    # The promise in the last update (10:57) is earlier than the cadence deadline: it is the one owed.
    assert next_update_due(incident, repository.config, at("2025-10-02T10:40+09:00")) == at("2025-10-02T10:57+09:00")


def test_next_update_due_is_none_once_resolved(repository):
    assert next_update_due(incident_with(repository), repository.config, LATER) is None


# ---------------------------------------------------------------- status_post


def test_s1_must_be_posted_within_its_first_response_target(repository):
    incident = incident_with(repository, severity=Severity.S1)
    m = evaluate_incident(incident, repository.config, repository.rcas, LATER).metrics
    assert (m["status_post"].target, m["status_post"].status) == ("15m", Status.achieved)
    owner = m["owner_assigned"]  # OLA: assigned 10:16, 2 min after detection
    assert (owner.target, owner.status, owner.elapsed_seconds) == ("10m", Status.achieved, 120)
    assert m["rca_published"].target == "48h"


def test_s2_over_within_10_minutes_needs_no_status_post(repository):
    incident = incident_with(repository, resolved_at=at("2025-10-02T10:22+09:00"))
    m = evaluate_incident(incident, repository.config, repository.rcas, LATER).metrics["status_post"]
    assert m.status is Status.not_applicable


def test_s3_has_no_status_post_rca_or_ola(repository):
    report = next(r for r in evaluate_repository(repository, LATER) if r.severity == "S3")
    for name in ("status_post", "rca_published", "owner_assigned", "secondary_verdict"):
        assert report.metrics[name].status is Status.not_applicable


def test_s3_sample_runs_on_the_japanese_business_calendar(repository):
    report = next(r for r in evaluate_repository(repository, LATER) if r.severity == "S3")
    # Detected Wed 2025-10-15 14:05 JST; 3d = 27 h: 3.9 h Wed + 9 Thu + 9 Fri = 21.9 h; Mon 10-20 09:00
    # + 5.1 h = 14:05.
    assert report.metrics["resolution"].due == at("2025-10-20T14:05+09:00")


# ---------------------------------------------------------------- maintenance notice


def test_sample_maintenance_gave_enough_notice(repository):
    report = next(r for r in evaluate_repository(repository, LATER) if r.kind == "maintenance")
    m = report.metrics["status_post"]
    # Announced Fri 10-17 11:00 JST for Sat 10-25 02:00: 7 + 4 x 9 + 9 = 52 business hours >= 27.
    assert (m.status, m.elapsed_seconds, m.due) == (Status.achieved, 52 * 3600, at("2025-10-22T09:00+09:00"))


def test_maintenance_announced_across_golden_week_is_too_late(config):
    jp = region_calendar(config, "JP")
    # Window Wed 2025-05-07 02:00 JST, announced Wed 04-30 10:00: a week ahead on the wall clock, but
    # only 8 (Wed) + 9 (Thu 05-01) + 9 (Fri 05-02) = 26 business hours: 05-03..05-06 are holidays.
    # The latest announcement was Wed 04-30 09:00.
    m = maintenance_notice(jp, "3d", at("2025-04-30T10:00+09:00"), at("2025-05-07T02:00+09:00"), LATER)
    assert (m.status, m.elapsed_seconds, m.due) == (Status.breached, 26 * 3600, at("2025-04-30T09:00+09:00"))
    on_time = maintenance_notice(jp, "3d", at("2025-04-30T09:00+09:00"), at("2025-05-07T02:00+09:00"), LATER)
    assert on_time.status is Status.achieved


def test_maintenance_announced_across_chuseok_is_too_late(config):
    kr = region_calendar(config, "KR")
    # Window Sat 2025-10-11 02:00 KST, announced Wed 10-01 15:00: 3 (Wed) + 9 (Thu 10-02) + 9 (Fri 10-10)
    # = 21 business hours; 10-03..10-09 are holidays and a weekend.
    m = maintenance_notice(kr, "3d", at("2025-10-01T15:00+09:00"), at("2025-10-11T02:00+09:00"), LATER)
    assert (m.status, m.elapsed_seconds) == (Status.breached, 21 * 3600)


def test_emergency_maintenance_is_still_reported_as_short_notice(repository):
    item = repository.maintenance[0]
    changed = item.model_copy(update={"announced_at": at("2025-10-24T10:00+09:00"),
                                      "emergency": {"reason": {"en": "CVE fix"}}})
    m = evaluate_maintenance(changed, repository.config, LATER).metrics["status_post"]
    assert m.status is Status.breached and m.as_json()["emergency"] is True


# ---------------------------------------------------------------- clocks and tickets


def test_a_pause_moves_the_due_time_and_is_not_counted():
    calendar = TwentyFourSeven()
    clock = Clock(calendar, "4h", at("2025-10-02T10:00+00:00"), at("2025-10-02T15:00+00:00"),
                  pauses=(Pause(at("2025-10-02T11:00+00:00"), at("2025-10-02T12:30+00:00")),))
    m = measure(clock, LATER)
    assert m.due == at("2025-10-02T15:30+00:00")
    assert (m.elapsed_seconds, m.status) == (int(3.5 * 3600), Status.achieved)


def test_an_open_pause_has_no_due_time():
    calendar = TwentyFourSeven()
    clock = Clock(calendar, "4h", at("2025-10-02T10:00+00:00"), pauses=(Pause(at("2025-10-02T11:00+00:00")),))
    m = measure(clock, at("2025-10-02T20:00+00:00"))
    assert (m.due, m.elapsed_seconds, m.status) == (None, 3600, Status.pending)


def test_ticket_clocks_reuse_the_business_calendar(config):
    from generator.sla.engine import evaluate_ticket

    kr = region_calendar(config, "KR")
    ticket = TicketTimes(
        severity=Severity.S3,
        created=at("2025-10-02T17:30+09:00"),
        replies=(at("2025-10-10T10:00+09:00"), at("2025-10-13T10:00+09:00")),
        waiting_on_customer=(Pause(at("2025-10-10T10:00+09:00"), at("2025-10-13T09:30+09:00")),),
        resolved=at("2025-10-14T10:00+09:00"),
    )
    m = evaluate_ticket(ticket, config.sla.policies[Severity.S3], kr, LATER)
    # First reply after 0.5 h (Thu) + 1 h (Fri 10-10) = 1.5 business hours.
    assert (m["first_response"].status, m["first_response"].elapsed_seconds) == (Status.achieved, 5400)
    # Resolution: 1.5 h, then paused until Mon 09:30, then 8.5 h (Mon) + 1 h (Tue) = 11 business hours.
    assert m["resolution"].elapsed_seconds == 11 * 3600 and m["resolution"].status is Status.achieved
    # Replies Fri 10:00 -> Mon 10:00 (0.5 h unpaused) -> resolved Tue 10:00 (8 + 1 = 9 h = 1d): both in time.
    assert [g.measurement.elapsed_seconds for g in m["update_cadence"].gaps] == [1800, 9 * 3600]
    assert m["update_cadence"].status is Status.achieved


def test_a_late_ticket_reply_breaches_the_cadence(config):
    from generator.sla.engine import evaluate_ticket

    kr = region_calendar(config, "KR")
    # Mon 2025-10-13 10:00 -> Tue 10-14 12:00 is 8 + 3 = 11 business hours against 1d = 9 h.
    ticket = TicketTimes(Severity.S3, at("2025-10-13T09:00+09:00"),
                         replies=(at("2025-10-13T10:00+09:00"),), resolved=at("2025-10-14T12:00+09:00"))
    m = evaluate_ticket(ticket, config.sla.policies[Severity.S3], kr, LATER)["update_cadence"]
    assert (m.status, m.update_interval_compliance) == (Status.breached, 0.0)


def test_cadence_with_no_target_and_no_promises_is_not_applicable():
    m = cadence(TwentyFourSeven(), None, [at("2025-10-02T10:00+00:00")], None, LATER)
    assert m.status is Status.not_applicable and m.gaps == ()
