"""Login sessions: rotating refresh tokens, logging out, and revoking a user's tokens.

A login starts a session. Its refresh token is used once: refreshing replaces it with the
next, and a token presented a second time (stolen, or replayed) ends the whole session.
Ending a session, disabling a user or changing their role writes a `Revocation` that every
process reads into its deny list within seconds (shared/revocations.py), so an access token
stops counting everywhere before it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.models import RefreshToken, Revocation, User
from gateway.tokens import SigningKeys, user_token
from shared.auth import Identity
from shared.db import Database, utcnow
from shared.errors import Unauthorized
from shared.ids import new_id

#: A revocation outlives every access token it could refuse, with room for clock skew.
REVOCATION_MARGIN = timedelta(seconds=60)


@dataclass(frozen=True)
class TokenPolicy:
    keys: SigningKeys
    access_ttl: int
    refresh_ttl: int


def start_session(*, session: Session, user: User, policy: TokenPolicy) -> dict:
    """Tokens for a user who just proved who they are."""
    return _tokens(session, user, new_id(), policy)


def refresh(*, database: Database, session: Session, token: str, policy: TokenPolicy) -> dict:
    """The next access and refresh token of the session `token` belongs to; `token` is spent."""
    record = _find(session, token)
    now = utcnow()
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        raise Unauthorized("The refresh token is invalid or has expired; log in again.")
    spent = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == record.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if spent != 1:  # presented twice: whoever holds a copy must not keep the session
        session.rollback()  # this request's answer is a 401, and SQLite has one writer
        with database.transaction() as own:
            end_session(
                session=own,
                user_id=record.user_id,
                session_id=record.session_id,
                reason="refresh_reused",
                access_ttl=policy.access_ttl,
            )
        raise Unauthorized("The refresh token was already used; the session is ended.")
    user = session.get(User, record.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("The account is disabled; ask an admin.")
    return _tokens(session, user, record.session_id, policy)


def end_session(
    *, session: Session, user_id: str, session_id: str, reason: str, access_ttl: int
) -> None:
    """No refresh token of the session works again, nor any of its access tokens."""
    now = utcnow()
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.session_id == session_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    _revoke(session, user_id, session_id, reason, now, access_ttl)


def revoke_user(*, session: Session, user_id: str, reason: str, access_ttl: int) -> None:
    """Every token the user holds now stops counting: they log in again (if still active)."""
    now = utcnow()
    if reason == "deactivated":
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    _revoke(session, user_id, None, reason, now, access_ttl)


def live_revocations(*, session: Session, since: datetime | None) -> list[Revocation]:
    """Revocations that can still refuse a token, recorded at or after `since` if given."""
    stmt = select(Revocation).where(Revocation.expires_at > utcnow())
    if since is not None:
        stmt = stmt.where(Revocation.revoked_at >= since)
    return list(session.scalars(stmt.order_by(Revocation.id)))


def _revoke(session, user_id, session_id, reason, now: datetime, access_ttl: int) -> None:
    session.add(
        Revocation(
            user_id=user_id,
            session_id=session_id,
            reason=reason,
            revoked_at=now,
            expires_at=now + timedelta(seconds=access_ttl) + REVOCATION_MARGIN,
        )
    )
    session.flush()


def _tokens(session: Session, user: User, session_id: str, policy: TokenPolicy) -> dict:
    secret = secrets.token_urlsafe(32)
    record = RefreshToken(
        id=new_id(),
        session_id=session_id,
        user_id=user.id,
        secret_hash=_digest(secret),
        expires_at=utcnow() + timedelta(seconds=policy.refresh_ttl),
    )
    session.add(record)
    session.flush()
    identity = Identity(user.id, user.role, user.email, user.name)
    return {
        "access_token": user_token(policy.keys, identity, session_id, policy.access_ttl),
        "token_type": "Bearer",
        "expires_in": policy.access_ttl,
        "refresh_token": f"{record.id}.{secret}",
        "refresh_expires_in": policy.refresh_ttl,
    }


def _find(session: Session, token: str) -> RefreshToken | None:
    token_id, _, secret = token.partition(".")
    if not token_id or not secret or len(token_id) > 36:
        return None
    record = session.get(RefreshToken, token_id)
    if record is None or not hmac.compare_digest(record.secret_hash, _digest(secret)):
        return None
    return record


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def revoked(row: Revocation) -> dict:
    """A revocation as the deny lists read it (shared/revocations.Revoked)."""
    return {
        "user_id": row.user_id,
        "session_id": row.session_id,
        "revoked_at": row.revoked_at.timestamp(),
        "expires_at": row.expires_at.timestamp(),
    }


def local_feed(database: Database):
    """The gateway's own deny-list source: its revocations table, read directly."""
    from shared.revocations import Revoked

    def fetch(since: float | None) -> tuple[list[Revoked], float]:
        now = utcnow()
        start = None if since is None else datetime.fromtimestamp(since, now.tzinfo)
        with database.transaction() as session:
            rows = live_revocations(session=session, since=start)
            return [Revoked(**revoked(row)) for row in rows], now.timestamp()

    return fetch
