"""The contacts service's tables. No other service reads them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import MONEY, RecordMixin, UTCDateTime, utcnow
from shared.idempotency import IdempotencyMixin
from shared.outbox import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    pass


class Company(RecordMixin, Base):
    __tablename__ = "companies"
    __table_args__ = (
        Index("ix_companies_created", "created_at", "id"),
        Index("ix_companies_owner", "owner_id", "created_at", "id"),
        Index("ix_companies_name", "name", "id"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    industry: Mapped[str | None] = mapped_column(String(100))
    website: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(100))
    annual_revenue: Mapped[Decimal | None] = mapped_column(MONEY)
    employee_count: Mapped[int | None] = mapped_column(Integer)
    owner_id: Mapped[str] = mapped_column(String(100), nullable=False)


class Contact(RecordMixin, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_created", "created_at", "id"),
        Index("ix_contacts_company", "company_id", "created_at", "id"),
        Index("ix_contacts_owner", "owner_id", "created_at", "id"),
        Index("ix_contacts_email", "email"),
        Index("ix_contacts_last_name", "last_name", "id"),
    )

    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), nullable=False)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    job_title: Mapped[str | None] = mapped_column(String(100))
    company_id: Mapped[str | None] = mapped_column(ForeignKey("companies.id"))
    owner_id: Mapped[str] = mapped_column(String(100), nullable=False)


class Interaction(RecordMixin, Base):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_created", "created_at", "id"),
        Index("ix_interactions_contact", "contact_id", "created_at", "id"),
        Index("ix_interactions_company", "company_id", "created_at", "id"),
        Index("ix_interactions_occurred", "occurred_at", "id"),
    )

    type: Mapped[str] = mapped_column(String(20), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    company_id: Mapped[str | None] = mapped_column(ForeignKey("companies.id"))
    user_id: Mapped[str] = mapped_column(String(100), nullable=False)


class Conversion(RecordMixin, Base):
    """What converting one lead created or attached here, so a retry or a compensation knows.

    The ids are a record of what happened, not constraints: a user may later delete a company
    or contact a conversion created, and the row must not stand in the way.
    """

    __tablename__ = "conversions"
    __table_args__ = (
        Index("ix_conversions_lead", "lead_id", unique=True),
        Index("ix_conversions_company", "company_id"),
        Index("ix_conversions_contact", "contact_id"),
    )

    lead_id: Mapped[str] = mapped_column(String(36), nullable=False)
    company_id: Mapped[str | None] = mapped_column(String(36))
    contact_id: Mapped[str] = mapped_column(String(36), nullable=False)
    created_company: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_contact: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="active")


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox"


class InboxEvent(InboxMixin, Base):
    __tablename__ = "inbox"


class IdempotencyKey(IdempotencyMixin, Base):
    __tablename__ = "idempotency_keys"
