"""Uptime history: the 90 local days of each component, the worst status of each day, availability without
maintenance windows, and the bar on the home page and the component's page."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest

from conftest import SAMPLE_NOW
from generator.content.load import load_content
from generator.content.model import ComponentStatus
from generator.render.uptime import HISTORY_DAYS, component_uptime, uptime_history

EXAMPLE = "2025-10-02-kr-ingest-latency"


@pytest.fixture
def repository(sample_repo):
    return load_content(sample_repo).repository


def test_the_worked_example_colours_2025_10_02_of_kr_ingest(repository):
    history = uptime_history(repository, SAMPLE_NOW)
    ingest = history["kr-ingest"]
    assert len(ingest.days) == HISTORY_DAYS
    assert (ingest.days[0].day, ingest.days[-1].day) == (date(2025, 7, 29), date(2025, 10, 26))
    day = ingest.day(date(2025, 10, 2))
    assert day.status is ComponentStatus.degraded_performance
    assert [i.id for i in day.incidents] == [EXAMPLE]
    others = [d for d in ingest.days if d.day != date(2025, 10, 2)]
    assert {d.status for d in others} == {ComponentStatus.operational}
    # degraded performance is slow, not down: the bar shows it, the percentage does not count it
    assert ingest.availability == 100.0
    assert history["jp-ingest"].day(date(2025, 10, 2)).status is ComponentStatus.operational


def test_maintenance_days_are_under_maintenance_and_left_out_of_availability(repository):
    search = uptime_history(repository, SAMPLE_NOW)["jp-search"]
    assert search.day(date(2025, 10, 25)).status is ComponentStatus.under_maintenance
    assert [m.id for m in search.day(date(2025, 10, 25)).maintenance] == ["2025-10-25-jp-search-upgrade"]
    # the window ran 02:00-03:35 JST (completed early): 95 minutes not counted
    full = (HISTORY_DAYS - 1) * 24 * 60 + 12 * 60
    assert search.counted_minutes == full - 95
    assert [d.day for d in search.days if d.incidents] == [date(2025, 10, 15), date(2025, 10, 16)]


def test_days_are_the_regions_local_days(repository):
    """An incident from 23:30 to 00:30 KST colours two Korean days; the same instant is one day earlier in UTC."""
    incident = repository.incidents[0]
    late = incident.model_copy(update={
        "started_at": None,
        "detected_at": datetime.fromisoformat("2025-10-10T23:30:00+09:00"),
        "resolved_at": datetime.fromisoformat("2025-10-11T00:30:00+09:00"),
        "updates": [u.model_copy(update={"at": datetime.fromisoformat("2025-10-10T23:35:00+09:00")})
                    for u in incident.updates[:1]]})
    shifted = repository.model_copy(update={"incidents": (late,)})
    ingest = component_uptime(shifted, repository.config.component("kr-ingest"), SAMPLE_NOW)
    coloured = [d.day for d in ingest.days if d.status is not ComponentStatus.operational]
    assert coloured == [date(2025, 10, 10), date(2025, 10, 11)]


def test_availability_weighs_major_outage_fully_and_partial_outage_half(repository):
    incident = repository.incidents[0]

    def outage(status: str, start: str, minutes: int):
        began = datetime.fromisoformat(start)
        return incident.model_copy(update={
            "id": f"x-{status}", "started_at": None, "detected_at": began,
            "resolved_at": began + timedelta(minutes=minutes),
            "components": [incident.components[0].model_copy(update={"status": ComponentStatus(status)})],
            "updates": [u.model_copy(update={"at": began}) for u in incident.updates[:1]]})

    broken = repository.model_copy(update={"incidents": (
        outage("major_outage", "2025-10-20T10:00:00+09:00", 60),
        outage("partial_outage", "2025-10-21T10:00:00+09:00", 120),
        # overlapping the major outage: each minute counts once, at its worst status
        outage("partial_outage", "2025-10-20T10:30:00+09:00", 60),
    ), "maintenance": ()})
    ingest = component_uptime(broken, repository.config.component("kr-ingest"), SAMPLE_NOW)
    assert ingest.downtime_minutes == 60 + 30 * 0.5 + 120 * 0.5
    assert ingest.day(date(2025, 10, 20)).status is ComponentStatus.major_outage
    assert [i.id for i in ingest.day(date(2025, 10, 20)).incidents] == ["x-major_outage", "x-partial_outage"]
    exact = 100 * (1 - 135 / ingest.counted_minutes)
    assert ingest.availability == pytest.approx(exact, abs=0.01) and ingest.availability <= exact


def test_an_unresolved_incident_counts_until_now(repository):
    incident = repository.incidents[0]
    open_now = incident.model_copy(update={
        "started_at": None, "detected_at": SAMPLE_NOW - timedelta(hours=1), "resolved_at": None,
        "components": [incident.components[0].model_copy(update={"status": ComponentStatus.major_outage})],
        "updates": [u.model_copy(update={"at": SAMPLE_NOW - timedelta(minutes=50)}) for u in incident.updates[:1]]})
    ingest = component_uptime(repository.model_copy(update={"incidents": (open_now,)}),
                              repository.config.component("kr-ingest"), SAMPLE_NOW)
    assert ingest.downtime_minutes == 60
    assert ingest.days[-1].status is ComponentStatus.major_outage


def test_the_home_page_bar_links_the_worked_example(built_sample):
    html = (built_sample / "en/index.html").read_text(encoding="utf-8")
    bar = re.search(r'<div class="sg-uptime" data-uptime="kr-ingest">.*?</div><p', html).group(0)
    # only the day with something to say is an element, placed in its column of the 90
    assert 'style="--n:90"' in bar and bar.count('class="sg-day') == 1
    day = re.search(r'<a class="sg-day sg-day-degraded_performance" style="--d:(\d+)" data-day="2025-10-02" '
                    r'href="([^"]+)"><span class="sg-tip">(.*?)</span></a>', bar)
    assert int(day.group(1)) == HISTORY_DAYS - (SAMPLE_NOW.date() - date(2025, 10, 2)).days
    assert day.group(2) == f"incidents/{EXAMPLE}/"
    tip = re.sub(r"<[^>]+>", "|", day.group(3))
    assert "Thu, Oct 2, 2025" in tip and "Degraded performance" in tip
    assert "[KR] Incident: Ingest→Incident latency ↑ · 1 h 12 min" in tip  # the incident and its duration that day
    assert "100.00% uptime" in html
    assert "maintenance windows left out" in html


def test_the_home_page_bars_stay_small(built_sample):
    """900 per-day elements used to be most of the home page; a quiet quarter is one element now."""
    html = (built_sample / "en/index.html").read_text(encoding="utf-8")
    assert html.count('class="sg-day') < 10
    assert len(html.encode()) < 30_000


def test_the_component_page_shows_the_bar_and_lists_the_days_incidents(built_sample):
    html = (built_sample / "ja/components/kr-ingest/index.html").read_text(encoding="utf-8")
    assert 'data-uptime="kr-ingest"' in html and 'data-day="2025-10-02"' in html
    assert f'href="../../incidents/{EXAMPLE}/"' in html
    assert "稼働率 100.00%" in html
    assert "メンテナンス時間を除いて" in html
    assert 'href="../../feeds/kr-ingest.atom.xml"' in html
