"""Payment terms: due_date = issue_date + CRM_PAYMENT_TERMS_DAYS (default net 30)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

DEFAULT_TERMS_DAYS = 30
TERMS_VARIABLE = "CRM_PAYMENT_TERMS_DAYS"


def terms_days(environ: Mapping[str, str]) -> int:
    """The configured payment terms in days (0-365); a bad value is refused at start-up."""
    raw = environ.get(TERMS_VARIABLE, "") or str(DEFAULT_TERMS_DAYS)
    days = int(raw)
    if not 0 <= days <= 365:
        raise ValueError(f"{TERMS_VARIABLE} must be between 0 and 365, not {days}")
    return days


def due_date(issue_date: date, days: int) -> date:
    return issue_date + timedelta(days=days)
