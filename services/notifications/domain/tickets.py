"""One-time stream tickets: how a browser's EventSource, which sends no headers, opens a stream.

A ticket is issued to a user's bearer token and opens that user's stream once, within its
lifetime. Only the ticket's SHA-256 is stored, with the identity it stands for.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.notifications.domain.inbox import owner_of_inbox
from services.notifications.models import StreamTicket
from shared.auth import Identity
from shared.db import utcnow
from shared.errors import Unauthorized


def hash_of(ticket: str) -> str:
    return hashlib.sha256(ticket.encode("utf-8", "replace")).hexdigest()


def issue(*, session: Session, actor: Identity, seconds: int) -> str:
    """A new ticket for the caller's own stream; a service token has none (403)."""
    user_id = owner_of_inbox(actor)
    ticket = secrets.token_urlsafe(32)
    session.add(
        StreamTicket(
            ticket_hash=hash_of(ticket),
            user_id=user_id,
            role=actor.role,
            email=actor.email,
            name=actor.name,
            session_id=actor.session_id,
            issued_at=actor.issued_at,
            expires_at=utcnow() + timedelta(seconds=seconds),
        )
    )
    return ticket


def redeem(*, session: Session, ticket: str) -> Identity:
    """Use the ticket up and return whom it was issued to; unknown, used or expired is a 401."""
    ticket_hash, now = hash_of(ticket), utcnow()
    result = session.execute(
        update(StreamTicket)
        .where(
            StreamTicket.ticket_hash == ticket_hash,
            StreamTicket.used_at.is_(None),
            StreamTicket.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Unauthorized("The stream ticket is unknown, used or expired; ask for a new one.")
    return identity_of(session.get(StreamTicket, ticket_hash))


def identity_of(row: StreamTicket) -> Identity:
    return Identity(
        row.user_id,
        row.role,
        row.email,
        row.name,
        session_id=row.session_id,
        issued_at=row.issued_at or 0.0,
    )
