"""Periodic work the support worker runs: escalating cases that missed an SLA target.

Safe on many replicas at once: each run locks the breached cases it takes (`FOR UPDATE SKIP
LOCKED` on PostgreSQL, so two runs share the work instead of queueing), re-reads the case's
escalations after the lock, and the unique (case_id, breach) key is the last word, so every
breach is escalated and announced (`case.escalated`) exactly once however often, and from
however many processes, the job runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.support.domain.sla import FIRST_RESPONSE, RESOLUTION, breaches_due
from services.support.events import record_event
from services.support.models import Case, Escalation
from shared.config import Settings
from shared.db import Database, utcnow
from shared.jobs import PeriodicJob
from shared.logs import get_logger
from shared.metrics import SLA_ESCALATIONS

log = get_logger(__name__)
#: How often the job looks for breaches; CRM_SLA_ESCALATION_SECONDS changes it.
DEFAULT_EVERY_SECONDS = 60.0
BATCH = 100


def _not_escalated(breach: str):
    return ~exists().where(Escalation.case_id == Case.id, Escalation.breach == breach)


def _breached(now: datetime):
    return and_(
        Case.status.in_(("new", "open")),
        or_(
            and_(
                Case.first_responded_at.is_(None),
                Case.first_response_due_at <= now,
                _not_escalated(FIRST_RESPONSE),
            ),
            and_(Case.resolution_due_at <= now, _not_escalated(RESOLUTION)),
        ),
    )


def _escalate(session: Session, case: Case, now: datetime) -> int:
    """Escalate the case's missed targets not escalated yet; return how many."""
    done = set(session.scalars(select(Escalation.breach).where(Escalation.case_id == case.id)))
    missed = breaches_due(
        status=case.status,
        first_responded_at=case.first_responded_at,
        first_response_due_at=case.first_response_due_at,
        resolution_due_at=case.resolution_due_at,
        now=now,
    )
    count = 0
    for breach in (b for b in missed if b not in done):
        due = case.first_response_due_at if breach == FIRST_RESPONSE else case.resolution_due_at
        try:
            with session.begin_nested():
                session.add(
                    Escalation(case_id=case.id, breach=breach, due_at=due, escalated_at=now)
                )
                case.escalated_at = now
                session.flush()
        except IntegrityError:
            continue  # another run escalated it a moment ago
        session.refresh(case, ["escalations"])
        record_event(session, "case.escalated", case, actor_id=None, breach=breach, due_at=due)
        count += 1
    return count


def escalate_breaches(database: Database, *, clock: Callable[[], datetime] = utcnow) -> int:
    """One run: escalate every breach found at `clock()`; return how many were escalated."""
    total = 0
    while True:
        now = clock()
        with database.transaction() as session:
            stmt = (
                select(Case)
                .where(_breached(now))
                .order_by(Case.resolution_due_at, Case.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True, of=Case)
            )
            cases = session.scalars(stmt).all()
            escalated = sum(_escalate(session, case, now) for case in cases)
        SLA_ESCALATIONS.inc(escalated)
        total += escalated
        if len(cases) < BATCH or escalated == 0:
            break
    if total:
        log.info("cases_escalated", count=total)
    return total


def jobs(settings: Settings, database: Database) -> list[PeriodicJob]:
    """The worker's periodic jobs."""
    every = float(settings.extra.get("CRM_SLA_ESCALATION_SECONDS", DEFAULT_EVERY_SECONDS))
    return [PeriodicJob("sla-escalation", every, lambda: escalate_breaches(database))]
