"""The sales worker's consumer: what other services' events mean for sales records.

A contact or company deleted in the contacts service leaves no dangling reference here:
opportunities that named it keep their history but drop the id (`opportunity.updated`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.sales.domain.opportunities import forget_party
from services.sales.models import InboxEvent
from shared.config import Settings
from shared.consumer import Consumer, PermanentError
from shared.db import Database
from shared.events import Event
from shared.logs import get_logger
from shared.schemas import PublishedSchemas

#: The consumer's durable queue; CRM_SALES_QUEUE renames it (two systems on one broker).
QUEUE = "sales.references"
log = get_logger(__name__)


def _deleted_id(event: Event) -> str:
    record_id = event.data.get("id") or event.subject
    if not isinstance(record_id, str) or not record_id:
        raise PermanentError(f"{event.type} names no record id")
    return record_id


def on_contact_deleted(session: Session, event: Event) -> None:
    """Opportunities with this contact drop it."""
    cleared = forget_party(
        session=session,
        field="contact_id",
        record_id=_deleted_id(event),
        actor_id=event.data.get("actor_id"),
    )
    log.info("contact_forgotten", contact_id=_deleted_id(event), opportunities=cleared)


def on_company_deleted(session: Session, event: Event) -> None:
    """Opportunities with this company drop it."""
    cleared = forget_party(
        session=session,
        field="company_id",
        record_id=_deleted_id(event),
        actor_id=event.data.get("actor_id"),
    )
    log.info("company_forgotten", company_id=_deleted_id(event), opportunities=cleared)


HANDLERS = {"contact.deleted": on_contact_deleted, "company.deleted": on_company_deleted}


def consumers(settings: Settings, database: Database) -> list[Consumer]:
    """One queue bound to exactly the event types sales handles."""
    return [
        Consumer(
            queue=settings.extra.get("CRM_SALES_QUEUE", QUEUE),
            bindings=sorted(HANDLERS),
            schemas=PublishedSchemas(HANDLERS),
            handlers=HANDLERS,
            database=database,
            inbox_model=InboxEvent,
            amqp_url=settings.amqp_url,
            ignore_unknown=True,
        )
    ]
