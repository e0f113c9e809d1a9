"""The support worker's consumer: the contacts replica and first responses.

`contact.*` keeps the local replica that case references are checked against; an
`interaction.logged` naming a case stops that case's first-response clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from services.support.domain.cases import record_first_response
from services.support.domain.references import remember_contact
from services.support.events import record_event
from services.support.models import Case, InboxEvent
from shared.config import Settings
from shared.consumer import Consumer, PermanentError
from shared.db import Database, utcnow
from shared.events import Event
from shared.logs import get_logger
from shared.schemas import PublishedSchemas

#: The consumer's durable queue; CRM_SUPPORT_QUEUE renames it (two systems on one broker).
QUEUE = "support.references"
log = get_logger(__name__)


def _contact(event: Event) -> dict:
    data = dict(event.data)
    data.setdefault("id", event.subject)
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise PermanentError(f"{event.type} names no contact id")
    return data


def on_contact_changed(session: Session, event: Event) -> None:
    """A contact created or changed: the replica knows it."""
    remember_contact(session, _contact(event))


def on_contact_deleted(session: Session, event: Event) -> None:
    """A contact deleted: new cases may no longer name it."""
    remember_contact(session, _contact(event), deleted=True)


def _when(event: Event) -> datetime:
    """When the interaction was logged (its created_at), else when the event was sent."""
    logged = event.data.get("created_at")
    if not isinstance(logged, str):
        return event.time or utcnow()
    try:
        moment = datetime.fromisoformat(logged)
    except ValueError as exc:
        raise PermanentError(f"interaction.logged has a bad created_at: {logged!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def on_interaction_logged(session: Session, event: Event) -> None:
    """The first interaction logged on a case is its first response."""
    case_id = event.data.get("case_id")
    if not case_id:
        return
    if not record_first_response(session=session, case_id=case_id, responded_at=_when(event)):
        log.info("first_response_ignored", case_id=case_id)
        return
    case = session.get(Case, case_id)
    record_event(
        session,
        "case.updated",
        case,
        actor_id=event.data.get("actor_id"),
        changed=["first_responded_at"],
    )


HANDLERS = {
    "contact.created": on_contact_changed,
    "contact.updated": on_contact_changed,
    "contact.deleted": on_contact_deleted,
    "interaction.logged": on_interaction_logged,
}


def consumers(settings: Settings, database: Database) -> list[Consumer]:
    """One queue bound to exactly the event types support handles."""
    return [
        Consumer(
            queue=settings.extra.get("CRM_SUPPORT_QUEUE", QUEUE),
            bindings=sorted(HANDLERS),
            schemas=PublishedSchemas(HANDLERS),
            handlers=HANDLERS,
            database=database,
            inbox_model=InboxEvent,
            amqp_url=settings.amqp_url,
            ignore_unknown=True,
        )
    ]
