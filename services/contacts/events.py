"""The contacts service's events, recorded in the outbox with the change they describe."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.contacts.models import Company, Contact, Interaction, OutboxEvent
from services.contacts.schemas import CompanySchema, ContactSchema, InteractionSchema
from shared.outbox import Outbox

outbox = Outbox(OutboxEvent, "contacts")
_SCHEMAS = {Company: CompanySchema(), Contact: ContactSchema(), Interaction: InteractionSchema()}


def state_of(record) -> dict:
    """The record as subscribers see it (event-carried state, money as strings)."""
    return _SCHEMAS[type(record)].dump(record)


def record_event(session: Session, event_type: str, record, **extra) -> str:
    return outbox.record(session, event_type, {**state_of(record), **extra}, subject=record.id)


#: Events this service consumes. Tags and attachments will listen for `*.deleted` here.
HANDLERS: dict = {}
