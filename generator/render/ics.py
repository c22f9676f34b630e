"""iCalendar (`.ics`) of the scheduled maintenance, one calendar per language and one event per window.

Times are written in the region's time zone (`DTSTART;TZID=Asia/Seoul`) with the matching VTIMEZONE, so a
calendar shows the window at the right moment wherever its reader lives. UIDs are our maintenance ids; the
SEQUENCE grows with each update so calendars pick up changes.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from ..content.model import Maintenance, Repository
from .api import language_prefix, site_url
from .status import published_maintenance

CALENDAR_PATH = "calendar/maintenance.ics"


def _text(texts, lang: str, default: str) -> str:
    return (texts.get(lang) or texts.get(default) or "") if texts else ""


def maintenance_calendar(repository: Repository, now: datetime, lang: str) -> Calendar:
    config = repository.config
    host = urlsplit(config.page.url).hostname or "status.invalid"
    calendar = Calendar()
    calendar.add("prodid", f"-//statusgen//{host}//{lang.upper()}")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _text(config.page.name, lang, config.default_language))
    for item in sorted(published_maintenance(repository), key=lambda m: m.scheduled_for):
        if item.announced_at <= now:
            calendar.add_component(_event(repository, item, now, lang, host))
    calendar.add_missing_timezones()
    return calendar


def _event(repository: Repository, item: Maintenance, now: datetime, lang: str, host: str) -> Event:
    config = repository.config
    tz = config.region(item.region).tz
    updates = [u for u in item.updates if u.at <= now]
    event = Event()
    event.add("uid", f"maintenance-{item.id}@{host}")
    event.add("summary", _text(item.title, lang, config.default_language))
    description = _text(item.description, lang, config.default_language)
    for update in updates:
        description += "\n\n" + update.at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") + " — " + \
            _text(update.text, lang, config.default_language)
    event.add("description", description)
    event.add("dtstart", _calendar_time(item.scheduled_for, tz))
    event.add("dtend", _calendar_time(item.scheduled_until, tz))
    last = max([item.announced_at] + [u.at for u in updates])
    event.add("dtstamp", last.astimezone(timezone.utc))
    event.add("created", item.announced_at.astimezone(timezone.utc))
    event.add("last-modified", last.astimezone(timezone.utc))
    event.add("sequence", len(updates))
    event.add("url", site_url(repository, lang, f"maintenance/{item.id}/"))
    event.add("location", _text(config.region(item.region).name, lang, config.default_language))
    event.add("categories", list(item.components))
    event.add("transp", "TRANSPARENT")
    event.add("status", "CONFIRMED")
    return event


def _calendar_time(moment: datetime, tz) -> datetime:
    """The moment in the region's zone, or in UTC when that wall time happens twice (the hour repeated when
    daylight saving time ends): iCalendar reads an ambiguous local time as its first occurrence."""
    local = moment.astimezone(tz)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return moment.astimezone(timezone.utc)
    return local


def write_calendars(repository: Repository, now: datetime, site_dir: Path) -> list[Path]:
    written = []
    for lang in repository.config.languages:
        target = Path(site_dir) / language_prefix(repository, lang) / CALENDAR_PATH
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(maintenance_calendar(repository, now, lang).to_ical())
        written.append(target)
    return written
