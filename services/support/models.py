"""The support service's tables. No other service reads them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import BIG_ID, RecordMixin, UTCDateTime, utcnow
from shared.idempotency import IdempotencyMixin
from shared.outbox import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    pass


class Case(RecordMixin, Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("case_number", name="uq_cases_case_number"),
        Index("ix_cases_created", "created_at", "id"),
        Index("ix_cases_owner", "owner_id", "created_at", "id"),
        Index("ix_cases_status", "status", "created_at", "id"),
        Index("ix_cases_contact", "contact_id", "created_at", "id"),
        Index("ix_cases_first_response_due", "status", "first_response_due_at"),
        Index("ix_cases_resolution_due", "status", "resolution_due_at"),
    )

    case_number: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="new")
    priority: Mapped[str] = mapped_column(String(20), nullable=False)
    type: Mapped[str] = mapped_column(String(30), nullable=False)
    owner_id: Mapped[str] = mapped_column(String(100), nullable=False)
    contact_id: Mapped[str] = mapped_column(String(36), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    first_response_due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    resolution_due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The SLA clock: when the current pause began, and the business seconds paused so far.
    sla_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sla_paused_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    escalations: Mapped[list[Escalation]] = relationship(
        back_populates="case",
        order_by="Escalation.escalated_at, Escalation.seq",
        lazy="selectin",
        cascade="all, delete-orphan",
    )


class Escalation(Base):
    """One missed target of one case; the unique key makes a second escalation impossible."""

    __tablename__ = "case_escalations"
    __table_args__ = (UniqueConstraint("case_id", "breach", name="uq_case_escalations_breach"),)

    seq: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)
    breach: Mapped[str] = mapped_column(String(30), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    escalated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    case: Mapped[Case] = relationship(back_populates="escalations")


class Counter(Base):
    """A named counter; incrementing its row locks it until commit, so numbers never repeat."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class ContactRef(Base):
    """The contacts service's contacts as far as support needs them (kept from contact.*)."""

    __tablename__ = "contact_refs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(201))
    deleted: Mapped[bool] = mapped_column(default=False, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox"


class InboxEvent(InboxMixin, Base):
    __tablename__ = "inbox"


class IdempotencyKey(IdempotencyMixin, Base):
    __tablename__ = "idempotency_keys"
