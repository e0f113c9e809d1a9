"""Putting notifications into inboxes as events arrive, each once per (event, user)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.notifications.events import record_event
from services.notifications.models import Notification
from services.notifications.rules import Draft

#: The channel a stored notification is announced on (payload: its user id); each web
#: process's listener (services/notifications/listener.py) wakes that user's open streams.
CHANNEL = "crm_notifications_new"


def deliver(
    *, session: Session, event_id: str, event_type: str, draft: Draft
) -> Notification | None:
    """Add the notification and its `notification.created` event, unless the user has it already."""
    already = session.scalar(
        select(Notification.id).where(
            Notification.event_id == event_id, Notification.user_id == draft.user_id
        )
    )
    if already is not None:
        return None
    notification = Notification(
        user_id=draft.user_id,
        type=event_type,
        message=draft.message,
        link=draft.link,
        record_type=draft.record_type,
        record_id=draft.record_id,
        actor_id=draft.actor_id,
        is_read=False,
        event_id=event_id,
    )
    session.add(notification)
    session.flush()
    record_event(session, "notification.created", notification)
    announce(session, draft.user_id)
    return notification


def announce(session: Session, user_id: str) -> None:
    """On PostgreSQL, NOTIFY the open streams' listeners; delivered when the transaction commits.

    PostgreSQL folds identical notifications of one transaction into one.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, user_id)))
