"""The support service's events, recorded in the outbox with the change they describe.

Every payload is the case as the API shows it plus `actor_id`: the user whose request caused
the event (null for the escalation job), so that notifications never tells people about their
own actions.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields
from sqlalchemy.orm import Session

from services.support.models import Case, OutboxEvent
from services.support.schemas import CaseSchema
from shared.catalog import EventSpec, event_data, with_actor
from shared.outbox import Outbox

outbox = Outbox(OutboxEvent, "support")
CaseEventSchema = with_actor(CaseSchema)


class CaseAssignedSchema(CaseEventSchema):  # type: ignore[misc, valid-type]
    assigned_by = fields.String()
    previous_owner_id = fields.String(allow_none=True)


class StatusChangedSchema(CaseEventSchema):  # type: ignore[misc, valid-type]
    from_status = fields.String()
    to_status = fields.String()


class CaseEscalatedSchema(CaseEventSchema):  # type: ignore[misc, valid-type]
    breach = fields.String(metadata={"description": "first_response or resolution"})
    due_at = fields.DateTime()


#: Every event this service publishes: its data schema and what it means to a subscriber.
CATALOG = {
    "case.opened": EventSpec(CaseEventSchema, "A case was opened (status new)."),
    "case.updated": EventSpec(
        CaseEventSchema,
        "A case's priority, type, contact or description changed; `changed` names them.",
        changed=True,
    ),
    "case.assigned": EventSpec(
        CaseAssignedSchema, "A case was given to `owner_id` by `assigned_by`."
    ),
    "case.status_changed": EventSpec(
        StatusChangedSchema, "A case moved from `from_status` to `to_status`."
    ),
    "case.resolved": EventSpec(StatusChangedSchema, "A case was resolved."),
    "case.closed": EventSpec(StatusChangedSchema, "A case was closed; it cannot reopen."),
    "case.escalated": EventSpec(
        CaseEscalatedSchema,
        "A case missed an SLA target (`breach`, due at `due_at`); sent once per breach.",
    ),
}


def record_event(
    session: Session, event_type: str, case: Case, *, actor_id: str | None, **extra: Any
) -> str:
    """Put an event about `case` in the outbox, shaped by its catalog schema."""
    data = event_data(CATALOG, event_type, case, actor_id=actor_id, **extra)
    return outbox.record(session, event_type, data, subject=case.id)
