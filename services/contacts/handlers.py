"""The contacts worker's consumer: replicas of other services' records, and their deletions.

- `case.*` keeps the replica of support's cases that an interaction's case_id (and a case
  tagging) is checked against.
- `<type>.created` of leads, opportunities, campaigns, products and invoices keeps the replica
  of records that may be tagged; `<type>.deleted` drops the record from it and takes its tags
  off. (Cases are closed and invoices voided, never deleted: no such events exist.)
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.contacts.domain.removals import forget_records
from services.contacts.models import CaseRef, InboxEvent, RecordRef
from shared.config import Settings
from shared.consumer import Consumer, PermanentError
from shared.db import Database
from shared.events import Event
from shared.schemas import PublishedSchemas

#: The consumer's durable queue; CRM_CONTACTS_QUEUE renames it (two systems on one broker).
QUEUE = "contacts.references"
#: Record types other services own whose *.created events contacts replicates.
REPLICATED = ("lead", "opportunity", "campaign", "product", "invoice")
#: ... and those whose *.deleted events exist (their taggings go with them).
DELETABLE = ("lead", "opportunity", "campaign", "product")


def _record_id(event: Event) -> str:
    record_id = event.data.get("id") or event.subject
    if not isinstance(record_id, str) or not record_id:
        raise PermanentError(f"{event.type} names no record id")
    return record_id


def on_case_event(session: Session, event: Event) -> None:
    """A case opened or changed in support: interactions and taggings may name it."""
    case_id = _record_id(event)
    ref = session.get(CaseRef, case_id)
    if ref is None:
        ref = CaseRef(id=case_id)
        session.add(ref)
    ref.case_number = event.data.get("case_number") or ref.case_number
    ref.status = event.data.get("status") or ref.status


def on_record_created(session: Session, event: Event) -> None:
    """A record was created in its owning service: it may be tagged."""
    key = (event.type.split(".")[0], _record_id(event))
    if session.get(RecordRef, key) is None:
        session.add(RecordRef(record_type=key[0], record_id=key[1]))


def on_record_deleted(session: Session, event: Event) -> None:
    """A record was deleted in its owning service: it can no longer be tagged, nor stay tagged."""
    record_type, record_id = event.type.split(".")[0], _record_id(event)
    ref = session.get(RecordRef, (record_type, record_id))
    if ref is not None:
        session.delete(ref)
    forget_records(session=session, record_type=record_type, record_ids=[record_id])


HANDLERS = {
    **{
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
    },
    **{f"{record_type}.created": on_record_created for record_type in REPLICATED},
    **{f"{record_type}.deleted": on_record_deleted for record_type in DELETABLE},
}


def consumers(settings: Settings, database: Database) -> list[Consumer]:
    """One queue bound to exactly the event types contacts handles."""
    return [
        Consumer(
            queue=settings.extra.get("CRM_CONTACTS_QUEUE", QUEUE),
            bindings=sorted(HANDLERS),
            schemas=PublishedSchemas(HANDLERS),
            handlers=HANDLERS,
            database=database,
            inbox_model=InboxEvent,
            amqp_url=settings.amqp_url,
            ignore_unknown=True,
        )
    ]
