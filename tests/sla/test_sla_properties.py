"""Properties of the calendar arithmetic, checked by Hypothesis over KR, JP and a calendar with DST."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.sla.calendar import BusinessCalendar, TwentyFourSeven
from generator.sla.engine import Clock, Pause, due_time, measure, running_time

KR = BusinessCalendar("KR", ZoneInfo("Asia/Seoul"), time(9), time(18), frozenset(range(5)), "KR")
JP = BusinessCalendar("JP", ZoneInfo("Asia/Tokyo"), time(9), time(18), frozenset(range(5)), "JP")
# A zone with DST and uneven hours, so the arithmetic cannot lean on fixed offsets or 9 h days.
US = BusinessCalendar("US", ZoneInfo("America/New_York"), time(8, 30), time(17, 15), frozenset(range(6)), "US",
                      closures=frozenset({date(2025, 3, 10)}))
BUSINESS = st.sampled_from([KR, JP, US])
CALENDARS = st.one_of(BUSINESS, st.just(TwentyFourSeven(ZoneInfo("Asia/Seoul"))))

moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31),
    timezones=st.sampled_from([ZoneInfo("Asia/Seoul"), ZoneInfo("UTC"), ZoneInfo("America/New_York")]),
).map(lambda d: d.replace(microsecond=0))
durations = st.integers(min_value=0, max_value=60 * 24 * 30).map(lambda m: timedelta(minutes=m))


@settings(max_examples=300, deadline=None)
@given(CALENDARS, moments, durations)
def test_elapsed_of_added_duration_is_the_duration(calendar, start, duration):
    assert calendar.elapsed(start, calendar.add(start, duration)) == duration


@settings(max_examples=300, deadline=None)
@given(CALENDARS, moments, durations)
def test_subtract_is_the_inverse_of_add(calendar, end, duration):
    assert calendar.elapsed(calendar.subtract(end, duration), end) == duration


@settings(max_examples=300, deadline=None)
@given(BUSINESS, moments, durations)
def test_due_time_is_within_business_hours(calendar, start, duration):
    due = calendar.add(start, duration)
    assert calendar.is_open(due)
    assert calendar.is_business_day(due.date())


@settings(max_examples=300, deadline=None)
@given(CALENDARS, moments, moments, durations)
def test_due_time_is_monotonic_in_start(calendar, a, b, duration):
    early, late = sorted((a, b))
    assert calendar.add(early, duration) <= calendar.add(late, duration)


@settings(max_examples=300, deadline=None)
@given(CALENDARS, moments, durations, durations)
def test_due_time_is_monotonic_in_duration(calendar, start, d1, d2):
    short, long = sorted((d1, d2))
    assert calendar.add(start, short) <= calendar.add(start, long)


@settings(max_examples=200, deadline=None)
@given(BUSINESS, moments, durations, st.lists(st.tuples(durations, durations), max_size=3))
def test_a_paused_clock_reaches_its_target_exactly_at_its_due_time(calendar, start, target, gaps):
    pauses, cursor = [], start
    for offset, length in gaps:  # pauses after the start, in order, not overlapping
        pause_start = cursor + offset
        pauses.append(Pause(pause_start, pause_start + length))
        cursor = pause_start + length
    due = due_time(calendar, start, target, pauses)
    assert running_time(calendar, start, due, pauses) == target
    m = measure(Clock(calendar, f"{int(target.total_seconds() // 60)}m", start, due, tuple(pauses)), due)
    assert m.status.value == "achieved"
