"""Contacts: a person, optionally at a company."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.contacts.domain.removals import forget_records
from services.contacts.events import record_event
from services.contacts.models import Company, Contact, Interaction
from shared.auth import Identity, ensure_can_change
from shared.errors import ValidationFailed
from shared.pagination import Page, paginate_args
from shared.records import (
    apply_changes,
    check_version,
    filtered,
    get_or_404,
    resolve_owner,
)
from shared.users import UserDirectory

SORTABLE = ("created_at", "updated_at", "name")


def _check_company(session: Session, company_id: str | None) -> None:
    if company_id is not None and session.get(Company, company_id) is None:
        raise ValidationFailed({"company_id": [f"No company with id '{company_id}'."]})


def create_contact(
    *, session: Session, actor: Identity, data: dict[str, Any], users: UserDirectory
) -> Contact:
    """Create a contact owned by the caller; `company_id` must name an existing company."""
    _check_company(session, data.get("company_id"))
    owner_id = resolve_owner(actor, data.pop("owner_id", None), users)
    return add_contact(session=session, data=data, owner_id=owner_id, actor_id=actor.user_id)


def add_contact(*, session: Session, data: dict[str, Any], owner_id: str, actor_id: str) -> Contact:
    """Insert a contact and record contact.created; the caller has checked its company."""
    contact = Contact(**data, owner_id=owner_id)
    session.add(contact)
    session.flush()
    record_event(session, "contact.created", contact, actor_id=actor_id)
    return contact


def get_contact(*, session: Session, contact_id: str) -> Contact:
    """One contact, or NotFound."""
    return get_or_404(session, Contact, contact_id, "contact")


def list_contacts(*, session: Session, args: dict[str, Any]) -> Page:
    """A page of contacts, filtered and searched by name and email."""
    if args.get("email"):
        args = {**args, "email": args["email"].strip().lower()}
    stmt = filtered(Contact, args, ("company_id", "owner_id", "email"), ("name", "email"))
    return paginate_args(session, stmt, model=Contact, sortable=SORTABLE, args=args)


def update_contact(
    *,
    session: Session,
    actor: Identity,
    contact_id: str,
    changes: dict[str, Any],
    users: UserDirectory,
    expected_version: int | None = None,
) -> Contact:
    """Change a contact the caller may change; emits contact.updated when anything changed."""
    contact = get_contact(session=session, contact_id=contact_id)
    ensure_can_change(actor, contact.owner_id)
    check_version(contact, expected_version)
    if "company_id" in changes:
        _check_company(session, changes["company_id"])
    if "owner_id" in changes and changes["owner_id"] != contact.owner_id:
        changes["owner_id"] = resolve_owner(actor, changes["owner_id"], users)
    changed = apply_changes(contact, changes)
    if changed:
        session.flush()
        record_event(session, "contact.updated", contact, actor_id=actor.user_id, changed=changed)
    return contact


def delete_contact(
    *, session: Session, actor: Identity, contact_id: str, expected_version: int | None = None
) -> None:
    """Delete a contact and the interactions logged with them, and take off their tags."""
    contact = get_contact(session=session, contact_id=contact_id)
    ensure_can_change(actor, contact.owner_id)
    check_version(contact, expected_version)
    record_event(session, "contact.deleted", contact, actor_id=actor.user_id)
    logged = session.scalars(select(Interaction.id).where(Interaction.contact_id == contact.id))
    forget_records(session=session, record_type="interaction", record_ids=list(logged))
    forget_records(session=session, record_type="contact", record_ids=[contact.id])
    session.delete(contact)
    session.flush()
