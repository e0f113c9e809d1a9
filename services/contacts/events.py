"""The contacts service's events, recorded in the outbox with the change they describe."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.contacts.models import Company, Contact, Interaction, OutboxEvent
from services.contacts.schemas import CompanySchema, ContactSchema, InteractionSchema
from shared.catalog import EventSpec
from shared.outbox import Outbox

outbox = Outbox(OutboxEvent, "contacts")
_SCHEMAS = {Company: CompanySchema(), Contact: ContactSchema(), Interaction: InteractionSchema()}

#: Every event this service publishes: its data schema and what it means to a subscriber.
CATALOG = {
    "company.created": EventSpec(CompanySchema, "A company was created."),
    "company.updated": EventSpec(
        CompanySchema, "A company changed; `changed` names the fields.", changed=True
    ),
    "company.deleted": EventSpec(CompanySchema, "A company was deleted; data is its last state."),
    "contact.created": EventSpec(ContactSchema, "A contact was created."),
    "contact.updated": EventSpec(
        ContactSchema, "A contact changed; `changed` names the fields.", changed=True
    ),
    "contact.deleted": EventSpec(
        ContactSchema,
        "A contact and their interactions were deleted; data is the contact's last state.",
    ),
    "interaction.logged": EventSpec(
        InteractionSchema, "A call, email, meeting or note was logged."
    ),
}


def state_of(record) -> dict:
    """The record as subscribers see it (event-carried state, money as strings)."""
    return _SCHEMAS[type(record)].dump(record)


def record_event(session: Session, event_type: str, record, **extra) -> str:
    if event_type not in CATALOG:
        raise ValueError(f"'{event_type}' is not in the contacts event catalog")
    return outbox.record(session, event_type, {**state_of(record), **extra}, subject=record.id)


#: Events this service consumes. Tags and attachments will listen for `*.deleted` here.
HANDLERS: dict = {}
