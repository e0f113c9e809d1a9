"""GET /reports/cases: open cases, SLA breaches, and business hours to respond and resolve.

Times are business hours on the SLA calendar; time to resolution leaves out the time the
case spent pending (its clock was stopped). The 90th percentile is the nearest-rank one.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.support.domain.sla import BREACHES, FIRST_RESPONSE, PRIORITIES, RESOLUTION, SlaPolicy
from services.support.models import Case, Escalation

OPEN_STATUSES = ("new", "open", "pending")


def _where(stmt, args: dict[str, Any]):
    if args.get("owner_id"):
        stmt = stmt.where(Case.owner_id == args["owner_id"])
    if args.get("priority"):
        stmt = stmt.where(Case.priority == args["priority"])
    if args.get("created_from"):
        stmt = stmt.where(Case.created_at >= args["created_from"])
    if args.get("created_to"):
        stmt = stmt.where(Case.created_at < args["created_to"])
    return stmt


def _stats(hours: list[float]) -> dict[str, Any]:
    if not hours:
        return {"count": 0, "mean_hours": None, "p90_hours": None}
    ordered = sorted(hours)
    p90 = ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]
    return {
        "count": len(ordered),
        "mean_hours": round(sum(ordered) / len(ordered), 3),
        "p90_hours": round(p90, 3),
    }


def _open_counts(session: Session, args: dict[str, Any], column) -> dict[str, int]:
    stmt = _where(
        select(column, func.count()).where(Case.status.in_(OPEN_STATUSES)).group_by(column), args
    )
    return dict(session.execute(stmt).all())


def case_report(
    *, session: Session, args: dict[str, Any], sla: SlaPolicy, now: datetime
) -> dict[str, Any]:
    """The report over the cases the filters select."""
    by_status = _open_counts(session, args, Case.status)
    by_priority = _open_counts(session, args, Case.priority)
    escalated = set(
        session.execute(_where(select(Escalation.case_id, Escalation.breach).join(Case), args))
    )
    rows = session.execute(
        _where(
            select(
                Case.id,
                Case.created_at,
                Case.first_responded_at,
                Case.first_response_due_at,
                Case.resolved_at,
                Case.resolution_due_at,
                Case.sla_paused_seconds,
            ),
            args,
        )
    ).all()
    breaches = {breach: 0 for breach in BREACHES}
    responses, resolutions = [], []
    for row in rows:
        if (row.id, FIRST_RESPONSE) in escalated or (
            row.first_responded_at and row.first_responded_at > row.first_response_due_at
        ):
            breaches[FIRST_RESPONSE] += 1
        if (row.id, RESOLUTION) in escalated or (
            row.resolved_at and row.resolved_at > row.resolution_due_at
        ):
            breaches[RESOLUTION] += 1
        if row.first_responded_at:
            responses.append(sla.hours(row.created_at, row.first_responded_at))
        if row.resolved_at:
            paused = row.sla_paused_seconds / 3600
            resolutions.append(max(sla.hours(row.created_at, row.resolved_at) - paused, 0.0))
    return {
        "open_by_status": {status: by_status.get(status, 0) for status in OPEN_STATUSES},
        "open_by_priority": {p: by_priority.get(p, 0) for p in PRIORITIES},
        "breaches": breaches,
        "first_response": _stats(responses),
        "resolution": _stats(resolutions),
    }
