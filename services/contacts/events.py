"""The contacts service's events, recorded in the outbox with the change they describe."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.contacts.models import (
    Attachment,
    Company,
    Contact,
    Interaction,
    OutboxEvent,
    Tag,
    Tagging,
)
from services.contacts.schemas import (
    AttachmentSchema,
    CompanySchema,
    ContactSchema,
    InteractionSchema,
    TaggingSchema,
    TagSchema,
)
from shared.catalog import EventSpec, with_actor
from shared.outbox import Outbox

outbox = Outbox(OutboxEvent, "contacts")
CompanyEventSchema = with_actor(CompanySchema)
ContactEventSchema = with_actor(ContactSchema)
InteractionEventSchema = with_actor(InteractionSchema)
TagEventSchema = with_actor(TagSchema)
TaggingEventSchema = with_actor(TaggingSchema)
AttachmentEventSchema = with_actor(AttachmentSchema)
_SCHEMAS = {
    Attachment: AttachmentSchema(),
    Company: CompanySchema(),
    Contact: ContactSchema(),
    Interaction: InteractionSchema(),
    Tag: TagSchema(),
    Tagging: TaggingSchema(),
}

#: Every event this service publishes: its data schema and what it means to a subscriber.
CATALOG = {
    "company.created": EventSpec(CompanyEventSchema, "A company was created."),
    "company.updated": EventSpec(
        CompanyEventSchema, "A company changed; `changed` names the fields.", changed=True
    ),
    "company.deleted": EventSpec(
        CompanyEventSchema, "A company was deleted; data is its last state."
    ),
    "contact.created": EventSpec(ContactEventSchema, "A contact was created."),
    "contact.updated": EventSpec(
        ContactEventSchema, "A contact changed; `changed` names the fields.", changed=True
    ),
    "contact.deleted": EventSpec(
        ContactEventSchema,
        "A contact and their interactions were deleted; data is the contact's last state.",
    ),
    "interaction.logged": EventSpec(
        InteractionEventSchema, "A call, email, meeting or note was logged."
    ),
    "interaction.updated": EventSpec(
        InteractionEventSchema,
        "A logged interaction was corrected; `changed` names the fields.",
        changed=True,
    ),
    "interaction.deleted": EventSpec(
        InteractionEventSchema, "A logged interaction was deleted; data is its last state."
    ),
    "tag.created": EventSpec(TagEventSchema, "A tag was created."),
    "tag.updated": EventSpec(
        TagEventSchema, "A tag was renamed; `changed` names the fields.", changed=True
    ),
    "tag.deleted": EventSpec(
        TagEventSchema,
        "A tag and all its taggings were deleted (no record.untagged per tagging); "
        "data is its last state, usage_count how many records it was on.",
    ),
    "record.tagged": EventSpec(
        TaggingEventSchema,
        "A record (record_type, record_id) was tagged; tag_name names the tag.",
    ),
    "record.untagged": EventSpec(
        TaggingEventSchema,
        "A tag was taken off a record; data is the removed tagging. Taggings that go with a "
        "deleted tag or a deleted record publish no record.untagged.",
    ),
    "attachment.added": EventSpec(
        AttachmentEventSchema,
        "A file was attached to a record (record_type, record_id); mime_type is sniffed from "
        "its content. The bytes are not in the event: GET /attachments/{id}/content.",
    ),
    "attachment.removed": EventSpec(
        AttachmentEventSchema,
        "A file was taken off a record; data is the removed attachment. Attachments that go "
        "with a deleted record publish no attachment.removed.",
    ),
}


def state_of(record) -> dict:
    """The record as subscribers see it (event-carried state, money as strings)."""
    return _SCHEMAS[type(record)].dump(record)


def record_event(
    session: Session, event_type: str, record, *, actor_id: str | None, **extra
) -> str:
    """Put an event about `record` in the outbox; `actor_id` is who caused it."""
    if event_type not in CATALOG:
        raise ValueError(f"'{event_type}' is not in the contacts event catalog")
    data = {**state_of(record), "actor_id": actor_id, **extra}
    return outbox.record(session, event_type, data, subject=record.id)
