"""Lead conversion, the contacts side: the company and contact a lead becomes, once per lead.

Only the sales service calls these (service tokens). Converting is idempotent by lead id, and
cancelling it, the compensation when sales cannot finish, removes only what it created.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Exists, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from services.contacts.domain.companies import add_company
from services.contacts.domain.contacts import add_contact
from services.contacts.domain.removals import forget_records
from services.contacts.events import record_event
from services.contacts.models import Company, Contact, Conversion, Interaction
from shared.auth import Identity, require_scope
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.logs import get_logger

ACTIVE, CANCELLED = "active", "cancelled"
#: The scope a service token needs to convert leads (only sales holds it).
CONVERSIONS_SCOPE = "contacts:conversions"
#: How many contacts with the same email a 409 lists.
MAX_CANDIDATES = 20
log = get_logger(__name__)


def convert_lead(
    *, session: Session, actor: Identity, data: dict[str, Any]
) -> tuple[Conversion, bool]:
    """Create or attach the lead's company and contact; True when converted by this call."""
    require_scope(actor, CONVERSIONS_SCOPE)
    previous = _find(session, data["lead_id"])
    if previous is not None and previous.status == ACTIVE:
        return previous, False
    try:
        with session.begin_nested():
            actor_id = data.get("actor_id") or actor.user_id
            return _convert(session, data, previous, actor_id), True
    except (IntegrityError, StaleDataError):
        # A concurrent call for the same lead committed first; the savepoint took back our
        # records and events, so answer with the winner's result as a replay would.
        winner = _find(session, data["lead_id"])
        if winner is None or winner.status != ACTIVE:
            raise
        return winner, False


def get_conversion(*, session: Session, actor: Identity, lead_id: str) -> Conversion:
    """The stored result of converting a lead, or NotFound."""
    require_scope(actor, CONVERSIONS_SCOPE)
    conversion = _find(session, lead_id)
    if conversion is None:
        raise NotFound(f"No conversion for lead '{lead_id}'.")
    return conversion


def cancel_conversion(*, session: Session, actor: Identity, lead_id: str) -> None:
    """Delete what a conversion created, unless something was built on it since; idempotent."""
    conversion = get_conversion(session=session, actor=actor, lead_id=lead_id)
    if conversion.status == CANCELLED:
        return
    if conversion.created_contact:
        _remove_unless_used(
            session, conversion, Contact, conversion.contact_id, _contact_in_use, actor.user_id
        )
    if conversion.created_company and conversion.company_id is not None:
        _remove_unless_used(
            session, conversion, Company, conversion.company_id, _company_in_use, actor.user_id
        )
    conversion.status = CANCELLED
    session.flush()


def _find(session: Session, lead_id: str) -> Conversion | None:
    # populate_existing: after a rolled-back savepoint the identity map may hold stale state.
    return session.scalar(
        select(Conversion)
        .where(Conversion.lead_id == lead_id)
        .execution_options(populate_existing=True)
    )


def _convert(
    session: Session, data: dict[str, Any], conversion: Conversion | None, actor_id: str
) -> Conversion:
    _check_references(session, data)
    contact = _contact_to_attach(session, data)
    company_id, created_company = data.get("company_id"), False
    if data.get("company") is not None:
        company = add_company(
            session=session,
            data=dict(data["company"]),
            owner_id=data["owner_id"],
            actor_id=actor_id,
        )
        company_id, created_company = company.id, True
    if contact is None:
        fields = dict(data["contact"])
        if fields.get("company_id") is None:
            fields["company_id"] = company_id
        contact = add_contact(
            session=session, data=fields, owner_id=data["owner_id"], actor_id=actor_id
        )
        created_contact = True
    else:
        created_contact = False
    conversion = conversion or Conversion(lead_id=data["lead_id"])
    conversion.company_id, conversion.created_company = company_id, created_company
    conversion.contact_id, conversion.created_contact = contact.id, created_contact
    conversion.status = ACTIVE
    session.add(conversion)
    session.flush()
    return conversion


def _check_references(session: Session, data: dict[str, Any]) -> None:
    """Every id the caller names must exist; a dangling one is a 422, as everywhere."""
    named = (
        ("company_id", Company, data.get("company_id")),
        ("contact_id", Contact, data.get("contact_id")),
        ("contact.company_id", Company, (data.get("contact") or {}).get("company_id")),
    )
    errors = {
        field: [f"No {model.__name__.lower()} with id '{record_id}'."]
        for field, model, record_id in named
        if record_id is not None and session.get(model, record_id) is None
    }
    if errors:
        raise ValidationFailed(errors)


def _contact_to_attach(session: Session, data: dict[str, Any]) -> Contact | None:
    """The contact named, or the one with the same email when the caller agreed to attach."""
    if data.get("contact_id") is not None:
        return session.get(Contact, data["contact_id"])
    email = data["contact"].get("email")
    if not email:
        return None
    matches = session.scalars(
        select(Contact)
        .where(Contact.email == email)  # stored lower-case, as the schema loads it
        .order_by(Contact.created_at.desc(), Contact.id.desc())
        .limit(MAX_CANDIDATES)
    ).all()
    if not matches:
        return None
    if data["attach_to_existing"] and len(matches) == 1:
        return matches[0]
    if data["attach_to_existing"]:
        detail = f"Several contacts have the email '{email}'; name one as contact_id."
    else:
        detail = (
            f"A contact with the email '{email}' already exists; send attach_to_existing "
            "to attach to it or name one as contact_id."
        )
    raise Conflict(detail, candidates=[_candidate(contact) for contact in matches])


def _candidate(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "name": contact.name,
        "email": contact.email,
        "company_id": contact.company_id,
    }


def _used_by_another_conversion(conversion: Conversion, column, record_id: str) -> Exists:
    return exists().where(
        column == record_id, Conversion.status == ACTIVE, Conversion.id != conversion.id
    )


def _contact_in_use(session: Session, conversion: Conversion, contact_id: str) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(Interaction.contact_id == contact_id)
                | _used_by_another_conversion(conversion, Conversion.contact_id, contact_id)
            )
        )
    )


def _company_in_use(session: Session, conversion: Conversion, company_id: str) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(Contact.company_id == company_id)
                | exists().where(Interaction.company_id == company_id)
                | _used_by_another_conversion(conversion, Conversion.company_id, company_id)
            )
        )
    )


def _remove_unless_used(
    session: Session,
    conversion: Conversion,
    model: type[Company] | type[Contact],
    record_id: str,
    in_use: Callable[[Session, Conversion, str], bool],
    actor_id: str,
) -> None:
    """Delete a record the conversion created and record `<kind>.deleted`; keep it if in use."""
    kind = model.__name__.lower()
    record = session.get(model, record_id)
    if record is None:
        return  # someone deleted it already, and that delete recorded its event
    if in_use(session, conversion, record_id):
        _log_kept(conversion, kind, record_id, "other records refer to it")
        return
    try:
        with session.begin_nested():
            record_event(session, f"{kind}.deleted", record, actor_id=actor_id)
            forget_records(session=session, record_type=kind, record_ids=[record_id])
            session.delete(record)
            session.flush()
    except IntegrityError:
        # A reference appeared between the check and the delete: keep the record.
        _log_kept(conversion, kind, record_id, "a reference appeared while deleting")


def _log_kept(conversion: Conversion, kind: str, record_id: str, reason: str) -> None:
    log.warning(
        "conversion_record_kept",
        lead_id=conversion.lead_id,
        record_type=kind,
        record_id=record_id,
        reason=reason,
    )
