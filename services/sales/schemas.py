"""Request and response shapes. Server-owned fields are dump-only: sending them is a 422."""

from __future__ import annotations

from decimal import Decimal

import marshmallow as ma
from marshmallow import fields, validate

from shared.api import (
    ListArgs,
    Money,
    RecordSchema,
    Schema,
    optional_text,
    text,
    update_schema,
)

CAMPAIGN_TYPES = ("email", "event", "webinar", "social", "advertising", "content", "other")
CAMPAIGN_STATUSES = ("planned", "active", "completed", "cancelled")
LEAD_STATUSES = ("new", "contacted", "qualified", "unqualified", "converted")
#: The statuses a client may set; `converted` is reached only through /convert.
OPEN_LEAD_STATUSES = ("new", "contacted", "qualified", "unqualified")
#: Suggested values for a lead's (and an opportunity's) free-text source; any text is taken.
SUGGESTED_SOURCES = (
    "website",
    "referral",
    "campaign",
    "event",
    "cold_call",
    "email",
    "social",
    "partner",
    "other",
)
PRODUCT_TYPES = ("good", "service", "subscription")
STAGES = ("prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost")


class Probability(fields.Float):
    """A fraction from 0 to 1: a number in JSON, an exact Decimal in Python."""

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_nan=False, validate=validate.Range(min=0, max=1), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        number = super()._deserialize(value, attr, data, **kwargs)
        if number is None:
            return None
        return Decimal(str(number)).quantize(Decimal("0.001"))


class CampaignSchema(RecordSchema):
    name = text(200, required=True)
    type = fields.String(load_default="other", validate=validate.OneOf(CAMPAIGN_TYPES))
    status = fields.String(load_default="planned", validate=validate.OneOf(CAMPAIGN_STATUSES))
    budget = Money(allow_none=True, validate=validate.Range(min=0))
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    description = fields.String(allow_none=True, validate=validate.Length(max=20_000))
    owner_id = text(100)

    @ma.validates_schema
    def end_not_before_start(self, data, **_kwargs):
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            raise ma.ValidationError("Must not be before start_date.", "end_date")


def source_text() -> fields.String:
    """Free text of at most 100 characters, or null; the suggested values are documented."""
    return fields.String(
        allow_none=True,
        validate=validate.Length(max=100),
        metadata={"description": "Free text, e.g. " + ", ".join(SUGGESTED_SOURCES)},
    )


class LeadSchema(RecordSchema):
    name = text(200, required=True, metadata={"description": "The lead's full name."})
    email = fields.Email(allow_none=True)
    phone_number = optional_text(50)
    company_name = optional_text(200)
    job_title = optional_text(100)
    lead_source = source_text()
    #: Every status is shown (a converted lead reads `converted`); a client sets an open one.
    status = fields.String(load_default="new", validate=validate.OneOf(LEAD_STATUSES))
    lead_score = fields.Integer(
        strict=True, load_default=0, validate=validate.Range(min=0, max=100)
    )
    notes = fields.String(allow_none=True, validate=validate.Length(max=20_000))
    campaign_id = fields.String(allow_none=True)
    owner_id = text(100)
    converted_at = fields.DateTime(dump_only=True, allow_none=True)
    converted_contact_id = fields.String(dump_only=True, allow_none=True)
    converted_company_id = fields.String(dump_only=True, allow_none=True)
    converted_opportunity_id = fields.String(dump_only=True, allow_none=True)

    @ma.validates("status")
    def status_a_client_may_set(self, value, **_kwargs):
        if value not in OPEN_LEAD_STATUSES:
            raise ma.ValidationError("A lead becomes converted only through /convert.")

    @ma.post_load
    def normalise_email(self, data, **_kwargs):
        if data.get("email"):
            data["email"] = data["email"].strip().lower()
        return data


class ProductSchema(RecordSchema):
    name = text(200, required=True)
    sku = fields.String(
        required=True, validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
    )
    price = Money(required=True, validate=validate.Range(min=0))
    type = fields.String(load_default="good", validate=validate.OneOf(PRODUCT_TYPES))
    description = fields.String(allow_none=True, validate=validate.Length(max=20_000))
    is_active = fields.Boolean(load_default=True)


class OpportunitySchema(RecordSchema):
    name = text(200, required=True)
    stage = fields.String(load_default="prospecting", validate=validate.OneOf(STAGES))
    probability = Probability()
    deal_value = Money(validate=validate.Range(min=0))
    expected_close_date = fields.Date(allow_none=True)
    lost_reason = fields.String(allow_none=True, validate=validate.Length(max=500))
    source = source_text()
    description = fields.String(allow_none=True, validate=validate.Length(max=20_000))
    contact_id = fields.String(allow_none=True)
    company_id = fields.String(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    lead_id = fields.String(dump_only=True, allow_none=True)
    owner_id = text(100)
    closed_at = fields.DateTime(dump_only=True, allow_none=True)


class LineSchema(RecordSchema):
    opportunity_id = fields.String(dump_only=True)
    product_id = fields.String(required=True)
    quantity = fields.Integer(
        strict=True, load_default=1, validate=validate.Range(min=1, max=1_000_000)
    )
    unit_price = Money(validate=validate.Range(min=0))
    name = fields.String(dump_only=True)
    sku = fields.String(dump_only=True)
    line_total = Money(dump_only=True)


class LineUpdateSchema(Schema):
    quantity = fields.Integer(strict=True, validate=validate.Range(min=1, max=1_000_000))
    unit_price = Money(validate=validate.Range(min=0))


class StageChangeSchema(Schema):
    from_stage = fields.String(allow_none=True)
    to_stage = fields.String()
    changed_by = fields.String()
    changed_at = fields.DateTime()


class HistorySchema(Schema):
    items = fields.List(fields.Nested(StageChangeSchema))


class LinesSchema(Schema):
    items = fields.List(fields.Nested(LineSchema))


CampaignUpdateSchema = update_schema(CampaignSchema)
LeadUpdateSchema = update_schema(LeadSchema)
ProductUpdateSchema = update_schema(ProductSchema)
OpportunityUpdateSchema = update_schema(OpportunitySchema)


class CompanyFields(Schema):
    """What a conversion may say about a new company; the contacts service checks the rest."""

    name = text(200, required=True)
    street = optional_text(500)
    city = optional_text(100)
    state = optional_text(100)
    postal_code = optional_text(20)
    country = optional_text(100)
    phone_number = optional_text(50)
    industry = optional_text(100)
    website = optional_text(300)
    annual_revenue = Money(allow_none=True, validate=validate.Range(min=0))
    email = fields.Email(allow_none=True)
    employee_count = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0))


class ContactFields(Schema):
    """Overrides for the new contact; unnamed fields come from the lead."""

    name = text(200)
    email = fields.Email(allow_none=True)
    phone_number = optional_text(50)
    job_title = optional_text(100)


class OpportunityFields(Schema):
    name = text(200)
    stage = fields.String(
        validate=validate.OneOf(("prospecting", "qualification", "proposal", "negotiation"))
    )
    probability = Probability()
    deal_value = Money(validate=validate.Range(min=0))
    expected_close_date = fields.Date(allow_none=True)
    source = source_text()
    description = fields.String(allow_none=True, validate=validate.Length(max=20_000))


class ConvertSchema(Schema):
    company_id = fields.String()
    company = fields.Nested(CompanyFields)
    contact_id = fields.String()
    contact = fields.Nested(ContactFields)
    attach_to_existing = fields.Boolean(load_default=False)
    create_opportunity = fields.Boolean(load_default=True)
    opportunity = fields.Nested(OpportunityFields)

    @ma.validates_schema
    def one_of_each(self, data, **_kwargs):
        errors = {}
        if "company_id" in data and "company" in data:
            errors["company"] = ["Name an existing company_id or describe a company, not both."]
        if "contact_id" in data and "contact" in data:
            errors["contact"] = ["Name an existing contact_id or describe a contact, not both."]
        if data.get("create_opportunity") is False and "opportunity" in data:
            errors["opportunity"] = ["Not allowed with create_opportunity false."]
        if errors:
            raise ma.ValidationError(errors)


class LeadConversionSchema(Schema):
    lead_id = fields.String()
    contact_id = fields.String()
    company_id = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    owner_id = fields.String()
    converted_at = fields.DateTime()
    lead = fields.Nested(LeadSchema)


class CampaignListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(CAMPAIGN_STATUSES))
    type = fields.String(validate=validate.OneOf(CAMPAIGN_TYPES))
    owner_id = fields.String()


class LeadListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(LEAD_STATUSES))
    owner_id = fields.String()
    campaign_id = fields.String()
    lead_source = fields.String()
    email = fields.String()


class ProductListArgs(ListArgs):
    type = fields.String(validate=validate.OneOf(PRODUCT_TYPES))
    sku = fields.String()
    is_active = fields.Boolean()


class OpportunityListArgs(ListArgs):
    stage = fields.String(validate=validate.OneOf(STAGES))
    owner_id = fields.String()
    contact_id = fields.String()
    company_id = fields.String()
    campaign_id = fields.String()
    lead_id = fields.String()
    source = fields.String()


class ReportArgs(Schema):
    owner_id = fields.String()
    campaign_id = fields.String()


class StageRowSchema(Schema):
    stage = fields.String()
    count = fields.Integer()
    total_value = Money()
    weighted_value = Money()


class ForecastRowSchema(Schema):
    month = fields.String()
    total_value = Money()
    weighted_value = Money()


class PipelineSchema(Schema):
    stages = fields.List(fields.Nested(StageRowSchema))
    forecast = fields.List(fields.Nested(ForecastRowSchema))
    win_rate = fields.Float(allow_none=True)


class CampaignRowSchema(Schema):
    campaign_id = fields.String()
    name = fields.String()
    status = fields.String()
    budget = Money(allow_none=True)
    leads = fields.Integer()
    converted_leads = fields.Integer()
    opportunities = fields.Integer()
    won_opportunities = fields.Integer()
    won_revenue = Money()
    cost_per_lead = Money(allow_none=True)
    roi = fields.Float(allow_none=True)


class CampaignReportSchema(Schema):
    items = fields.List(fields.Nested(CampaignRowSchema))
