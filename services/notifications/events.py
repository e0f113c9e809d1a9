"""The notifications service's events, recorded in the outbox with the change they describe."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.notifications.models import Notification, OutboxEvent
from services.notifications.schemas import NotificationSchema
from shared.catalog import EventSpec
from shared.outbox import Outbox

outbox = Outbox(OutboxEvent, "notifications")
_SCHEMA = NotificationSchema()

#: Every event this service publishes: its data schema and what it means to a subscriber.
CATALOG = {
    "notification.created": EventSpec(
        NotificationSchema,
        "A notification was put in a user's inbox (e.g. for an e-mail or push module to relay); "
        "`type` and `event_id` name the event it came from.",
    ),
}


def record_event(session: Session, event_type: str, notification: Notification) -> str:
    if event_type not in CATALOG:
        raise ValueError(f"'{event_type}' is not in the notifications event catalog")
    return outbox.record(session, event_type, _SCHEMA.dump(notification), subject=notification.id)
