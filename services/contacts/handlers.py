"""The contacts worker's consumer: the replica of support's cases that case_id is checked against.

Every `case.*` event carries the case's state; the replica keeps its id, number and status.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.contacts.models import CaseRef, InboxEvent
from shared.config import Settings
from shared.consumer import Consumer, PermanentError
from shared.db import Database
from shared.events import Event

#: The consumer's durable queue; CRM_CONTACTS_QUEUE renames it (two systems on one broker).
QUEUE = "contacts.references"


def on_case_event(session: Session, event: Event) -> None:
    """A case opened or changed in support: interactions may name it."""
    case_id = event.data.get("id") or event.subject
    if not isinstance(case_id, str) or not case_id:
        raise PermanentError(f"{event.type} names no case id")
    ref = session.get(CaseRef, case_id)
    if ref is None:
        ref = CaseRef(id=case_id)
        session.add(ref)
    ref.case_number = event.data.get("case_number") or ref.case_number
    ref.status = event.data.get("status") or ref.status


HANDLERS = {
    f"case.{verb}": on_case_event
    for verb in (
        "opened",
        "updated",
        "assigned",
        "status_changed",
        "resolved",
        "closed",
        "escalated",
    )
}


def consumers(settings: Settings, database: Database) -> list[Consumer]:
    """One queue bound to exactly the event types contacts handles."""
    return [
        Consumer(
            queue=settings.extra.get("CRM_CONTACTS_QUEUE", QUEUE),
            bindings=sorted(HANDLERS),
            handlers=HANDLERS,
            database=database,
            inbox_model=InboxEvent,
            amqp_url=settings.amqp_url,
            ignore_unknown=True,
        )
    ]
