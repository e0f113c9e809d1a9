"""The sales service's tables. No other service reads them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import BIG_ID, MONEY, RecordMixin, UTCDateTime, utcnow
from shared.idempotency import IdempotencyMixin
from shared.outbox import InboxMixin, OutboxMixin

PROBABILITY = Numeric(4, 3, asdecimal=True)
NAME_COLUMN_LENGTH = 201


class Base(DeclarativeBase):
    pass


class Campaign(RecordMixin, Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        Index("ix_campaigns_created", "created_at", "id"),
        Index("ix_campaigns_status", "status", "created_at", "id"),
        CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name="ck_campaigns_dates",
        ),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(30), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    budget: Mapped[Decimal | None] = mapped_column(MONEY)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(String(100), nullable=False)


class Lead(RecordMixin, Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_created", "created_at", "id"),
        Index("ix_leads_owner", "owner_id", "created_at", "id"),
        Index("ix_leads_status", "status", "created_at", "id"),
        Index("ix_leads_campaign", "campaign_id", "created_at", "id"),
        Index("ix_leads_email", "email"),
        # One open lead per email, race-free: the duplicate check's last line of defence.
        Index(
            "uq_leads_open_email",
            "email",
            unique=True,
            sqlite_where=text("status IN ('new', 'contacted', 'qualified')"),
            postgresql_where=text("status IN ('new', 'contacted', 'qualified')"),
        ),
        CheckConstraint("lead_score BETWEEN 0 AND 100", name="ck_leads_score"),
    )

    #: The lead's full name. The API takes at most 200 characters; the column is one wider so
    #: that every name the first_name/last_name migration joined (100 + " " + 100) fits whole.
    name: Mapped[str] = mapped_column(String(NAME_COLUMN_LENGTH), nullable=False)
    email: Mapped[str | None] = mapped_column(String(254))
    phone_number: Mapped[str | None] = mapped_column(String(50))
    company_name: Mapped[str | None] = mapped_column(String(200))
    job_title: Mapped[str | None] = mapped_column(String(100))
    lead_source: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="new")
    lead_score: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    notes: Mapped[str | None] = mapped_column(Text)
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id"))
    owner_id: Mapped[str] = mapped_column(String(100), nullable=False)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    converted_contact_id: Mapped[str | None] = mapped_column(String(36))
    converted_company_id: Mapped[str | None] = mapped_column(String(36))
    converted_opportunity_id: Mapped[str | None] = mapped_column(String(36))


class Product(RecordMixin, Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("sku", name="uq_products_sku"),
        Index("ix_products_created", "created_at", "id"),
        Index("ix_products_name", "name", "id"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    sku: Mapped[str] = mapped_column(String(64), nullable=False)
    price: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True, nullable=False)


class Opportunity(RecordMixin, Base):
    __tablename__ = "opportunities"
    __table_args__ = (
        Index("ix_opportunities_created", "created_at", "id"),
        Index("ix_opportunities_owner", "owner_id", "created_at", "id"),
        Index("ix_opportunities_stage", "stage", "created_at", "id"),
        Index("ix_opportunities_campaign", "campaign_id", "created_at", "id"),
        Index("ix_opportunities_contact", "contact_id", "created_at", "id"),
        Index("ix_opportunities_company", "company_id", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    stage: Mapped[str] = mapped_column(String(20), nullable=False)
    probability: Mapped[Decimal] = mapped_column(PROBABILITY, nullable=False)
    deal_value: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=Decimal("0.00"))
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    lost_reason: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    contact_id: Mapped[str | None] = mapped_column(String(36))
    company_id: Mapped[str | None] = mapped_column(String(36))
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id"))
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("leads.id"))
    owner_id: Mapped[str] = mapped_column(String(100), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    lines: Mapped[list[OpportunityProduct]] = relationship(
        back_populates="opportunity",
        order_by="OpportunityProduct.created_at, OpportunityProduct.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class OpportunityProduct(RecordMixin, Base):
    __tablename__ = "opportunity_products"
    __table_args__ = (
        UniqueConstraint("opportunity_id", "product_id", name="uq_opportunity_products_product"),
        CheckConstraint("quantity >= 1", name="ck_opportunity_products_quantity"),
    )

    opportunity_id: Mapped[str] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), nullable=False
    )
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(MONEY, nullable=False)

    opportunity: Mapped[Opportunity] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")

    @property
    def name(self) -> str:
        return self.product.name

    @property
    def sku(self) -> str:
        return self.product.sku

    @property
    def line_total(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(Decimal("0.01"))


class StageChange(Base):
    """One entry of an opportunity's stage history; creation is the first (from_stage null)."""

    __tablename__ = "opportunity_stage_history"
    __table_args__ = (Index("ix_stage_history_opportunity", "opportunity_id", "seq"),)

    seq: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    opportunity_id: Mapped[str] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), nullable=False
    )
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20), nullable=False)
    changed_by: Mapped[str] = mapped_column(String(100), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox"


class InboxEvent(InboxMixin, Base):
    __tablename__ = "inbox"


class IdempotencyKey(IdempotencyMixin, Base):
    __tablename__ = "idempotency_keys"
