"""Campaigns: marketing managers (and admins) plan and change them; everyone reads them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from services.sales.events import record_event
from services.sales.models import Campaign, Lead, Opportunity
from shared.auth import MARKETING_MANAGER, Identity, require_role
from shared.errors import Conflict, ValidationFailed
from shared.pagination import Page, paginate_args
from shared.records import apply_changes, check_version, filtered, get_or_404, resolve_owner
from shared.users import UserDirectory

SORTABLE = ("created_at", "updated_at", "name")


def create_campaign(
    *, session: Session, actor: Identity, data: dict[str, Any], users: UserDirectory
) -> Campaign:
    """Create a campaign; only marketing managers and admins may."""
    require_role(actor, MARKETING_MANAGER)
    owner_id = resolve_owner(actor, data.pop("owner_id", None), users)
    campaign = Campaign(**data, owner_id=owner_id)
    session.add(campaign)
    session.flush()
    record_event(session, "campaign.created", campaign, actor_id=actor.user_id)
    return campaign


def get_campaign(*, session: Session, campaign_id: str) -> Campaign:
    """One campaign, or NotFound."""
    return get_or_404(session, Campaign, campaign_id, "campaign")


def check_campaign(session: Session, campaign_id: str | None) -> None:
    """A reference to a campaign must name an existing one (else 422)."""
    if campaign_id is not None and session.get(Campaign, campaign_id) is None:
        raise ValidationFailed({"campaign_id": [f"No campaign with id '{campaign_id}'."]})


def list_campaigns(*, session: Session, args: dict[str, Any]) -> Page:
    """A page of campaigns, filtered by status, type and owner; `q` searches the name."""
    stmt = filtered(Campaign, args, ("status", "type", "owner_id"), ("name",))
    return paginate_args(session, stmt, model=Campaign, sortable=SORTABLE, args=args)


def update_campaign(
    *,
    session: Session,
    actor: Identity,
    campaign_id: str,
    changes: dict[str, Any],
    users: UserDirectory,
    expected_version: int | None = None,
) -> Campaign:
    """Change a campaign (marketing managers and admins); end_date stays on or after start."""
    require_role(actor, MARKETING_MANAGER)
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    check_version(campaign, expected_version)
    start = changes.get("start_date", campaign.start_date)
    end = changes.get("end_date", campaign.end_date)
    if start and end and end < start:
        raise ValidationFailed({"end_date": ["Must not be before start_date."]})
    if "owner_id" in changes and changes["owner_id"] != campaign.owner_id:
        changes["owner_id"] = resolve_owner(actor, changes["owner_id"], users)
    changed = apply_changes(campaign, changes)
    if changed:
        session.flush()
        record_event(session, "campaign.updated", campaign, actor_id=actor.user_id, changed=changed)
    return campaign


def delete_campaign(
    *, session: Session, actor: Identity, campaign_id: str, expected_version: int | None = None
) -> None:
    """Delete a campaign nothing refers to; one with leads or opportunities is a 409."""
    require_role(actor, MARKETING_MANAGER)
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    check_version(campaign, expected_version)
    in_use = session.scalar(
        select(
            or_(
                exists().where(Lead.campaign_id == campaign_id),
                exists().where(Opportunity.campaign_id == campaign_id),
            )
        )
    )
    if in_use:
        raise Conflict("The campaign has leads or opportunities; set its status instead.")
    record_event(session, "campaign.deleted", campaign, actor_id=actor.user_id)
    session.delete(campaign)
    session.flush()
