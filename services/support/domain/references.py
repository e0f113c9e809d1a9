"""References into the contacts service: the local replica first, the service as a fallback."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.support.models import ContactRef
from services.support.ports.contacts import ContactsPort
from shared.errors import ValidationFailed


def check_contact(session: Session, contact_id: str, contacts: ContactsPort) -> None:
    """ValidationFailed (422) unless the contact exists; asks contacts while the replica lags."""
    known = session.get(ContactRef, contact_id)
    if known is not None and not known.deleted:
        return
    if known is None and contacts.contact_exists(contact_id):
        return
    raise ValidationFailed({"contact_id": [f"No contact with id '{contact_id}'."]})


def remember_contact(session: Session, data: dict[str, Any], *, deleted: bool = False) -> None:
    """Upsert the replica's row from a contact.* event's data."""
    ref = session.get(ContactRef, data["id"])
    if ref is None:
        ref = ContactRef(id=data["id"])
        session.add(ref)
    name = data.get("name")
    ref.name = name[:201] if isinstance(name, str) else ref.name
    ref.deleted = deleted or ref.deleted
