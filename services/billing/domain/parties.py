"""The local replica of the contacts service's companies and contacts, for invoices' PDFs.

Kept from company.* / contact.* events (event-carried state), so a PDF never calls back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.billing.models import Company, Contact

COMPANY_FIELDS = ("name", "street", "city", "state", "postal_code", "country")
CONTACT_FIELDS = ("name", "email", "phone_number", "company_id")


def _upsert(session: Session, model: type, data: dict[str, Any], names: tuple[str, ...]) -> None:
    record = session.get(model, data["id"]) or model(id=data["id"])
    for name in names:
        if name in data:
            value = data[name]
            setattr(record, name, value[:500] if isinstance(value, str) else value)
    if record.name is None:
        record.name = data["id"]
    session.add(record)


def keep_company(*, session: Session, data: dict[str, Any]) -> None:
    """Insert or refresh one company of the replica."""
    _upsert(session, Company, data, COMPANY_FIELDS)


def keep_contact(*, session: Session, data: dict[str, Any]) -> None:
    """Insert or refresh one contact of the replica."""
    _upsert(session, Contact, data, CONTACT_FIELDS)


def forget(*, session: Session, model: type, record_id: str) -> None:
    """Drop a deleted company or contact (invoices keep the id)."""
    record = session.get(model, record_id)
    if record is not None:
        session.delete(record)


def party_of(session: Session, company_id: str | None, contact_id: str | None):
    """(company, contact) from the replica, each None when unknown."""
    company = session.get(Company, company_id) if company_id else None
    contact = session.get(Contact, contact_id) if contact_id else None
    return company, contact
