"""A business-hours calendar: pure arithmetic on aware datetimes, no database, no clock.

Business time passes only inside working windows: on working days (not holidays), between the
opening and closing time, in the calendar's time zone (so DST and local holidays are honoured).
The default calendar is always open (24x7), where business time is wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ALL_DAYS = frozenset(range(7))  # Monday = 0
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The farthest a computation walks: ten years of days (a calendar with no windows is refused).
MAX_DAYS = 3660


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str = "UTC"
    workdays: frozenset[int] = ALL_DAYS
    opens: time = time(0, 0)
    closes: time | None = None  # None: midnight at the end of the day
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.workdays:
            raise ValueError("a business calendar needs at least one working day")
        if self.closes is not None and self.closes <= self.opens:
            raise ValueError("business hours must close after they open")
        ZoneInfo(self.timezone)  # an unknown zone fails here, at start-up

    @property
    def always_open(self) -> bool:
        return (
            self.workdays == ALL_DAYS
            and self.opens == time(0, 0)
            and self.closes is None
            and not self.holidays
        )

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's working window in UTC, or None on a day off."""
        if day.weekday() not in self.workdays or day in self.holidays:
            return None
        zone = ZoneInfo(self.timezone)
        start = datetime.combine(day, self.opens, zone)
        end = (
            datetime.combine(day + timedelta(days=1), time(0, 0), zone)
            if self.closes is None
            else datetime.combine(day, self.closes, zone)
        )
        return start.astimezone(UTC), end.astimezone(UTC)

    def _windows_from(self, moment: datetime):
        day = moment.astimezone(ZoneInfo(self.timezone)).date()
        for offset in range(MAX_DAYS):
            window = self._window(day + timedelta(days=offset))
            if window is not None and window[1] > moment:
                yield max(window[0], moment), window[1]
        raise ValueError("no working time within ten years of the start")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of business time after `start`."""
        start = start.astimezone(UTC)
        if self.always_open:
            return start + duration
        remaining = duration
        for begin, end in self._windows_from(start):
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
        raise AssertionError("unreachable")  # pragma: no cover

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The business time from `start` to `end` (zero when end is not after start)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return timedelta(0)
        if self.always_open:
            return end - start
        total = timedelta(0)
        for begin, close in self._windows_from(start):
            if begin >= end:
                break
            total += min(close, end) - begin
        return total


def parse_calendar(
    *, timezone: str = "UTC", workdays: str = "", hours: str = "", holidays: str = ""
) -> BusinessCalendar:
    """A calendar from its env strings: `mon-fri` or `mon,tue`, `09:00-17:00`, `2026-12-25,...`."""
    opens, closes = time(0, 0), None
    if hours.strip():
        first, _, last = hours.strip().partition("-")
        opens = time.fromisoformat(first.strip())
        closes = None if last.strip() in ("24:00", "") else time.fromisoformat(last.strip())
    return BusinessCalendar(
        timezone=timezone.strip() or "UTC",
        workdays=_days(workdays) if workdays.strip() else ALL_DAYS,
        opens=opens,
        closes=closes,
        holidays=frozenset(date.fromisoformat(d.strip()) for d in holidays.split(",") if d.strip()),
    )


def _days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.lower().split(","):
        first, _, last = part.strip().partition("-")
        a = DAY_NAMES.index(first[:3])
        b = DAY_NAMES.index(last[:3]) if last else a
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(days)
