"""Times as people read them on the site: the region's local time and UTC side by side, localized."""
from __future__ import annotations

from datetime import date, datetime, timezone, tzinfo
from functools import lru_cache

from babel.dates import format_skeleton

UTC = timezone.utc


def _clock(dt: datetime) -> str:
    # 24-hour clock everywhere: an outage timeline must not hinge on AM/PM words.
    return dt.strftime("%H:%M")


@lru_cache(maxsize=65536)  # the same moments recur on the home, history and incident pages
def format_local_and_utc(moment: datetime, tz: tzinfo, lang: str) -> str:
    """`2025년 10월 2일 (목) 10:14 KST (01:14 UTC)`; the UTC date is repeated only when it differs."""
    local = moment.astimezone(tz)
    utc = moment.astimezone(UTC)
    text = f"{_date(local.date(), 'yMMMEd', lang)} {_clock(local)} {local.tzname()}"
    if utc.date() != local.date():
        return f"{text} ({_date(utc.date(), 'MMMd', lang)} {_clock(utc)} UTC)"
    return f"{text} ({_clock(utc)} UTC)"


@lru_cache(maxsize=4096)
def _date(day: date, skeleton: str, lang: str) -> str:
    # Babel per date, not per moment: the monthly report formats ~200,000 times that fall on ~60 dates.
    return format_skeleton(skeleton, datetime(day.year, day.month, day.day, tzinfo=UTC), tzinfo=UTC, locale=lang)


def format_local_time_and_utc(moment: datetime, tz: tzinfo) -> str:
    """Short form for timelines within one day: `10:14 KST (01:14 UTC)`."""
    local = moment.astimezone(tz)
    utc = moment.astimezone(UTC)
    return f"{_clock(local)} {local.tzname()} ({_clock(utc)} UTC)"


def format_local_date(moment: datetime, tz: tzinfo, lang: str) -> str:
    return _date(moment.astimezone(tz).date(), "yMMMEd", lang)


def format_month(moment: datetime, tz: tzinfo, lang: str) -> str:
    # per month, not per moment: the history page and every search entry name the month of an incident
    return _date(moment.astimezone(tz).date().replace(day=1), "yMMMM", lang)


def format_day(day: date, lang: str) -> str:
    """A calendar day on its own (the uptime bars' days are the region's local days already)."""
    return format_skeleton("yMMMEd", day, locale=lang)
