"""SLA targets per priority, their env overrides, and breaches."""

from datetime import UTC, datetime, timedelta

import pytest

from services.support.domain.sla import breaches_due, parse_duration, policy_from_env

MONDAY_9 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
FRIDAY_4PM = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
OFFICE_ENV = {"CRM_SLA_WORKDAYS": "mon-fri", "CRM_SLA_HOURS": "09:00-17:00"}


@pytest.mark.parametrize(
    "priority, first, resolution",
    [
        ("urgent", timedelta(hours=1), timedelta(hours=4)),
        ("high", timedelta(hours=4), timedelta(days=1)),
        ("medium", timedelta(hours=8), timedelta(days=3)),
        ("low", timedelta(days=1), timedelta(days=5)),
    ],
)
def test_the_default_targets_on_24x7(priority, first, resolution):
    due = policy_from_env({}).due_times(priority=priority, opened_at=MONDAY_9, paused=timedelta(0))
    assert due == (MONDAY_9 + first, MONDAY_9 + resolution)


@pytest.mark.parametrize(
    "priority, first_due, resolution_due",
    [
        ("urgent", datetime(2026, 3, 6, 17, 0), datetime(2026, 3, 9, 12, 0)),
        ("high", datetime(2026, 3, 9, 12, 0), datetime(2026, 3, 11, 16, 0)),
        ("medium", datetime(2026, 3, 9, 16, 0), datetime(2026, 3, 19, 16, 0)),
        ("low", datetime(2026, 3, 11, 16, 0), datetime(2026, 3, 27, 16, 0)),
    ],
)
def test_targets_on_weekday_office_hours_skip_the_weekend(priority, first_due, resolution_due):
    policy = policy_from_env(OFFICE_ENV)
    due = policy.due_times(priority=priority, opened_at=FRIDAY_4PM, paused=timedelta(0))
    assert due == (first_due.replace(tzinfo=UTC), resolution_due.replace(tzinfo=UTC))


def test_a_pause_moves_both_due_times_by_the_paused_business_time():
    policy = policy_from_env(OFFICE_ENV)
    paused = policy.paused_for(since=FRIDAY_4PM, until=MONDAY_9 + timedelta(hours=1))
    assert paused == timedelta(hours=2)
    before = policy.due_times(priority="urgent", opened_at=FRIDAY_4PM, paused=timedelta(0))
    after = policy.due_times(priority="urgent", opened_at=FRIDAY_4PM, paused=paused)
    assert after == (MONDAY_9 + timedelta(hours=2), MONDAY_9 + timedelta(hours=5))
    assert [policy.calendar.between(b, a) for b, a in zip(before, after, strict=True)] == [
        paused,
        paused,
    ]


def test_targets_are_configurable_per_priority():
    policy = policy_from_env({"CRM_SLA_URGENT": "1s/90s"})
    assert policy.targets["urgent"].first_response == timedelta(seconds=1)
    assert policy.targets["urgent"].resolution == timedelta(seconds=90)
    assert policy.targets["low"].resolution == timedelta(days=5)
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_breaches_are_only_counted_while_the_clock_runs():
    due = {"first_response_due_at": MONDAY_9, "resolution_due_at": MONDAY_9}
    late = MONDAY_9 + timedelta(seconds=1)
    assert breaches_due(status="open", first_responded_at=None, now=late, **due) == [
        "first_response",
        "resolution",
    ]
    assert breaches_due(status="open", first_responded_at=MONDAY_9, now=late, **due) == [
        "resolution"
    ]
    assert breaches_due(status="pending", first_responded_at=None, now=late, **due) == []
    assert breaches_due(status="open", first_responded_at=None, now=MONDAY_9, **due) == [
        "first_response",
        "resolution",
    ]
