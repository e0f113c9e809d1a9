"""The gateway's own tables: the users who may log in."""

from __future__ import annotations

from sqlalchemy import Boolean, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import RecordMixin
from shared.idempotency import IdempotencyMixin


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
