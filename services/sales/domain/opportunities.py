"""Opportunities: the pipeline. Stage moves are kept as history and published as events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.sales.contacts import ContactsPort
from services.sales.domain import stages
from services.sales.domain.campaigns import check_campaign
from services.sales.domain.leads import LEAD_WORKERS
from services.sales.events import record_event
from services.sales.models import Opportunity, StageChange
from shared.auth import Identity, ensure_can_change, require_role
from shared.db import utcnow
from shared.errors import Conflict, ValidationFailed
from shared.pagination import Page, paginate_args
from shared.records import apply_changes, check_version, filtered, get_or_404, resolve_owner
from shared.users import UserDirectory

SORTABLE = ("created_at", "updated_at", "name")
#: Fields a stage move sets by itself; they are not reported again as an update.
STAGE_FIELDS = {"stage", "probability", "lost_reason", "closed_at"}


def check_parties(session: Session, contacts: ContactsPort, data: dict[str, Any]) -> None:
    """contact_id and company_id must exist in the contacts service, campaign_id here."""
    errors = {}
    if data.get("contact_id") and not contacts.contact_exists(data["contact_id"]):
        errors["contact_id"] = [f"No contact with id '{data['contact_id']}'."]
    if data.get("company_id") and not contacts.company_exists(data["company_id"]):
        errors["company_id"] = [f"No company with id '{data['company_id']}'."]
    if errors:
        raise ValidationFailed(errors)
    if "campaign_id" in data:
        check_campaign(session, data["campaign_id"])


def publish(session: Session, event_type: str, opportunity: Opportunity, actor_id: str, **extra):
    record_event(
        session,
        event_type,
        opportunity,
        actor_id=actor_id,
        line_items=list(opportunity.lines),  # dumped by the event schema's LineItemSchema
        **extra,
    )


def open_opportunity(
    session: Session, actor: Identity, data: dict[str, Any], owner_id: str
) -> Opportunity:
    """Insert an opportunity with its first history entry and opportunity.created."""
    opportunity = Opportunity(**stages.plan_new(data), owner_id=owner_id)
    session.add(opportunity)
    session.flush()
    session.add(
        StageChange(
            opportunity_id=opportunity.id,
            from_stage=None,
            to_stage=opportunity.stage,
            changed_by=actor.user_id,
        )
    )
    publish(session, "opportunity.created", opportunity, actor.user_id)
    return opportunity


def create_opportunity(
    *,
    session: Session,
    actor: Identity,
    data: dict[str, Any],
    users: UserDirectory,
    contacts: ContactsPort,
) -> Opportunity:
    """Create an opportunity owned by the caller (or whom a manager names)."""
    require_role(actor, *LEAD_WORKERS)
    check_parties(session, contacts, data)
    owner_id = resolve_owner(actor, data.pop("owner_id", None), users)
    return open_opportunity(session, actor, data, owner_id)


def get_opportunity(*, session: Session, opportunity_id: str) -> Opportunity:
    """One opportunity, or NotFound."""
    return get_or_404(session, Opportunity, opportunity_id, "opportunity")


def list_opportunities(*, session: Session, args: dict[str, Any]) -> Page:
    """A page of opportunities, filtered by stage, source and references; `q` searches the name."""
    stmt = filtered(
        Opportunity,
        args,
        ("stage", "owner_id", "contact_id", "company_id", "campaign_id", "lead_id", "source"),
        ("name",),
    )
    return paginate_args(session, stmt, model=Opportunity, sortable=SORTABLE, args=args)


def update_opportunity(
    *,
    session: Session,
    actor: Identity,
    opportunity_id: str,
    changes: dict[str, Any],
    users: UserDirectory,
    contacts: ContactsPort,
    expected_version: int | None = None,
) -> Opportunity:
    """Change fields and/or move the stage, by the rules in `stages`."""
    require_role(actor, *LEAD_WORKERS)
    opportunity = get_opportunity(session=session, opportunity_id=opportunity_id)
    ensure_can_change(actor, opportunity.owner_id)
    check_version(opportunity, expected_version)
    if "deal_value" in changes and opportunity.lines:
        raise ValidationFailed(
            {"deal_value": ["The opportunity has line items; deal_value is their sum."]}
        )
    if opportunity.stage == stages.WON and "deal_value" in changes:
        raise Conflict("A won opportunity's value cannot change.")
    check_parties(session, contacts, changes)
    if "owner_id" in changes and changes["owner_id"] != opportunity.owner_id:
        changes["owner_id"] = resolve_owner(actor, changes["owner_id"], users)
    plan = stages.plan_change(opportunity, changes, utcnow())
    changed = apply_changes(opportunity, plan.changes)
    if not changed:
        return opportunity
    session.flush()
    if plan.moves:
        session.add(
            StageChange(
                opportunity_id=opportunity.id,
                from_stage=plan.from_stage,
                to_stage=plan.to_stage,
                changed_by=actor.user_id,
            )
        )
        for event_type in stages.stage_events(plan):
            publish(
                session,
                event_type,
                opportunity,
                actor.user_id,
                from_stage=plan.from_stage,
                to_stage=plan.to_stage,
            )
    others = [name for name in changed if not (plan.moves and name in STAGE_FIELDS)]
    if others:
        publish(session, "opportunity.updated", opportunity, actor.user_id, changed=others)
    return opportunity


def delete_opportunity(
    *,
    session: Session,
    actor: Identity,
    opportunity_id: str,
    expected_version: int | None = None,
) -> None:
    """Delete an opportunity that is not won (a won one may already be invoiced)."""
    require_role(actor, *LEAD_WORKERS)
    opportunity = get_opportunity(session=session, opportunity_id=opportunity_id)
    ensure_can_change(actor, opportunity.owner_id)
    check_version(opportunity, expected_version)
    if opportunity.stage == stages.WON:
        raise Conflict("A won opportunity cannot be deleted.")
    if opportunity.lead_id is not None:
        raise Conflict("This opportunity came from a lead conversion; close it as lost instead.")
    publish(session, "opportunity.deleted", opportunity, actor.user_id)
    session.delete(opportunity)
    session.flush()


def history(*, session: Session, opportunity_id: str) -> list[StageChange]:
    """Every stage the opportunity entered, oldest first; creation has from_stage null."""
    get_opportunity(session=session, opportunity_id=opportunity_id)
    stmt = (
        select(StageChange)
        .where(StageChange.opportunity_id == opportunity_id)
        .order_by(StageChange.seq)
    )
    return list(session.scalars(stmt))


def forget_party(*, session: Session, field: str, record_id: str, actor_id: str | None) -> int:
    """Clear `contact_id` or `company_id` where it names a record deleted in contacts."""
    column = getattr(Opportunity, field)
    changed = 0
    for opportunity in session.scalars(select(Opportunity).where(column == record_id)):
        setattr(opportunity, field, None)
        session.flush()
        publish(session, "opportunity.updated", opportunity, actor_id, changed=[field])
        changed += 1
    return changed
