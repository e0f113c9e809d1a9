"""The contacts service's tables. No other service reads them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import MONEY, RecordMixin, UTCDateTime, utcnow
from shared.idempotency import IdempotencyMixin
from shared.ids import new_id
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
    street: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(100))
    phone_number: Mapped[str | None] = mapped_column(String(50))
    industry: Mapped[str | None] = mapped_column(String(100))
    website: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(254))
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
        Index("ix_contacts_name", "name", "id"),
    )

    #: The full name; the API takes 1..200 characters, the column also holds any name joined
    #: from the old first_name (100) and last_name (100) columns by the migration.
    name: Mapped[str] = mapped_column(String(201), nullable=False)
    email: Mapped[str | None] = mapped_column(String(254))
    phone_number: Mapped[str | None] = mapped_column(String(50))
    job_title: Mapped[str | None] = mapped_column(String(100))
    company_id: Mapped[str | None] = mapped_column(ForeignKey("companies.id"))
    owner_id: Mapped[str] = mapped_column(String(100), nullable=False)


class Interaction(RecordMixin, Base):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_created", "created_at", "id"),
        Index("ix_interactions_contact", "contact_id", "created_at", "id"),
        Index("ix_interactions_company", "company_id", "created_at", "id"),
        Index("ix_interactions_interaction_date", "interaction_date", "id"),
        Index("ix_interactions_case", "case_id", "created_at", "id"),
    )

    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(100), nullable=False)
    #: A support case (owned by the support service, to come): stored as given, not checked.
    case_id: Mapped[str | None] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    outcome: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
    interaction_date: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, nullable=False
    )
    company_id: Mapped[str | None] = mapped_column(ForeignKey("companies.id"))
    subject: Mapped[str | None] = mapped_column(String(200))


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


class CaseRef(Base):
    """The support service's cases as far as contacts needs them (kept from case.* events)."""

    __tablename__ = "case_refs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_number: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class Tag(RecordMixin, Base):
    """A label; `name_key` (the name case-folded) makes names unique ignoring case, race-free."""

    __tablename__ = "tags"
    __table_args__ = (
        Index("ix_tags_name_key", "name_key", unique=True),
        Index("ix_tags_created", "created_at", "id"),
        Index("ix_tags_name", "name", "id"),
    )

    name: Mapped[str] = mapped_column(String(100), nullable=False)
    name_key: Mapped[str] = mapped_column(String(100), nullable=False)


class Tagging(Base):
    """A tag on one record of any service (polymorphic: record_type + record_id)."""

    __tablename__ = "taggings"
    __table_args__ = (
        UniqueConstraint("tag_id", "record_type", "record_id", name="uq_taggings_tag_record"),
        Index("ix_taggings_record", "record_type", "record_id", "created_at", "id"),
        Index("ix_taggings_tag", "tag_id", "record_type", "created_at", "id"),
        Index("ix_taggings_created", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tag_id: Mapped[str] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), nullable=False)
    record_type: Mapped[str] = mapped_column(String(20), nullable=False)
    record_id: Mapped[str] = mapped_column(String(36), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    tag: Mapped[Tag] = relationship(lazy="joined")

    @property
    def tag_name(self) -> str:
        return self.tag.name


class Attachment(Base):
    """A file on one record of any service; the bytes live in the attachment storage.

    `file_path` is the storage key, generated here and never derived from the client's name;
    `file_name` is the client's name, cleaned, for display and downloads only.
    """

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_record", "record_type", "record_id", "created_at", "id"),
        Index("ix_attachments_created", "created_at", "id"),
        UniqueConstraint("file_path", name="uq_attachments_file_path"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    file_path: Mapped[str] = mapped_column(String(200), nullable=False)
    mime_type: Mapped[str] = mapped_column(String(255), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    record_type: Mapped[str] = mapped_column(String(20), nullable=False)
    record_id: Mapped[str] = mapped_column(String(36), nullable=False)
    uploaded_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class DiscardedFile(Base):
    """A stored file whose attachment is gone, written in the same transaction as its removal.

    The worker's `files` job deletes it from the storage and then the row, so a committed
    removal always frees its file, and a rolled-back one never does.
    """

    __tablename__ = "discarded_files"

    file_path: Mapped[str] = mapped_column(String(200), primary_key=True)
    discarded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class RecordRef(Base):
    """Other services' records that may be tagged, kept from their *.created / *.deleted events.

    Cases keep their own replica (case_refs), which interactions already use.
    """

    __tablename__ = "record_refs"

    record_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox"


class InboxEvent(InboxMixin, Base):
    __tablename__ = "inbox"


class IdempotencyKey(IdempotencyMixin, Base):
    __tablename__ = "idempotency_keys"
