"""The gateway's own tables: users, their login sessions, revocations and login failures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import BIG_ID, RecordMixin, UTCDateTime, utcnow
from shared.idempotency import IdempotencyMixin
from shared.ids import new_id


class Base(DeclarativeBase):
    pass


class User(RecordMixin, Base):
    __tablename__ = "users"
    __table_args__ = (Index("ix_users_created", "created_at", "id"),)

    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(30), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    password_hash: Mapped[str] = mapped_column(String(300), nullable=False)


class IdempotencyKey(IdempotencyMixin, Base):
    __tablename__ = "idempotency_keys"


class RefreshToken(Base):
    """One refresh token of a login session: used once, then replaced by the next."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    #: The login session (the token family); access tokens carry it as `sid`.
    session_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    user_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Revocation(Base):
    """Access tokens that stop counting before they expire: a user's, or one session's.

    Every process reads the live ones into its deny list (shared/revocations.py); a row is
    dead once no token it could refuse can still be unexpired.
    """

    __tablename__ = "revocations"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(36), nullable=False)
    #: Only this login session's tokens; none means every token of the user.
    session_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    reason: Mapped[str] = mapped_column(String(30), nullable=False)
    #: Tokens issued at or before this instant are refused.
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)


class LoginFailure(Base):
    """Wrong passwords per account, shared by every gateway process."""

    __tablename__ = "login_failures"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
