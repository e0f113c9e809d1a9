"""The inbox: a row per (consumer, event id) whose effect committed, written before the effect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.events import Event

#: `insert` with ON CONFLICT DO NOTHING, per dialect.
INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def claim(session: Session, model: type, consumer: str, events: Sequence[Event]) -> set[str]:
    """Add the events' inbox rows to the transaction, in one statement; the ids that were new.

    An id missing from the answer was handled already (a duplicate). A concurrent delivery's
    uncommitted row makes this wait for that transaction: a duplicate if it commits, new here
    if it rolls back.
    """
    table = model.__table__  # type: ignore[attr-defined]
    now = utcnow()
    rows = [
        {"consumer": consumer, "event_id": e.id, "event_type": e.type, "handled_at": now}
        for e in events
    ]
    statement = (
        INSERTS[session.get_bind().dialect.name](table)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    )
    return set(session.scalars(statement))
