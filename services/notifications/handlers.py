"""The event consumer: events in, notifications out. Unknown event types are ignored."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.notifications.domain.delivery import deliver
from services.notifications.models import InboxEvent
from services.notifications.rules import RULES, notifications_for
from shared.config import Settings
from shared.consumer import Consumer
from shared.db import Database
from shared.events import Event
from shared.logs import get_logger
from shared.schemas import PublishedSchemas

#: The consumer's durable queue; CRM_NOTIFICATIONS_QUEUE renames it, so that two systems (or
#: test runs) sharing one broker do not take each other's events.
QUEUE = "notifications.inbox"
log = get_logger(__name__)


def on_event(session: Session, event: Event) -> None:
    """Notify whom the event concerns; safe to run twice (one notification per event and user)."""
    drafts = notifications_for(event.type, event.data, event.subject)
    for draft in drafts:
        deliver(session=session, event_id=event.id, event_type=event.type, draft=draft)
    if not drafts:
        log.info("nobody_to_notify", event_id=event.id, event_type=event.type)


def consumers(settings: Settings, database: Database) -> list[Consumer]:
    """The worker's consumers: one queue bound to exactly the event types with a rule."""
    return [
        Consumer(
            queue=settings.extra.get("CRM_NOTIFICATIONS_QUEUE", QUEUE),
            bindings=sorted(HANDLERS),
            schemas=PublishedSchemas(HANDLERS),
            handlers=HANDLERS,
            database=database,
            inbox_model=InboxEvent,
            amqp_url=settings.amqp_url,
            ignore_unknown=True,
        )
    ]


HANDLERS = dict.fromkeys(RULES, on_event)
