"""Companies: anyone creates, owners and managers change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from services.contacts.domain.removals import forget_records
from services.contacts.events import record_event
from services.contacts.models import Company, Contact, Interaction
from shared.auth import Identity, ensure_can_change
from shared.errors import Conflict
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


def create_company(
    *, session: Session, actor: Identity, data: dict[str, Any], users: UserDirectory
) -> Company:
    """Create a company owned by the caller (or, for managers, by whom they name)."""
    owner_id = resolve_owner(actor, data.pop("owner_id", None), users)
    return add_company(session=session, data=data, owner_id=owner_id, actor_id=actor.user_id)


def add_company(*, session: Session, data: dict[str, Any], owner_id: str, actor_id: str) -> Company:
    """Insert a company and record company.created; the caller has settled who owns it."""
    company = Company(**data, owner_id=owner_id)
    session.add(company)
    session.flush()
    record_event(session, "company.created", company, actor_id=actor_id)
    return company


def get_company(*, session: Session, company_id: str) -> Company:
    """One company, or NotFound."""
    return get_or_404(session, Company, company_id, "company")


def list_companies(*, session: Session, args: dict[str, Any]) -> Page:
    """A page of companies, filtered and searched."""
    stmt = filtered(
        Company, args, ("owner_id", "industry", "country"), ("name", "email", "website")
    )
    return paginate_args(session, stmt, model=Company, sortable=SORTABLE, args=args)


def update_company(
    *,
    session: Session,
    actor: Identity,
    company_id: str,
    changes: dict[str, Any],
    users: UserDirectory,
    expected_version: int | None = None,
) -> Company:
    """Change a company the caller may change; emits company.updated when anything changed."""
    company = get_company(session=session, company_id=company_id)
    ensure_can_change(actor, company.owner_id)
    check_version(company, expected_version)
    if "owner_id" in changes and changes["owner_id"] != company.owner_id:
        changes["owner_id"] = resolve_owner(actor, changes["owner_id"], users)
    changed = apply_changes(company, changes)
    if changed:
        session.flush()
        record_event(session, "company.updated", company, actor_id=actor.user_id, changed=changed)
    return company


def delete_company(
    *, session: Session, actor: Identity, company_id: str, expected_version: int | None = None
) -> None:
    """Delete a company that no contact or interaction refers to any more."""
    company = get_company(session=session, company_id=company_id)
    ensure_can_change(actor, company.owner_id)
    check_version(company, expected_version)
    in_use = session.scalar(
        select(
            exists().where(Contact.company_id == company_id)
            | exists().where(Interaction.company_id == company_id)
        )
    )
    if in_use:
        raise Conflict("The company still has contacts or interactions; move or delete them first.")
    record_event(session, "company.deleted", company, actor_id=actor.user_id)
    forget_records(session=session, record_type="company", record_ids=[company.id])
    session.delete(company)
    session.flush()
