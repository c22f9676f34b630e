"""Business calendars: hours, holidays (with substitute and temporary days), closures, and day counting.

Every expected time below is worked out by hand in the comment above it (KR and JP business hours are
09:00-18:00, Mon-Fri, so one business day is 9 h and "3d" is 27 business hours).
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from generator.content.model import Config
from generator.sla.calendar import BusinessCalendar, TwentyFourSeven, calendar_for, region_calendar

from conftest import at


@pytest.fixture(scope="module")
def kr(config):
    return region_calendar(config, "KR")


@pytest.fixture(scope="module")
def jp(config):
    return region_calendar(config, "JP")


def test_chuseok_2025_and_its_substitute_day_are_closed(kr):
    # 10-03 National Foundation Day (Fri), 10-05..07 Chuseok, 10-08 substitute for 10-05 (a Sunday),
    # 10-09 Hangul Day; 10-10 (Fri) is an ordinary business day.
    closed = [date(2025, 10, d) for d in (3, 6, 7, 8, 9)]
    assert not any(kr.is_business_day(d) for d in closed)
    assert kr.is_business_day(date(2025, 10, 10))


def test_temporary_and_election_holidays_are_closed_in_korea(kr):
    assert not kr.is_business_day(date(2025, 1, 27))  # temporary public holiday before Seollal
    assert not kr.is_business_day(date(2025, 6, 3))  # presidential election day


def test_japanese_substitute_holiday_is_closed(jp):
    assert not jp.is_business_day(date(2025, 5, 6))  # 振替休日 for Greenery Day (Sun 05-04)
    assert not jp.is_business_day(date(2025, 11, 24))  # 振替休日 for Labor Thanksgiving Day


def test_bank_holidays_are_not_business_closures_by_default(jp, kr):
    # The `bank` category is deliberately not used: 12-31 and 05-01 are bank closures, not ours.
    assert jp.is_business_day(date(2025, 12, 31))
    assert kr.is_business_day(date(2025, 5, 1))


def test_config_closures_close_the_day(config):
    region = config.region("KR").model_copy(update={"closures": [date(2025, 10, 10)]})
    calendar = BusinessCalendar.for_region(region)
    # S3 first response, opened Thu 10-02 17:30: 0.5 h on Thu, then 10-03..10-12 closed (holidays,
    # weekend, the closure on Fri 10-10), Mon 10-13 09:00 + 3.5 h = 12:30.
    assert calendar.add(at("2025-10-02T17:30+09:00"), "4h") == at("2025-10-13T12:30+09:00")


def test_s3_opened_the_evening_before_chuseok_waits_for_the_first_day_back(kr):
    # Opened Thu 2025-10-02 17:30 KST, the last business day before the holiday (Fri 10-03 is itself
    # National Foundation Day). First response 4 h: 17:30-18:00 = 0.5 h; 10-03 holiday, 10-04/05 weekend,
    # 10-06/07 Chuseok, 10-08 substitute, 10-09 Hangul Day; Fri 10-10 09:00 + 3.5 h = 12:30.
    assert kr.add(at("2025-10-02T17:30+09:00"), "4h") == at("2025-10-10T12:30+09:00")
    # Resolution 3d = 27 h: 0.5 (Thu) + 9 (Fri 10-10) + 9 (Mon 10-13) = 18.5; Tue 10-14 09:00 + 8.5 h = 17:30.
    assert kr.add(at("2025-10-02T17:30+09:00"), "3d") == at("2025-10-14T17:30+09:00")


def test_s3_opened_on_the_friday_evening_of_the_holiday_starts_at_the_next_opening(kr):
    # Opened Fri 2025-10-03 19:00 KST (a holiday, after hours): the clock starts at the next opening,
    # Fri 10-10 09:00 (10-04..10-09 all closed); first response 4 h -> 13:00.
    assert kr.next_opening(at("2025-10-03T19:00+09:00")) == at("2025-10-10T09:00+09:00")
    assert kr.add(at("2025-10-03T19:00+09:00"), "4h") == at("2025-10-10T13:00+09:00")


def test_s3_in_japan_before_golden_week(jp):
    # Opened Fri 2025-05-02 16:00 JST. 05-03 (Sat, Constitution Day), 05-04 (Sun, Greenery Day),
    # 05-05 (Children's Day), 05-06 (substitute holiday) are closed. First response 4 h: 16:00-18:00 = 2 h,
    # Wed 05-07 09:00 + 2 h = 11:00.
    assert jp.add(at("2025-05-02T16:00+09:00"), "4h") == at("2025-05-07T11:00+09:00")
    # Resolution 3d = 27 h: 2 (Fri) + 9 (Wed 05-07) + 9 (Thu 05-08) = 20; Fri 05-09 09:00 + 7 h = 16:00.
    assert jp.add(at("2025-05-02T16:00+09:00"), "3d") == at("2025-05-09T16:00+09:00")


def test_a_deadline_can_land_exactly_at_closing_time(kr):
    # Mon 2025-10-13 14:00 KST + 4 h = 18:00 the same day (not 09:00 the next morning).
    due = kr.add(at("2025-10-13T14:00+09:00"), "4h")
    assert due == at("2025-10-13T18:00+09:00")
    assert kr.is_open(due)
    # One minute more runs over into Tue 09:01.
    assert kr.add(at("2025-10-13T14:00+09:00"), "241m") == at("2025-10-14T09:01+09:00")


def test_a_clock_starting_at_closing_time_starts_next_morning(kr):
    # Mon 2025-10-13 18:00 + 1 h: nothing is left that day; Tue 09:00 + 1 h = 10:00.
    assert kr.add(at("2025-10-13T18:00+09:00"), "1h") == at("2025-10-14T10:00+09:00")


def test_s4_over_a_weekend(kr):
    # Opened Fri 2025-11-14 15:00 KST. First response 1d = 9 h: 3 h on Fri, Mon 11-17 09:00 + 6 h = 15:00.
    assert kr.add(at("2025-11-14T15:00+09:00"), "1d") == at("2025-11-17T15:00+09:00")
    # Resolution 5d = 45 h: 3 (Fri) + 4 x 9 (Mon-Thu) = 39; Fri 11-21 09:00 + 6 h = 15:00.
    assert kr.add(at("2025-11-14T15:00+09:00"), "5d") == at("2025-11-21T15:00+09:00")
    # The weekend adds nothing to the elapsed business time.
    assert kr.elapsed(at("2025-11-14T15:00+09:00"), at("2025-11-17T15:00+09:00")) == timedelta(hours=9)


def test_days_are_business_days_of_the_calendars_hours(kr):
    assert kr.day_length == timedelta(hours=9)
    assert kr.duration("3d") == timedelta(hours=27)
    assert kr.duration("90m") == timedelta(minutes=90)


def test_a_monday_holiday_is_skipped(jp):
    # Fri 2025-10-10 17:00 JST + 2 h: 1 h on Fri; Mon 10-13 is Sports Day; Tue 10-14 09:00 + 1 h = 10:00.
    assert jp.add(at("2025-10-10T17:00+09:00"), "2h") == at("2025-10-14T10:00+09:00")


def test_subtract_finds_the_latest_start(jp):
    # 27 business hours before Wed 2025-05-07 02:00 JST: back to Fri 05-02 18:00 (05-03..06 closed),
    # 9 h each on Fri 05-02, Thu 05-01, Wed 04-30 -> Wed 04-30 09:00.
    assert jp.subtract(at("2025-05-07T02:00+09:00"), "3d") == at("2025-04-30T09:00+09:00")


def test_elapsed_is_zero_when_end_is_not_after_start(kr):
    assert kr.elapsed(at("2025-10-13T12:00+09:00"), at("2025-10-13T11:00+09:00")) == timedelta(0)


def test_naive_times_are_refused(kr):
    with pytest.raises(ValueError, match="UTC offset"):
        kr.add(at("2025-10-13T12:00"), "1h")


def test_24x7_counts_every_minute_and_days_are_24_hours():
    calendar = TwentyFourSeven()
    assert calendar.add(at("2025-10-04T23:00+09:00"), "1d") == at("2025-10-05T23:00+09:00")
    assert calendar.elapsed(at("2025-10-04T23:00+09:00"), at("2025-10-05T01:00+09:00")) == timedelta(hours=2)


def test_severity_picks_the_calendar(config: Config):
    assert calendar_for(config, "KR", "S1").name == "24x7"
    assert calendar_for(config, "KR", "S2").name == "24x7"
    assert calendar_for(config, "JP", "S3") == region_calendar(config, "JP")
    assert calendar_for(config, "KR", "S4").name == "KR"


def test_a_calendar_without_business_days_is_refused(config):
    region = config.region("KR")
    hours = region.business_hours.model_copy(update={"days": []})
    calendar = BusinessCalendar.for_region(region.model_copy(update={"business_hours": hours}))
    with pytest.raises(ValueError, match="no business day"):
        calendar.add(at("2025-10-13T12:00+09:00"), "1h")


# ---------------------------------------------------------------- positions (the report's cheap clock)

from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(a=st.integers(0, 8 * 366 * 24 * 60), b=st.integers(0, 8 * 366 * 24 * 60), region=st.sampled_from(["KR", "JP"]))
def test_position_difference_is_the_elapsed_business_time(config, a, b, region):
    origin = at("2018-06-01T00:00:00+00:00")  # across the 2020 origin of positions
    start, end = origin + timedelta(minutes=a), origin + timedelta(minutes=b)
    for calendar in (region_calendar(config, region), TwentyFourSeven()):
        expected = calendar.elapsed(start, end) // timedelta(microseconds=1)
        assert max(0, calendar.position(end) - calendar.position(start)) == expected


def test_a_subdivision_observes_its_own_holidays(config):
    # 2025-08-04 is Scotland's summer bank holiday, 2025-08-25 England's: neither is the whole UK's.
    region = config.regions[0].model_copy(update={
        "id": "UK", "timezone": "Europe/London",
        "holidays": config.regions[0].holidays.model_copy(update={"country": "GB", "subdiv": "ENG"})})
    england = BusinessCalendar.for_region(region)
    assert not england.is_business_day(date(2025, 8, 25))
    assert england.is_business_day(date(2025, 8, 4))
    scotland = BusinessCalendar.for_region(region.model_copy(update={
        "holidays": region.holidays.model_copy(update={"subdiv": "SCT"})}))
    assert not scotland.is_business_day(date(2025, 8, 4))
    assert scotland.is_business_day(date(2025, 8, 25))
