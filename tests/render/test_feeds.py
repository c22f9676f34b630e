"""Feeds, calendars and badges as their readers see them: parsed by feedparser, icalendar and an XML parser."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import feedparser
import pytest
from icalendar import Calendar

PREFIXES = {"ko": "", "ja": "ja/", "en": "en/"}
EXAMPLE = "2025-10-02-kr-ingest-latency"
MAINTENANCE = "2025-10-25-jp-search-upgrade"


def parse(site, path):
    feed = feedparser.parse((site / path).read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


@pytest.mark.parametrize("lang", PREFIXES)
@pytest.mark.parametrize("kind,version", [("atom", "atom10"), ("rss", "rss20")])
def test_site_feeds_hold_every_incident_and_maintenance_update(built_sample, lang, kind, version):
    feed = parse(built_sample, f"{PREFIXES[lang]}{kind}.xml")
    assert feed.version == version
    # 5 + 4 incident updates, and the maintenance's announcement and its 2 updates
    assert len(feed.entries) == 12
    links = [e.link for e in feed.entries]
    base = "https://status.example.com/" + PREFIXES[lang]
    assert links.count(f"{base}incidents/{EXAMPLE}/") == 5
    assert links.count(f"{base}maintenance/{MAINTENANCE}/") == 3
    times = [datetime(*e.published_parsed[:6], tzinfo=timezone.utc) for e in feed.entries]
    assert times == sorted(times, reverse=True)
    assert len({e.id for e in feed.entries}) == 12


def test_an_entry_is_the_update_in_its_language_with_local_time_and_utc(built_sample):
    entries = parse(built_sample, "ja/atom.xml").entries
    first = next(e for e in entries if e.link.endswith(f"/{EXAMPLE}/") and e.title.startswith("調査中"))
    assert first.title == "調査中: [KR] 障害: 取り込み→インシデント遅延 ↑"
    assert first.published == "2025-10-02T01:20:00Z"
    assert "10:20 KST (01:20 UTC)" in first.summary
    assert "p95 遅延が 18 秒に上昇" in first.summary
    assert first.id == "tag:status.example.com,2025:incident/2025-10-02-kr-ingest-latency/2025-10-02T01:20:00Z"
    assert [t.term for t in first.tags] == ["kr-ingest"]


def test_entry_ids_are_the_same_in_every_language(built_sample):
    ids = {lang: [e.id for e in parse(built_sample, f"{prefix}atom.xml").entries]
           for lang, prefix in PREFIXES.items()}
    assert ids["ko"] == ids["ja"] == ids["en"]


def test_component_feeds_hold_only_that_component(built_sample):
    ingest = parse(built_sample, "en/feeds/kr-ingest.atom.xml")
    assert ingest.feed.title == "DBV360 Service Status — Korea · Ingest"
    assert {e.link for e in ingest.entries} == {f"https://status.example.com/en/incidents/{EXAMPLE}/"}
    assert len(ingest.entries) == 5
    search = parse(built_sample, "en/feeds/jp-search.rss.xml")
    assert len(search.entries) == 4 + 3
    quiet = parse(built_sample, "en/feeds/kr-console.atom.xml")
    assert quiet.entries == [] and quiet.feed.title


def test_every_page_announces_the_feeds_of_its_language(built_sample):
    from urllib.parse import urljoin

    for prefix in PREFIXES.values():
        for page in ("index.html", "history/index.html", f"incidents/{EXAMPLE}/index.html",
                     "components/kr-ingest/index.html"):
            html = (built_sample / prefix / page).read_text(encoding="utf-8")
            found = dict(re.findall(r'<link rel="alternate" type="(application/(?:atom|rss)\+xml)"[^>]* href="([^"]+)"', html))
            here = "http://site/" + prefix + page
            assert urljoin(here, found["application/atom+xml"]) == f"http://site/{prefix}atom.xml", page
            assert urljoin(here, found["application/rss+xml"]) == f"http://site/{prefix}rss.xml", page
            assert 'hreflang="ja"' in html  # the language alternates are still there
    component = (built_sample / "en/components/kr-ingest/index.html").read_text(encoding="utf-8")
    assert 'href="../../feeds/kr-ingest.atom.xml"' in component
    # each language's 404 page announces its own feed by absolute path (it is served at any depth)
    assert 'type="application/atom+xml" title="DBV360 Service Status (Atom)" href="/en/atom.xml"' in \
        (built_sample / "en/404.html").read_text(encoding="utf-8")
    assert 'type="application/atom+xml" title="DBV360 서비스 상태 (Atom)" href="/atom.xml"' in \
        (built_sample / "404.html").read_text(encoding="utf-8")


def test_the_sitemap_is_kept(built_sample):
    sitemap = ET.parse(built_sample / "sitemap.xml").getroot()
    locs = [e.text for e in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert "https://status.example.com/components/kr-ingest/" in locs
    assert (built_sample / "en/sitemap.xml").is_file()


@pytest.mark.parametrize("lang", PREFIXES)
def test_the_maintenance_calendar_has_one_event_per_window_in_the_regions_time_zone(built_sample, lang):
    calendar = Calendar.from_ical((built_sample / PREFIXES[lang] / "calendar/maintenance.ics").read_bytes())
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert start.tzinfo is not None and str(event["dtstart"].params["TZID"]) == "Asia/Tokyo"
    assert start == datetime(2025, 10, 25, 2, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert start.astimezone(timezone.utc) == datetime(2025, 10, 24, 17, 0, tzinfo=timezone.utc)
    assert end - start == timedelta(hours=2)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Tokyo"]
    assert str(event["uid"]) == f"maintenance-{MAINTENANCE}@status.example.com"
    assert str(event["url"]) == f"https://status.example.com/{PREFIXES[lang]}maintenance/{MAINTENANCE}/"
    titles = {"ko": "[JP] 정기 점검: 검색 클러스터 업그레이드", "ja": "[JP] 定期メンテナンス: 検索クラスタのアップグレード",
              "en": "[JP] Maintenance: search cluster upgrade"}
    assert str(event["summary"]) == titles[lang]


def test_a_calendar_window_in_the_hour_repeated_at_the_end_of_daylight_saving_keeps_its_moment(sample_repo):
    """02:30 on 2025-10-26 happens twice in Berlin; the second one (+01:00) is written in UTC, the end in local time."""
    from conftest import SAMPLE_NOW
    from generator.content.load import load_content
    from generator.render.ics import maintenance_calendar

    repository = load_content(sample_repo).repository
    config = repository.config
    europe = config.regions[1].model_copy(update={"id": "EU", "timezone": "Europe/Berlin"})
    item = repository.maintenance[0].model_copy(update={
        "region": "EU", "components": ["eu-search"],
        "scheduled_for": datetime.fromisoformat("2025-10-26T02:30:00+01:00"),
        "scheduled_until": datetime.fromisoformat("2025-10-26T04:00:00+01:00"),
        "announced_at": datetime.fromisoformat("2025-10-01T09:00:00+02:00"), "updates": []})
    repository = repository.model_copy(update={
        "config": config.model_copy(update={"regions": [*config.regions, europe]}), "maintenance": (item,)})
    calendar = Calendar.from_ical(maintenance_calendar(repository, SAMPLE_NOW, "en").to_ical())
    event = calendar.walk("VEVENT")[0]
    assert event.decoded("dtstart") == datetime(2025, 10, 26, 1, 30, tzinfo=timezone.utc)
    assert str(event["dtend"].params["TZID"]) == "Europe/Berlin"
    assert event.decoded("dtend").astimezone(timezone.utc) == datetime(2025, 10, 26, 3, 0, tzinfo=timezone.utc)
    offsets = {sub.decoded("TZOFFSETTO") for sub in calendar.walk("VTIMEZONE")[0].subcomponents}
    assert offsets == {timedelta(hours=1), timedelta(hours=2)}


@pytest.mark.parametrize("name,label,message,color", [
    ("overall", "DBV360 Service Status", "All systems operational", "brightgreen"),
    ("kr-ingest", "KR Ingest", "Operational", "brightgreen"),
])
def test_badges_follow_the_shields_endpoint_schema_and_ship_an_svg(built_sample, name, label, message, color):
    endpoint = json.loads((built_sample / f"en/badge/{name}.json").read_text(encoding="utf-8"))
    assert endpoint == {"schemaVersion": 1, "label": label, "message": message, "color": color}
    svg = ET.parse(built_sample / f"en/badge/{name}.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.find("{http://www.w3.org/2000/svg}title").text == f"{label}: {message}"
    korean = json.loads((built_sample / f"badge/{name}.json").read_text(encoding="utf-8"))
    assert korean["message"] in ("모든 시스템이 정상 운영 중입니다", "정상")
