"""The transactional outbox: events are rows written in the same transaction as the change."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, insert
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from shared import events
from shared.db import BIG_ID, UTCDateTime, utcnow
from shared.ids import new_id
from shared.logs import causation_id_var, correlation_id_var, request_id_var
from shared.tracing import event_trace_context
from shared.wakeup import notify_channel


class OutboxMixin:
    """Columns of a service's `outbox` table; `seq` gives the publishing order."""

    seq: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    subject: Mapped[str | None] = mapped_column(String(36))
    correlation_id: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @declared_attr.directive
    def __table_args__(cls):
        return (Index(f"ix_{cls.__tablename__}_unpublished", "published_at", "seq"),)


class InboxMixin:
    """Columns of a service's `inbox` table: (consumer, event id) pairs whose effect committed."""

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Outbox:
    """Records events for one service; the relay process publishes them later."""

    def __init__(self, model: type, service: str) -> None:
        self.model = model
        self.source = f"/crm/{service}"
        self.channel = notify_channel(model.__table__.name)  # type: ignore[attr-defined]
        # pg_notify as a constant driver-level statement: nothing to compile per request.
        self._notify = f"SELECT pg_notify('{self.channel}', '')"
        self._insert = insert(model.__table__)  # type: ignore[attr-defined]

    def record(
        self, session: Session, event_type: str, data: dict[str, Any], subject: str | None = None
    ) -> str:
        """Add an event to the session's transaction and return its id."""
        event_id = new_id()
        correlation = correlation_id_var.get() or request_id_var.get()
        body = events.envelope(
            event_type=event_type,
            source=self.source,
            subject=subject or data.get("id"),
            data=data,
            correlation_id=correlation,
            causation_id=causation_id_var.get(),
            event_id=event_id,
            trace_context=event_trace_context(event_type, event_id),
        )
        # A Core INSERT on the session's connection, in its transaction: the row needs no
        # identity map or unit of work, and nothing reads it back in this session.
        session.connection().execute(
            self._insert,
            {
                "event_id": event_id,
                "event_type": event_type,
                "subject": subject or data.get("id"),
                "correlation_id": correlation,
                "body": body.decode(),
            },
        )
        self.notify(session)
        return event_id

    def notify(self, session: Session) -> None:
        """On PostgreSQL, NOTIFY the relay, once per transaction; delivered when it commits."""
        if session.get_bind().dialect.name != "postgresql":
            return
        transaction = session.get_nested_transaction() or session.get_transaction()
        if transaction is not None and session.info.get(self.channel) is transaction:
            return
        session.connection().exec_driver_sql(self._notify)
        session.info[self.channel] = session.get_nested_transaction() or session.get_transaction()

    @staticmethod
    def data_of(row: Any) -> dict[str, Any]:
        return json.loads(row.body)["data"]
