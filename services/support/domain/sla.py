"""SLA targets per priority and the case's clock: due times, pauses, breaches. Pure functions.

A target is business time on the calendar (domain/calendar.py): "1d" is 24 hours of business
time, so on a 09:00-17:00 calendar it spans three working days; on the default 24x7 calendar
it is one day. The clock stops while a case is pending: the paused business time is added to
both targets, so the due times move by exactly that much.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.support.domain.calendar import BusinessCalendar, parse_calendar

PRIORITIES = ("low", "medium", "high", "urgent")
FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"
BREACHES = (FIRST_RESPONSE, RESOLUTION)
#: priority -> (first response, resolution); CRM_SLA_<PRIORITY>=first/resolution overrides.
DEFAULT_TARGETS = {
    "urgent": ("1h", "4h"),
    "high": ("4h", "1d"),
    "medium": ("8h", "3d"),
    "low": ("1d", "5d"),
}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `4h`, `1d` (24 hours of business time)."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 4h, 1d)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class Target:
    first_response: timedelta
    resolution: timedelta


@dataclass(frozen=True)
class SlaPolicy:
    calendar: BusinessCalendar
    targets: dict[str, Target]

    def due_times(
        self, *, priority: str, opened_at: datetime, paused: timedelta
    ) -> tuple[datetime, datetime]:
        """(first_response_due_at, resolution_due_at) for a case opened at `opened_at`."""
        target = self.targets[priority]
        return (
            self.calendar.add(opened_at, target.first_response + paused),
            self.calendar.add(opened_at, target.resolution + paused),
        )

    def paused_for(self, *, since: datetime, until: datetime) -> timedelta:
        """The business time a pause from `since` to `until` took off the clock."""
        return self.calendar.between(since, until)

    def hours(self, start: datetime, end: datetime) -> float:
        """Business hours from `start` to `end`."""
        return self.calendar.between(start, end).total_seconds() / 3600


def policy_from_env(extra: dict[str, str]) -> SlaPolicy:
    """The policy from CRM_SLA_* variables; unset means the documented defaults on 24x7."""
    calendar = parse_calendar(
        timezone=extra.get("CRM_SLA_TIMEZONE", "UTC"),
        workdays=extra.get("CRM_SLA_WORKDAYS", ""),
        hours=extra.get("CRM_SLA_HOURS", ""),
        holidays=extra.get("CRM_SLA_HOLIDAYS", ""),
    )
    targets = {}
    for priority, (first, resolution) in DEFAULT_TARGETS.items():
        override = extra.get(f"CRM_SLA_{priority.upper()}", "")
        if override.strip():
            first, _, resolution = override.partition("/")
        targets[priority] = Target(parse_duration(first), parse_duration(resolution))
    return SlaPolicy(calendar, targets)


def breaches_due(
    *,
    status: str,
    first_responded_at: datetime | None,
    first_response_due_at: datetime,
    resolution_due_at: datetime,
    now: datetime,
) -> list[str]:
    """Which targets a case has missed by `now`; none while its clock is stopped."""
    if status not in ("new", "open"):
        return []
    missed = []
    if first_responded_at is None and first_response_due_at <= now:
        missed.append(FIRST_RESPONSE)
    if resolution_due_at <= now:
        missed.append(RESOLUTION)
    return missed
