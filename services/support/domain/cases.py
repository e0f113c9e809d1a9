"""Cases: support agents work the ones they own, managers work all; everyone reads them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from services.support.domain.numbering import next_case_number
from services.support.domain.references import check_contact
from services.support.domain.sla import SlaPolicy
from services.support.domain.workflow import check_move
from services.support.events import record_event
from services.support.models import Case
from services.support.ports.contacts import ContactsPort
from shared.auth import MANAGERS, SUPPORT_AGENT, Identity, ensure_can_change, require_role
from shared.db import utcnow
from shared.pagination import Page, paginate_args
from shared.records import apply_changes, check_version, filtered, get_or_404, resolve_owner
from shared.users import UserDirectory

Clock = Callable[[], datetime]
SORTABLE = ("created_at", "updated_at", "case_number", "resolution_due_at")
#: Who works cases (create, change their own); managers also change anyone's and reassign.
CASE_WORKERS = (*MANAGERS, SUPPORT_AGENT)


def create_case(
    *,
    session: Session,
    actor: Identity,
    data: dict[str, Any],
    users: UserDirectory,
    contacts: ContactsPort,
    sla: SlaPolicy,
    clock: Clock = utcnow,
) -> Case:
    """Open a case owned by the caller (or whom a manager names); emits case.opened."""
    require_role(actor, *CASE_WORKERS)
    data.pop("status", None)
    owner_id = resolve_owner(actor, data.pop("owner_id", None), users)
    check_contact(session, data["contact_id"], contacts)
    now = clock()
    first_due, resolution_due = sla.due_times(
        priority=data["priority"], opened_at=now, paused=timedelta(0)
    )
    case = Case(
        **data,
        status="new",
        owner_id=owner_id,
        created_at=now,
        updated_at=now,
        first_response_due_at=first_due,
        resolution_due_at=resolution_due,
        case_number=next_case_number(session),  # last: the counter row stays locked until commit
    )
    session.add(case)
    session.flush()
    record_event(session, "case.opened", case, actor_id=actor.user_id)
    if owner_id != actor.user_id:
        record_event(
            session,
            "case.assigned",
            case,
            actor_id=actor.user_id,
            assigned_by=actor.user_id,
            previous_owner_id=None,
        )
    return case


def get_case(*, session: Session, case_id: str) -> Case:
    """One case, or NotFound."""
    return get_or_404(session, Case, case_id, "case")


def list_cases(*, session: Session, args: dict[str, Any]) -> Page:
    """A page of cases, filtered; `q` searches the description and the case number."""
    stmt = filtered(
        Case,
        args,
        ("status", "priority", "type", "owner_id", "contact_id"),
        ("description", "case_number"),
    )
    return paginate_args(session, stmt, model=Case, sortable=SORTABLE, args=args)


def update_case(
    *,
    session: Session,
    actor: Identity,
    case_id: str,
    changes: dict[str, Any],
    users: UserDirectory,
    contacts: ContactsPort,
    sla: SlaPolicy,
    expected_version: int | None = None,
    clock: Clock = utcnow,
) -> Case:
    """Change a case's fields, owner (managers) or status (along the workflow)."""
    require_role(actor, *CASE_WORKERS)
    case = get_case(session=session, case_id=case_id)
    ensure_can_change(actor, case.owner_id)
    check_version(case, expected_version)
    target = changes.pop("status", case.status)
    if target != case.status:
        check_move(current=case.status, target=target)
    previous_owner = case.owner_id
    if changes.get("owner_id", case.owner_id) != case.owner_id:
        changes["owner_id"] = resolve_owner(actor, changes["owner_id"], users)
    if changes.get("contact_id", case.contact_id) != case.contact_id:
        check_contact(session, changes["contact_id"], contacts)
    now = clock()
    changed = apply_changes(case, changes)
    previous_status = case.status
    if target != case.status:
        _move(case, target, sla=sla, now=now)
    if "priority" in changed:
        _recompute_due(case, sla)
    if not changed and previous_status == case.status:
        return case
    session.flush()
    _announce(session, case, actor, changed, previous_owner, previous_status)
    return case


def _move(case: Case, target: str, *, sla: SlaPolicy, now: datetime) -> None:
    """Set the status and what goes with it: the SLA clock's pause, resolution, closing."""
    if case.status == "pending" and case.sla_paused_at is not None:
        paused = sla.paused_for(since=case.sla_paused_at, until=now)
        case.sla_paused_seconds += int(paused.total_seconds())
        case.sla_paused_at = None
        _recompute_due(case, sla)
    if target == "pending":
        case.sla_paused_at = now
    if target == "resolved":
        case.resolved_at = now
    elif target == "open" and case.status == "resolved":
        case.resolved_at = None  # reopened
    if target == "closed":
        case.closed_at = now
    case.status = target


def _recompute_due(case: Case, sla: SlaPolicy) -> None:
    case.first_response_due_at, case.resolution_due_at = sla.due_times(
        priority=case.priority,
        opened_at=case.created_at,
        paused=timedelta(seconds=case.sla_paused_seconds),
    )


def _announce(
    session: Session,
    case: Case,
    actor: Identity,
    changed: list[str],
    previous_owner: str,
    previous_status: str,
) -> None:
    fields = [name for name in changed if name != "owner_id"]
    if fields:
        record_event(session, "case.updated", case, actor_id=actor.user_id, changed=fields)
    if case.owner_id != previous_owner:
        record_event(
            session,
            "case.assigned",
            case,
            actor_id=actor.user_id,
            assigned_by=actor.user_id,
            previous_owner_id=previous_owner,
        )
    if case.status != previous_status:
        move = {"from_status": previous_status, "to_status": case.status}
        record_event(session, "case.status_changed", case, actor_id=actor.user_id, **move)
        if case.status in ("resolved", "closed"):
            record_event(session, f"case.{case.status}", case, actor_id=actor.user_id, **move)


def record_first_response(*, session: Session, case_id: str, responded_at: datetime) -> bool:
    """The first interaction logged on the case stops its first-response clock."""
    case = session.get(Case, case_id)
    if case is None or case.first_responded_at is not None:
        return False
    case.first_responded_at = responded_at
    session.flush()
    return True
