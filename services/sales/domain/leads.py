"""Leads: SDRs, account managers and managers work them; managers assign them to others."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.sales.domain.campaigns import check_campaign
from services.sales.events import record_event
from services.sales.models import Lead
from shared.auth import (
    ACCOUNT_MANAGER,
    MANAGERS,
    SDR,
    Identity,
    ensure_can_change,
    require_role,
)
from shared.errors import Conflict
from shared.pagination import Page, paginate_args
from shared.records import apply_changes, check_version, filtered, get_or_404, resolve_owner
from shared.users import UserDirectory

SORTABLE = ("created_at", "updated_at", "name")
OPEN = ("new", "contacted", "qualified")
#: Who works leads (create, change their own, convert their own).
LEAD_WORKERS = (*MANAGERS, ACCOUNT_MANAGER, SDR)


def _ensure_no_open_duplicate(session: Session, email: str | None, lead_id: str | None) -> None:
    if not email:
        return
    stmt = select(Lead).where(Lead.email == email, Lead.status.in_(OPEN))
    if lead_id is not None:
        stmt = stmt.where(Lead.id != lead_id)
    existing = session.scalars(stmt.limit(1)).first()
    if existing is not None:
        raise _duplicate(existing)


def _duplicate(existing: Lead | None) -> Conflict:
    detail = "An open lead with this email already exists."
    if existing is None:
        return Conflict(detail)
    return Conflict(
        detail,
        existing_lead={
            "id": existing.id,
            "name": existing.name,
            "email": existing.email,
            "status": existing.status,
            "owner_id": existing.owner_id,
        },
    )


def _flush(session: Session, lead: Lead) -> None:
    """Flush; a concurrent twin that slipped past the check still ends as a 409."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        if "email" not in str(exc.orig).lower() and "uq_leads_open_email" not in str(exc.orig):
            raise
        raise _duplicate(None) from exc


def create_lead(
    *, session: Session, actor: Identity, data: dict[str, Any], users: UserDirectory
) -> Lead:
    """Create a lead owned by the caller, or by whom a manager names."""
    require_role(actor, *LEAD_WORKERS)
    check_campaign(session, data.get("campaign_id"))
    _ensure_no_open_duplicate(session, data.get("email"), None)
    owner_id = resolve_owner(actor, data.pop("owner_id", None), users)
    lead = Lead(**data, owner_id=owner_id)
    session.add(lead)
    _flush(session, lead)
    record_event(session, "lead.created", lead, actor_id=actor.user_id)
    return lead


def get_lead(*, session: Session, lead_id: str) -> Lead:
    """One lead, or NotFound."""
    return get_or_404(session, Lead, lead_id, "lead")


def list_leads(*, session: Session, args: dict[str, Any]) -> Page:
    """A page of leads, filtered; `q` searches the name, email and company name."""
    if args.get("email"):
        args = {**args, "email": args["email"].strip().lower()}
    stmt = filtered(
        Lead,
        args,
        ("status", "owner_id", "campaign_id", "lead_source", "email"),
        ("name", "email", "company_name"),
    )
    return paginate_args(session, stmt, model=Lead, sortable=SORTABLE, args=args)


def ensure_open(lead: Lead) -> None:
    """A converted lead is read-only."""
    if lead.status == "converted":
        raise Conflict(
            "The lead was converted and is read-only.",
            converted_contact_id=lead.converted_contact_id,
            converted_company_id=lead.converted_company_id,
            converted_opportunity_id=lead.converted_opportunity_id,
        )


def update_lead(
    *,
    session: Session,
    actor: Identity,
    lead_id: str,
    changes: dict[str, Any],
    users: UserDirectory,
    expected_version: int | None = None,
) -> Lead:
    """Change a lead; a new owner (managers only) also emits lead.assigned."""
    require_role(actor, *LEAD_WORKERS)
    lead = get_lead(session=session, lead_id=lead_id)
    ensure_can_change(actor, lead.owner_id)
    check_version(lead, expected_version)
    ensure_open(lead)
    if "campaign_id" in changes:
        check_campaign(session, changes["campaign_id"])
    previous_owner = lead.owner_id
    if "owner_id" in changes and changes["owner_id"] != lead.owner_id:
        changes["owner_id"] = resolve_owner(actor, changes["owner_id"], users)
    new_status = changes.get("status", lead.status)
    new_email = changes.get("email", lead.email)
    if new_status in OPEN and (new_email != lead.email or lead.status not in OPEN):
        _ensure_no_open_duplicate(session, new_email, lead.id)
    changed = apply_changes(lead, changes)
    if not changed:
        return lead
    _flush(session, lead)
    record_event(session, "lead.updated", lead, actor_id=actor.user_id, changed=changed)
    if lead.owner_id != previous_owner:
        record_event(
            session,
            "lead.assigned",
            lead,
            actor_id=actor.user_id,
            assigned_by=actor.user_id,
            previous_owner_id=previous_owner,
        )
    return lead


def delete_lead(
    *, session: Session, actor: Identity, lead_id: str, expected_version: int | None = None
) -> None:
    """Delete an unconverted lead (a converted one is kept: its opportunity points at it)."""
    require_role(actor, *LEAD_WORKERS)
    lead = get_lead(session=session, lead_id=lead_id)
    ensure_can_change(actor, lead.owner_id)
    check_version(lead, expected_version)
    ensure_open(lead)
    record_event(session, "lead.deleted", lead, actor_id=actor.user_id)
    session.delete(lead)
    session.flush()
