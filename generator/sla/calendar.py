"""Business calendars: which instants count towards an SLA clock, and the arithmetic over them.

Two calendars share one small interface (`add`, `subtract`, `elapsed`, `duration`, `is_open`):

- `BusinessCalendar`: a region's weekly business hours in its time zone, minus public holidays from the
  `holidays` package and the company closures listed in `status.yaml`. Used for S3/S4 and for the
  maintenance notice.
- `TwentyFourSeven`: every instant counts. Used for S1/S2.

All functions are pure: same calendar and arguments, same answer; nothing reads the clock.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays as holidays_package

from ..content.model import Config, Region, Severity, duration_parts

UTC = timezone.utc
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ZERO = timedelta(0)
# A calendar with no business day in this many consecutive days is a configuration mistake, not a
# reason to loop forever.
_MAX_CLOSED_DAYS = 800


class Calendar(Protocol):
    name: str
    tz: ZoneInfo

    def duration(self, text: str | timedelta) -> timedelta: ...
    def add(self, start: datetime, duration: str | timedelta) -> datetime: ...
    def subtract(self, end: datetime, duration: str | timedelta) -> datetime: ...
    def elapsed(self, start: datetime, end: datetime) -> timedelta: ...
    def is_open(self, moment: datetime) -> bool: ...
    def position(self, moment: datetime) -> int: ...


def _require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a time with a UTC offset, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class TwentyFourSeven:
    """Every instant counts; a day is 24 hours. `tz` only decides how results are displayed."""

    tz: ZoneInfo = ZoneInfo("UTC")
    name: str = "24x7"

    def duration(self, text: str | timedelta) -> timedelta:
        if isinstance(text, timedelta):
            return text
        return _wall_duration(text, timedelta(days=1))

    def add(self, start: datetime, duration: str | timedelta) -> datetime:
        return (_require_aware(start) + _non_negative(self.duration(duration))).astimezone(self.tz)

    def subtract(self, end: datetime, duration: str | timedelta) -> datetime:
        return (_require_aware(end) - _non_negative(self.duration(duration))).astimezone(self.tz)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        return max(ZERO, _require_aware(end) - _require_aware(start))

    def is_open(self, moment: datetime) -> bool:
        return True

    def position(self, moment: datetime) -> int:
        """Microseconds since 1970-01-01 UTC: `elapsed(a, b) == max(0, position(b) - position(a))`."""
        return (_require_aware(moment) - _EPOCH) // _MICROSECOND


@lru_cache(maxsize=1024)
def _wall_duration(text: str, day: timedelta) -> timedelta:
    amount, unit = duration_parts(text)
    if unit == "m":
        return timedelta(minutes=amount)
    if unit == "h":
        return timedelta(hours=amount)
    return amount * day


def _non_negative(duration: timedelta) -> timedelta:
    if duration < ZERO:
        raise ValueError(f"expected a duration of zero or more, got {duration}")
    return duration


@lru_cache(maxsize=None)
def holiday_dates(country: str, categories: tuple[str, ...], year: int,
                  subdiv: str | None = None) -> frozenset[date]:
    """Public holidays of one country (or one of its subdivisions) and year, as the `holidays` package knows them."""
    return frozenset(holidays_package.country_holidays(country, subdiv=subdiv, years=year, categories=categories))


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekly business hours in one time zone, minus holidays and closures.

    Business hours of a day are the closed interval [opens, closes]: a deadline may land exactly at
    closing time (18:00), a clock that starts at or after closing starts at the next opening.
    """

    name: str
    tz: ZoneInfo
    opens: time
    closes: time
    weekdays: frozenset[int]  # 0 = Monday
    holiday_country: str | None = None
    holiday_categories: tuple[str, ...] = ("public",)
    holiday_subdiv: str | None = None
    closures: frozenset[date] = field(default_factory=frozenset)
    # Per-year tables of opening hours and cumulative business time, filled on first use. Derived
    # from the fields above only, so the calendar stays a value: excluded from equality and hashing.
    _years: dict = field(default_factory=dict, init=False, compare=False, hash=False, repr=False)
    _bases: dict = field(default_factory=lambda: {2020: 0}, init=False, compare=False, hash=False, repr=False)
    # Per-year integer tables for `position_us` (UTC microseconds of each local midnight, opening, closing).
    _int_years: dict = field(default_factory=dict, init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValueError(f"expected business hours that close after they open, got {self.opens}-{self.closes}")

    @classmethod
    def for_region(cls, region: Region) -> "BusinessCalendar":
        hours = region.business_hours
        return cls(
            name=region.id,
            tz=region.tz,
            opens=hours.start,
            closes=hours.end,
            weekdays=frozenset(WEEKDAYS.index(day) for day in hours.days),
            holiday_country=region.holidays.country,
            holiday_categories=tuple(region.holidays.categories),
            holiday_subdiv=region.holidays.subdiv,
            closures=frozenset(region.closures),
        )

    # ------------------------------------------------------------ days

    @property
    def day_length(self) -> timedelta:
        """The length of one business day; "N d" means N times this (as Jira Service Management does)."""
        reference = date(2000, 1, 3)
        return datetime.combine(reference, self.closes) - datetime.combine(reference, self.opens)

    def is_holiday(self, day: date) -> bool:
        if day in self.closures:
            return True
        return self.holiday_country is not None and day in holiday_dates(
            self.holiday_country, self.holiday_categories, day.year, self.holiday_subdiv
        )

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and not self.is_holiday(day)

    def hours_on(self, day: date) -> tuple[datetime, datetime] | None:
        """Opening and closing instant (UTC) of a local date, or None when the day is closed."""
        hours, _ = self._year(day.year)
        return hours[day.toordinal() - _JAN1[day.year]]

    def _year(self, year: int) -> tuple[list, list[int]]:
        """(hours of each day of `year`, cumulative business microseconds before each day)."""
        table = self._years.get(year)
        if table is None:
            first = date(year, 1, 1)
            _JAN1.setdefault(year, first.toordinal())
            hours, cumulative = [], [0]
            for offset in range((date(year + 1, 1, 1) - first).days):
                day = first + timedelta(days=offset)
                if self.is_business_day(day):
                    opening = datetime.combine(day, self.opens, tzinfo=self.tz).astimezone(UTC)
                    closing = datetime.combine(day, self.closes, tzinfo=self.tz).astimezone(UTC)
                    hours.append((opening, closing))
                    cumulative.append(cumulative[-1] + (closing - opening) // _MICROSECOND)
                else:
                    hours.append(None)
                    cumulative.append(cumulative[-1])
            table = self._years[year] = (hours, cumulative)
        return table

    def _year_base(self, year: int) -> int:
        """Business microseconds from 1 January 2020 (local) to 1 January of `year`; negative before 2020."""
        bases = self._bases
        if year not in bases:
            if year > 2020:
                bases[year] = self._year_base(year - 1) + self._year(year - 1)[1][-1]
            else:
                bases[year] = self._year_base(year + 1) - self._year(year)[1][-1]
        return bases[year]

    def position(self, moment: datetime) -> int:
        """Business microseconds from a fixed origin to `moment`, so that one subtraction gives the business
        time between two instants: `elapsed(a, b) == max(0, position(b) - position(a))`. A clock that converts
        each of its instants once does the rest in integers (the monthly report's 100,000 tickets)."""
        moment = _require_aware(moment)
        day = moment.astimezone(self.tz).date()
        hours, cumulative = self._year(day.year)
        index = day.toordinal() - _JAN1[day.year]
        within = 0
        opening_closing = hours[index]
        if opening_closing is not None:
            opening, closing = opening_closing
            if moment >= closing:
                within = (closing - opening) // _MICROSECOND
            elif moment > opening:
                within = (moment - opening) // _MICROSECOND
        return self._year_base(day.year) + cumulative[index] + within

    def _int_year(self, year: int) -> tuple[list[int], list, int] | None:
        """(UTC microseconds of each local midnight of `year` and of the next 1 January, (opening, closing) in
        UTC microseconds or None per day, business microseconds before 1 January of `year`); None when some
        local midnight does not map back to its own date (a zone whose DST change skips midnight), where
        `position_us` leaves the work to `position`."""
        table = self._int_years.get(year)
        if table is None:
            hours, _ = self._year(year)
            first = date(year, 1, 1)
            midnights = []
            for offset in range(len(hours) + 1):
                day = first + timedelta(days=offset)
                midnight = datetime.combine(day, time(0), tzinfo=self.tz)
                if midnight.astimezone(UTC).astimezone(self.tz).date() != day:
                    table = self._int_years[year] = (None,)
                    return None
                midnights.append((midnight - _EPOCH) // _MICROSECOND)
            spans = [None if h is None else ((h[0] - _EPOCH) // _MICROSECOND, (h[1] - _EPOCH) // _MICROSECOND)
                     for h in hours]
            table = self._int_years[year] = (midnights, spans, self._year_base(year))
        return None if table[0] is None else table

    def position_us(self, utc: int) -> int:
        """`position(moment)` of the instant `utc` microseconds after 1970-01-01 UTC, in integers only: the
        local day is found among the year's local midnights by bisection (the monthly report converts each
        ticket time once with this). Same answer as `position`; falls back to it where the tables do not apply."""
        for year, table in self._int_years.items():
            if table[0] is not None and table[0][0] <= utc < table[0][-1]:
                break
        else:
            moment = _EPOCH + timedelta(microseconds=utc)
            year = moment.astimezone(self.tz).year
            table = self._int_year(year) or (None,)
            if table[0] is None or not table[0][0] <= utc < table[0][-1]:
                return self.position(moment)
        midnights, spans, base = table
        index = bisect_right(midnights, utc) - 1
        within = 0
        span = spans[index]
        if span is not None:
            opening, closing = span
            if utc >= closing:
                within = closing - opening
            elif utc > opening:
                within = utc - opening
        return base + self._years[year][1][index] + within

    def year_table(self, utc: int) -> list | None:
        """[first local midnight, next year's first midnight, (midnights, spans, position at each midnight)]
        of the year holding the instant `utc` (UTC microseconds), for callers that inline `position_us`;
        None where `position_us` itself falls back to `position`."""
        year = (_EPOCH + timedelta(microseconds=utc)).astimezone(self.tz).year
        table = self._int_year(year)
        if table is None or not table[0][0] <= utc < table[0][-1]:
            return None
        midnights, spans, base = table
        before = [base + c for c in self._years[year][1]]
        return [midnights[0], midnights[-1], (midnights, spans, before)]

    def _full_days(self, first: date, stop: date) -> timedelta:
        """Business time of the whole days `first` .. `stop - 1`."""
        total = 0
        for year in range(first.year, stop.year + 1):
            _, cumulative = self._year(year)
            low = first.toordinal() - _JAN1[year] if year == first.year else 0
            high = stop.toordinal() - _JAN1[year] if year == stop.year else len(cumulative) - 1
            if high > low:
                total += cumulative[high] - cumulative[low]
        return timedelta(microseconds=total)

    def duration(self, text: str | timedelta) -> timedelta:
        if isinstance(text, timedelta):
            return text
        return _wall_duration(text, self.day_length)

    def is_open(self, moment: datetime) -> bool:
        moment = _require_aware(moment)
        hours = self.hours_on(moment.astimezone(self.tz).date())
        return hours is not None and hours[0] <= moment <= hours[1]

    def next_opening(self, moment: datetime) -> datetime:
        """`moment` itself when it is within business hours, else the next opening."""
        return self.add(moment, ZERO)

    # ------------------------------------------------------------ arithmetic

    def add(self, start: datetime, duration: str | timedelta) -> datetime:
        """The instant at which `duration` of business time has passed since `start`."""
        return self._walk(start, duration, forward=True)

    def subtract(self, end: datetime, duration: str | timedelta) -> datetime:
        """The latest instant from which `duration` of business time passes by `end`."""
        return self._walk(end, duration, forward=False)

    def _business_days(self, moment: datetime, forward: bool):
        """`(opening, closing)` of each business day from `moment`'s local day on, forwards or backwards.

        Raises when more than a year of days in a row is closed (a misconfigured calendar)."""
        day = moment.astimezone(self.tz).date()
        step = timedelta(days=1 if forward else -1)
        closed_run = 0
        while True:
            hours = self.hours_on(day)
            if hours is None:
                closed_run += 1
                if closed_run > _MAX_CLOSED_DAYS:
                    side = "after" if forward else "before"
                    raise ValueError(f"calendar {self.name} has no business day {side} {moment.isoformat()}")
            else:
                closed_run = 0
                yield hours
            day += step

    def _walk(self, moment: datetime, duration: str | timedelta, forward: bool) -> datetime:
        # Adding walks forward from the opening side of each day, subtracting backward from the closing
        # side: the same walk seen in a mirror, so one loop serves both.
        remaining = _non_negative(self.duration(duration))
        cursor = _require_aware(moment)
        for opening, closing in self._business_days(cursor, forward):
            near, far = (opening, closing) if forward else (closing, opening)
            if (cursor < near) if forward else (cursor > near):
                cursor = near
            available = (far - cursor) if forward else (cursor - far)
            if available >= ZERO:
                if remaining <= available:
                    return (cursor + remaining if forward else cursor - remaining).astimezone(self.tz)
                remaining -= available

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants; zero when `end` is not after start."""
        start, end = _require_aware(start), _require_aware(end)
        if end <= start:
            return ZERO
        first = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        if first == last:
            return self._overlap(first, start, end)
        # Business hours never cross midnight, so: part of the first day, whole days, part of the last.
        return (self._overlap(first, start, end) + self._full_days(first + timedelta(days=1), last)
                + self._overlap(last, start, end))

    def _overlap(self, day: date, start: datetime, end: datetime) -> timedelta:
        hours = self.hours_on(day)
        if hours is None:
            return ZERO
        low, high = max(start, hours[0]), min(end, hours[1])
        return high - low if high > low else ZERO


_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_JAN1: dict[int, int] = {}  # year -> ordinal of its 1 January

# Calendars are values; one instance per distinct region keeps their year tables warm across calls.
_CALENDARS: dict[tuple, BusinessCalendar] = {}


def _calendar_of(region: Region) -> BusinessCalendar:
    hours = region.business_hours
    key = (region.id, region.timezone, hours.start, hours.end, tuple(hours.days), region.holidays.country,
           region.holidays.subdiv, tuple(region.holidays.categories), tuple(region.closures))
    calendar = _CALENDARS.get(key)
    if calendar is None:
        calendar = _CALENDARS[key] = BusinessCalendar.for_region(region)
    return calendar


def region_calendar(config: Config, region_id: str) -> BusinessCalendar:
    """The region's business calendar (used for S3/S4 and the maintenance notice)."""
    return _calendar_of(config.region(region_id))


def calendar_for(config: Config, region_id: str, severity: Severity | str) -> Calendar:
    """The calendar an incident's clocks run on: 24x7 or the region's business calendar, per the policy."""
    policy = config.sla.policies[Severity(severity)]
    region = config.region(region_id)
    if policy.calendar == "24x7":
        return _around_the_clock(region.tz)
    return _calendar_of(region)


@lru_cache(maxsize=None)
def _around_the_clock(tz: ZoneInfo) -> TwentyFourSeven:
    return TwentyFourSeven(tz=tz, name="24x7")
