"""Old bookkeeping rows removed on a schedule: idempotency keys and inbox entries.

Both tables only ever grow otherwise. An idempotency key guards retries of one request, so a
day is plenty (a client retrying later gets a fresh result). An inbox row guards against a
redelivered event; redeliveries come within minutes, dead-letter replays within days, so a
month keeps every realistic duplicate out. (Published outbox rows are pruned by the relay.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from shared.db import Database, utcnow
from shared.jobs import PeriodicJob
from shared.logs import get_logger

log = get_logger(__name__)
IDEMPOTENCY_KEEP = timedelta(hours=24)
INBOX_KEEP = timedelta(days=30)


@dataclass(frozen=True)
class Retention:
    """Rows of `model` whose `column` is older than `keep` may go."""

    model: Any
    column: str
    keep: timedelta


def retentions(
    *, idempotency_model: Any = None, inbox_model: Any = None, extra: dict[str, str] | None = None
) -> list[Retention]:
    """The standard policies, overridable with CRM_IDEMPOTENCY_KEEP_HOURS / CRM_INBOX_KEEP_DAYS."""
    extra = extra or {}
    found = []
    if idempotency_model is not None:
        hours = float(
            extra.get("CRM_IDEMPOTENCY_KEEP_HOURS", IDEMPOTENCY_KEEP.total_seconds() / 3600)
        )
        found.append(Retention(idempotency_model, "created_at", timedelta(hours=hours)))
    if inbox_model is not None:
        days = float(extra.get("CRM_INBOX_KEEP_DAYS", INBOX_KEEP.days))
        found.append(Retention(inbox_model, "handled_at", timedelta(days=days)))
    return found


def prune(database: Database, policies: list[Retention]) -> dict[str, int]:
    """Delete what every policy allows; return how many rows went, per table."""
    removed = {}
    now = utcnow()
    for policy in policies:
        column = getattr(policy.model, policy.column)
        with database.transaction() as session:
            result = session.execute(delete(policy.model).where(column < now - policy.keep))
        removed[policy.model.__tablename__] = getattr(result, "rowcount", 0) or 0
    return removed


def housekeeping_job(database: Database, policies: list[Retention], every_seconds: float):
    """Prune at start and then every `every_seconds`, as the worker's `housekeeping` job."""

    def tick() -> None:
        removed = prune(database, policies)
        if any(removed.values()):
            log.info("housekeeping_pruned", removed=removed)

    return PeriodicJob("housekeeping", every_seconds, tick)
