"""The business calendar's arithmetic, on 24x7 and on weekday office hours."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.support.domain.calendar import BusinessCalendar, parse_calendar

OFFICE = parse_calendar(timezone="UTC", workdays="mon-fri", hours="09:00-17:00")
FRIDAY_4PM = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)


def test_on_the_default_calendar_business_time_is_wall_clock_time():
    start = datetime(2026, 3, 7, 23, 30, tzinfo=UTC)  # a Saturday night
    assert BusinessCalendar().add(start, timedelta(hours=4)) == start + timedelta(hours=4)
    assert BusinessCalendar().between(start, start + timedelta(days=2)) == timedelta(days=2)


def test_office_hours_carry_friday_afternoon_over_the_weekend_to_monday():
    assert OFFICE.add(FRIDAY_4PM, timedelta(hours=4)) == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    monday_noon = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    assert OFFICE.between(FRIDAY_4PM, monday_noon) == timedelta(hours=4)


def test_time_outside_the_window_starts_counting_at_the_next_opening():
    saturday = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
    assert OFFICE.add(saturday, timedelta(hours=1)) == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    assert OFFICE.between(saturday, datetime(2026, 3, 8, 23, 0, tzinfo=UTC)) == timedelta(0)


def test_a_holiday_is_skipped_like_a_weekend():
    calendar = parse_calendar(workdays="mon-fri", hours="09:00-17:00", holidays="2026-03-09")
    assert calendar.add(FRIDAY_4PM, timedelta(hours=2)) == datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def test_hours_are_local_to_the_calendars_time_zone():
    berlin = parse_calendar(timezone="Europe/Berlin", workdays="mon-fri", hours="09:00-17:00")
    monday_8_utc = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # 09:00 in Berlin (CET)
    assert berlin.add(monday_8_utc, timedelta(hours=8)) == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)


def test_a_day_of_business_time_on_office_hours_is_three_working_days():
    monday_9 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    assert OFFICE.add(monday_9, timedelta(days=1)) == datetime(2026, 3, 11, 17, 0, tzinfo=UTC)


def test_workday_lists_and_ranges_parse():
    assert parse_calendar(workdays="sat-mon").workdays == {5, 6, 0}
    assert parse_calendar(workdays="mon,wed").workdays == {0, 2}
    assert parse_calendar(holidays="2026-12-25, 2026-12-26").holidays == {
        date(2026, 12, 25),
        date(2026, 12, 26),
    }


@pytest.mark.parametrize(
    "kwargs", [{"hours": "17:00-09:00"}, {"timezone": "Mars/Olympus"}, {"workdays": "funday"}]
)
def test_a_nonsense_calendar_is_refused_at_start_up(kwargs):
    with pytest.raises((ValueError, KeyError)):
        parse_calendar(**kwargs)
