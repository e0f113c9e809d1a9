"""The sales service's events, recorded in the outbox with the change they describe.

Every payload is the record's state as the API shows it, plus `actor_id`: the user whose
request caused the event (a subscriber such as notifications uses it not to tell people
about their own actions).
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields
from sqlalchemy.orm import Session

from services.sales.models import OutboxEvent
from services.sales.schemas import (
    CampaignSchema,
    LeadSchema,
    OpportunitySchema,
    ProductSchema,
    Schema,
)
from shared.api import Money
from shared.catalog import EventSpec, event_data, with_actor
from shared.outbox import Outbox

outbox = Outbox(OutboxEvent, "sales")


class LineItemSchema(Schema):
    product_id = fields.String()
    name = fields.String()
    sku = fields.String()
    quantity = fields.Integer()
    unit_price = Money()
    line_total = Money()


CampaignEventSchema = with_actor(CampaignSchema)
LeadEventSchema = with_actor(LeadSchema)
ProductEventSchema = with_actor(ProductSchema)


class LeadAssignedSchema(LeadEventSchema):  # type: ignore[misc, valid-type]
    assigned_by = fields.String()
    previous_owner_id = fields.String()


class LeadConvertedSchema(Schema):
    lead_id = fields.String()
    contact_id = fields.String()
    company_id = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    owner_id = fields.String()
    converted_at = fields.DateTime()
    actor_id = fields.String()


class OpportunityEventSchema(with_actor(OpportunitySchema)):  # type: ignore[misc]
    line_items = fields.List(fields.Nested(LineItemSchema))


class StageChangedSchema(OpportunityEventSchema):
    from_stage = fields.String(allow_none=True)
    to_stage = fields.String()


#: Every event this service publishes: its data schema and what it means to a subscriber.
CATALOG = {
    "campaign.created": EventSpec(CampaignEventSchema, "A campaign was created."),
    "campaign.updated": EventSpec(
        CampaignEventSchema, "A campaign changed; `changed` names the fields.", changed=True
    ),
    "campaign.deleted": EventSpec(CampaignEventSchema, "A campaign was deleted."),
    "lead.created": EventSpec(LeadEventSchema, "A lead was created; `actor_id` created it."),
    "lead.updated": EventSpec(
        LeadEventSchema, "A lead changed; `changed` names the fields.", changed=True
    ),
    "lead.assigned": EventSpec(
        LeadAssignedSchema,
        "A lead was given to another user (`owner_id`) by `assigned_by`; "
        "`previous_owner_id` held it before.",
    ),
    "lead.converted": EventSpec(
        LeadConvertedSchema,
        "A lead became a contact (and company) in the contacts service and an opportunity here.",
    ),
    "lead.deleted": EventSpec(LeadEventSchema, "A lead was deleted; data is its last state."),
    "product.created": EventSpec(ProductEventSchema, "A product was added to the catalogue."),
    "product.updated": EventSpec(
        ProductEventSchema, "A product changed; `changed` names the fields.", changed=True
    ),
    "product.deleted": EventSpec(ProductEventSchema, "A product was removed."),
    "opportunity.created": EventSpec(OpportunityEventSchema, "An opportunity was opened."),
    "opportunity.updated": EventSpec(
        OpportunityEventSchema,
        "An opportunity's fields or line items changed (not its stage); `changed` names them.",
        changed=True,
    ),
    "opportunity.stage_changed": EventSpec(
        StageChangedSchema, "An opportunity moved from `from_stage` to `to_stage`."
    ),
    "opportunity.won": EventSpec(
        StageChangedSchema,
        "An opportunity entered closed_won; `line_items` are what was sold.",
    ),
    "opportunity.lost": EventSpec(
        StageChangedSchema, "An opportunity entered closed_lost; `lost_reason` says why."
    ),
    "opportunity.deleted": EventSpec(
        OpportunityEventSchema, "An opportunity was deleted; data is its last state."
    ),
}


def record_event(
    session: Session, event_type: str, record: Any, *, actor_id: str | None, **extra: Any
) -> str:
    """Put an event about `record` in the outbox, shaped by its catalog schema."""
    data = event_data(CATALOG, event_type, record, actor_id=actor_id, **extra)
    subject = data.get("id") or data.get("lead_id")
    return outbox.record(session, event_type, data, subject=subject)
