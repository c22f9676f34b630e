"""Times as people read them on the site: the region's local time and UTC side by side, localized."""
from __future__ import annotations

from datetime import date, datetime, timezone, tzinfo
from functools import lru_cache

from babel.dates import format_skeleton

UTC = timezone.utc


def _clock(dt: datetime) -> str:
    # 24-hour clock everywhere: an outage timeline must not hinge on AM/PM words.
    return dt.strftime("%H:%M")


@lru_cache(maxsize=65536)
def _date(skeleton: str, day: date, lang: str) -> str:
    # Babel parses the skeleton and the locale's patterns on every call; a site has few distinct days.
    return format_skeleton(skeleton, day, locale=lang)


@lru_cache(maxsize=65536)  # the same moments recur on the home, history and incident pages
def format_local_and_utc(moment: datetime, tz: tzinfo, lang: str) -> str:
    """`2025년 10월 2일 (목) 10:14 KST (01:14 UTC)`; the UTC date is repeated only when it differs."""
    local = moment.astimezone(tz)
    utc = moment.astimezone(UTC)
    day = _date("yMMMEd", local.date(), lang)
    text = f"{day} {_clock(local)} {local.tzname()}"
    if utc.date() != local.date():
        return f"{text} ({_date('MMMd', utc.date(), lang)} {_clock(utc)} UTC)"
    return f"{text} ({_clock(utc)} UTC)"


def format_local_time_and_utc(moment: datetime, tz: tzinfo) -> str:
    """Short form for timelines within one day: `10:14 KST (01:14 UTC)`."""
    local = moment.astimezone(tz)
    utc = moment.astimezone(UTC)
    return f"{_clock(local)} {local.tzname()} ({_clock(utc)} UTC)"


def format_local_date(moment: datetime, tz: tzinfo, lang: str) -> str:
    return _date("yMMMEd", moment.astimezone(tz).date(), lang)


def format_month(moment: datetime, tz: tzinfo, lang: str) -> str:
    return _date("yMMMM", moment.astimezone(tz).date().replace(day=1), lang)
