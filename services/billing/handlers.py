"""The billing worker's consumer: won opportunities become draft invoices; the customer replica.

opportunity.won makes exactly one draft per opportunity: the inbox drops a redelivered event,
and the unique index on invoices made from events stops a second draft from another event or
replica (the losing transaction rolls back and is retried, then finds the draft and stops).
"""

from __future__ import annotations

import os

from sqlalchemy.orm import Session

from services.billing.domain import parties
from services.billing.domain.invoices import create_from_won
from services.billing.domain.terms import terms_days
from services.billing.models import Company, Contact, InboxEvent
from services.billing.ports.clock import SystemClock
from shared.config import Settings
from shared.consumer import Consumer, PermanentError
from shared.db import Database
from shared.events import Event
from shared.logs import get_logger
from shared.schemas import PublishedSchemas

#: The consumer's durable queue; CRM_BILLING_QUEUE renames it (two systems on one broker).
QUEUE = "billing.invoicing"
log = get_logger(__name__)
clock = SystemClock()


def _record_id(event: Event) -> str:
    record_id = event.data.get("id") or event.subject
    if not isinstance(record_id, str) or not record_id:
        raise PermanentError(f"{event.type} names no record id")
    return record_id


def on_opportunity_won(session: Session, event: Event) -> None:
    """A won opportunity gets its draft invoice, once."""
    data = {**event.data, "id": _record_id(event)}
    if not data.get("owner_id"):
        raise PermanentError("opportunity.won names no owner_id")
    invoice = create_from_won(
        session=session, data=data, today=clock.today(), terms_days=terms_days(os.environ)
    )
    log.info("invoice_drafted" if invoice else "invoice_exists", opportunity_id=data["id"])


def on_company_changed(session: Session, event: Event) -> None:
    """Keep the company in the replica the PDFs read."""
    parties.keep_company(session=session, data={**event.data, "id": _record_id(event)})


def on_contact_changed(session: Session, event: Event) -> None:
    """Keep the contact in the replica the PDFs read."""
    parties.keep_contact(session=session, data={**event.data, "id": _record_id(event)})


def on_company_deleted(session: Session, event: Event) -> None:
    parties.forget(session=session, model=Company, record_id=_record_id(event))


def on_contact_deleted(session: Session, event: Event) -> None:
    parties.forget(session=session, model=Contact, record_id=_record_id(event))


HANDLERS = {
    "opportunity.won": on_opportunity_won,
    "company.created": on_company_changed,
    "company.updated": on_company_changed,
    "company.deleted": on_company_deleted,
    "contact.created": on_contact_changed,
    "contact.updated": on_contact_changed,
    "contact.deleted": on_contact_deleted,
}


def consumers(settings: Settings, database: Database) -> list[Consumer]:
    """One queue bound to exactly the event types billing handles."""
    return [
        Consumer(
            queue=settings.extra.get("CRM_BILLING_QUEUE", QUEUE),
            bindings=sorted(HANDLERS),
            schemas=PublishedSchemas(HANDLERS),
            handlers=HANDLERS,
            database=database,
            inbox_model=InboxEvent,
            amqp_url=settings.amqp_url,
            ignore_unknown=True,
        )
    ]
