"""A user's inbox: every function sees only the caller's own notifications."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import String, and_, func, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from services.notifications.models import Notification
from shared.auth import SERVICE, Identity
from shared.db import utcnow
from shared.errors import Forbidden, NotFound, PreconditionFailed
from shared.pagination import Page, paginate_args

SORTABLE = ("created_at",)
FILTERS = ("is_read", "type", "record_type", "record_id")


def owner_of_inbox(actor: Identity) -> str:
    """The caller's user id; a service token has no inbox."""
    if actor.role == SERVICE:
        raise Forbidden("A service token has no inbox; notifications belong to users.")
    return actor.user_id


def list_notifications(*, session: Session, actor: Identity, args: dict[str, Any]) -> Page:
    """A page of the caller's notifications, newest first by default."""
    stmt = select(Notification).where(Notification.user_id == owner_of_inbox(actor))
    for name in FILTERS:
        if args.get(name) is not None:
            stmt = stmt.where(getattr(Notification, name) == args[name])
    if args.get("q"):
        stmt = stmt.where(func.lower(Notification.message).like(f"%{args['q'].lower()}%"))
    return paginate_args(session, stmt, model=Notification, sortable=SORTABLE, args=args)


def get_notification(*, session: Session, actor: Identity, notification_id: str) -> Notification:
    """One of the caller's notifications; someone else's is as unknown as a missing one."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != owner_of_inbox(actor):
        raise NotFound(f"No notification with id '{notification_id}'.")
    return notification


def mark(
    *,
    session: Session,
    actor: Identity,
    notification_id: str,
    is_read: bool,
    expected_version: int | None = None,
) -> Notification:
    """Mark one notification read (stamping `read_at`) or unread again."""
    notification = get_notification(session=session, actor=actor, notification_id=notification_id)
    if expected_version is not None and expected_version != notification.version:
        raise PreconditionFailed("The notification changed since you read it; reload it.")
    if notification.is_read != is_read:
        notification.is_read = is_read
        notification.read_at = utcnow() if is_read else None
        session.flush()
    return notification


def mark_all_read(*, session: Session, actor: Identity) -> int:
    """Mark every unread notification of the caller read; return how many changed."""
    now = utcnow()
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == owner_of_inbox(actor), Notification.is_read.is_(False))
        .values(is_read=True, read_at=now, updated_at=now, version=Notification.version + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def unread_count(*, session: Session, actor: Identity) -> int:
    """How many of the caller's notifications are unread."""
    return session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == owner_of_inbox(actor), Notification.is_read.is_(False))
    )


def newest_id(*, session: Session, user_id: str) -> str | None:
    """The id of the user's newest notification (ids are time-ordered), or None."""
    return session.scalar(select(func.max(Notification.id)).where(Notification.user_id == user_id))


def newer_than(
    *, session: Session, user_id: str, after: str, skip: Collection[str] = (), limit: int = 100
) -> list[Notification]:
    """The user's notifications with an id above `after`, oldest first, less those in `skip`."""
    stmt = select(Notification).where(Notification.user_id == user_id, Notification.id > after)
    if skip:
        stmt = stmt.where(Notification.id.not_in(list(skip)))
    return list(session.scalars(stmt.order_by(Notification.id).limit(limit)))


def newer_than_each(*, session: Session, floors: Mapping[str, str], limit: int) -> list[Row]:
    """For several users at once, each one's notifications above that user's id, in id order.

    PostgreSQL only (the live streams' fan-out): one statement whatever the number of users,
    joined to the (user, id) pairs as two arrays, read as plain rows.
    """
    if not floors:
        return []
    table = Notification.__table__
    wanted = (
        func.unnest(
            literal(list(floors), ARRAY(String)), literal(list(floors.values()), ARRAY(String))
        )
        .table_valued("user_id", "after")
        .render_derived(name="wanted")
    )
    stmt = (
        select(table)
        .join(wanted, and_(table.c.user_id == wanted.c.user_id, table.c.id > wanted.c.after))
        .order_by(table.c.id)
        .limit(limit)
    )
    return list(session.execute(stmt))
