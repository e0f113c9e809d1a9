"""The billing service's tables. No other service reads them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import MONEY, RecordMixin, UTCDateTime, utcnow
from shared.idempotency import IdempotencyMixin
from shared.outbox import InboxMixin, OutboxMixin

#: Where an invoice came from: the opportunity.won event, or a user's POST /invoices.
FROM_WON, MANUAL = "won", "manual"


class Base(DeclarativeBase):
    pass


class Invoice(RecordMixin, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_created", "created_at", "id"),
        Index("ix_invoices_status", "status", "created_at", "id"),
        Index("ix_invoices_owner", "owner_id", "created_at", "id"),
        Index("ix_invoices_company", "company_id", "created_at", "id"),
        Index("ix_invoices_opportunity", "opportunity_id", "created_at", "id"),
        Index("ix_invoices_due", "status", "due_date"),
        Index("uq_invoices_number", "number", unique=True),
        # One invoice per won opportunity, however often or wherever opportunity.won is handled.
        Index(
            "uq_invoices_won_opportunity",
            "opportunity_id",
            unique=True,
            sqlite_where=text("origin = 'won'"),
            postgresql_where=text("origin = 'won'"),
        ),
        CheckConstraint(
            "status IN ('draft', 'sent', 'paid', 'overdue', 'void')", name="ck_invoices_status"
        ),
    )

    number: Mapped[str | None] = mapped_column(String(20))
    opportunity_id: Mapped[str] = mapped_column(String(36), nullable=False)
    origin: Mapped[str] = mapped_column(String(10), nullable=False, default=MANUAL)
    owner_id: Mapped[str] = mapped_column(String(100), nullable=False)
    #: Who owns the opportunity in sales (notifications tell them of payment and lateness).
    opportunity_owner_id: Mapped[str | None] = mapped_column(String(100))
    company_id: Mapped[str | None] = mapped_column(String(36))
    contact_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="draft")
    total: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=Decimal("0.00"))
    issue_date: Mapped[date] = mapped_column(Date, nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payment_method: Mapped[str | None] = mapped_column(String(50))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notes: Mapped[str | None] = mapped_column(Text)

    items: Mapped[list[InvoiceItem]] = relationship(
        back_populates="invoice",
        order_by="InvoiceItem.created_at, InvoiceItem.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )


class InvoiceItem(RecordMixin, Base):
    __tablename__ = "invoice_items"
    __table_args__ = (
        Index("ix_invoice_items_invoice", "invoice_id", "created_at", "id"),
        CheckConstraint("quantity >= 1", name="ck_invoice_items_quantity"),
    )

    invoice_id: Mapped[str] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False
    )
    #: A product of the sales service (checked there when a user adds the item), or null.
    product_id: Mapped[str | None] = mapped_column(String(36))
    description: Mapped[str] = mapped_column(String(300), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The unit price when the item was made: a snapshot, never followed from the catalogue.
    price: Mapped[Decimal] = mapped_column(MONEY, nullable=False)

    invoice: Mapped[Invoice] = relationship(back_populates="items")

    @property
    def line_total(self) -> Decimal:
        from services.billing.domain.totals import line_total

        return line_total(self.quantity, self.price)


class InvoiceCounter(Base):
    """The last number given out per year; its row is locked by every send of that year."""

    __tablename__ = "invoice_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Company(Base):
    """A local replica of the contacts service's companies, kept from company.* events."""

    __tablename__ = "companies"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    street: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Contact(Base):
    """A local replica of the contacts service's contacts, kept from contact.* events."""

    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(201), nullable=False)
    email: Mapped[str | None] = mapped_column(String(254))
    phone_number: Mapped[str | None] = mapped_column(String(50))
    company_id: Mapped[str | None] = mapped_column(String(36))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox"


class InboxEvent(InboxMixin, Base):
    __tablename__ = "inbox"


class IdempotencyKey(IdempotencyMixin, Base):
    __tablename__ = "idempotency_keys"
