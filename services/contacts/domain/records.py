"""Records of any service that tags and attachments hang on: do they exist, who may change them.

Contacts' own records are looked up here; other services' in the replicas kept from their
events (record_refs, case_refs), and while a replica catches up, by asking the owner.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.contacts.models import CaseRef, Company, Contact, Interaction, RecordRef
from services.contacts.ports.records import RecordsPort
from shared.auth import SDR, SUPPORT_AGENT, Identity
from shared.errors import Forbidden, ValidationFailed

#: Contacts' own records, and who owns each (an interaction is its author's).
LOCAL = {
    "company": (Company, "owner_id"),
    "contact": (Contact, "owner_id"),
    "interaction": (Interaction, "user_id"),
}
#: Roles that change the tags and attachments only of records they own, where contacts knows
#: the owner (docs/tags.md, docs/attachments.md).
OWN_RECORDS_ONLY = frozenset({SDR, SUPPORT_AGENT})


def local_owner(session: Session, record_type: str, record_id: str) -> str | None:
    """The owner of one of contacts' own records; None if there is no such record."""
    model, owner = LOCAL[record_type]
    record = session.get(model, record_id)
    return None if record is None else getattr(record, owner)


def _remote_exists(session: Session, record_type: str, record_id: str, records: RecordsPort):
    """The replica first; the owning service while the replica catches up with its events."""
    if record_type == "case":
        known = session.get(CaseRef, record_id) is not None
    else:
        known = session.get(RecordRef, (record_type, record_id)) is not None
    return known or records.exists(record_type, record_id)


def check_record(
    session: Session, record_type: str, record_id: str, records: RecordsPort
) -> str | None:
    """Raise ValidationFailed unless the record exists; return its owner when known here."""
    if record_type in LOCAL:
        owner = local_owner(session, record_type, record_id)
        if owner is not None:
            return owner
    elif _remote_exists(session, record_type, record_id, records):
        return None
    raise ValidationFailed({"record_id": [f"No {record_type} with id '{record_id}'."]})


def ensure_may_change(actor: Identity, owner_id: str | None, what: str) -> None:
    """Forbidden unless `actor` may change `what` (tags, attachments) of a record so owned."""
    if actor.role in OWN_RECORDS_ONLY and owner_id is not None and owner_id != actor.user_id:
        raise Forbidden(f"A {actor.role} changes the {what} only of records they own.")


def ensure_may_change_existing(
    session: Session, actor: Identity, record_type: str, record_id: str, what: str
) -> None:
    """As ensure_may_change, for a record already tagged or attached to."""
    if record_type in LOCAL:
        ensure_may_change(actor, local_owner(session, record_type, record_id), what)
