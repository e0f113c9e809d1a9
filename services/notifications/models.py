"""The notifications service's tables. No other service reads them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import RecordMixin, UTCDateTime
from shared.idempotency import IdempotencyMixin
from shared.outbox import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    pass


class Notification(RecordMixin, Base):
    """One message in one user's inbox. Ids are UUIDv7: their order is their creation order."""

    __tablename__ = "notifications"
    __table_args__ = (
        # One notification per (event, user), however often the event arrives.
        UniqueConstraint("event_id", "user_id", name="uq_notifications_event_user"),
        Index("ix_notifications_user_created", "user_id", "created_at", "id"),
        Index("ix_notifications_user_unread", "user_id", "is_read", "created_at", "id"),
        Index("ix_notifications_user_id", "user_id", "id"),  # the live stream: newer than an id
    )

    user_id: Mapped[str] = mapped_column(String(100), nullable=False)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    message: Mapped[str] = mapped_column(String(500), nullable=False)
    link: Mapped[str] = mapped_column(String(300), nullable=False)
    record_type: Mapped[str] = mapped_column(String(50), nullable=False)
    record_id: Mapped[str] = mapped_column(String(100), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(String(100))
    is_read: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    event_id: Mapped[str] = mapped_column(String(100), nullable=False)


class StreamTicket(Base):
    """A one-time ticket that opens its user's stream without a header; only its hash is kept."""

    __tablename__ = "stream_tickets"

    ticket_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(50), nullable=False)
    email: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    session_id: Mapped[str | None] = mapped_column(String(36))
    issued_at: Mapped[float | None] = mapped_column(Float)  # the token's, as Unix seconds
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox"


class InboxEvent(InboxMixin, Base):
    __tablename__ = "inbox"


class IdempotencyKey(IdempotencyMixin, Base):
    __tablename__ = "idempotency_keys"
