"""Request and response shapes. Server-owned fields are dump-only: sending them is a 422."""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma
from marshmallow import fields, validate

from shared.api import ListArgs, Money, Schema, update_schema

INTERACTION_TYPES = ("call", "email", "meeting", "note", "task")


def _text(max_length: int, **kwargs):
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def _optional(max_length: int):
    return fields.String(allow_none=True, validate=validate.Length(max=max_length))


class RecordSchema(Schema):
    id = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    version = fields.Integer(dump_only=True)


class CompanySchema(RecordSchema):
    name = _text(200, required=True)
    industry = _optional(100)
    website = _optional(300)
    phone = _optional(50)
    email = fields.Email(allow_none=True)
    address = _optional(500)
    city = _optional(100)
    country = _optional(100)
    annual_revenue = Money(allow_none=True, validate=validate.Range(min=0))
    employee_count = fields.Integer(allow_none=True, validate=validate.Range(min=0))
    owner_id = _text(100)


class ContactSchema(RecordSchema):
    first_name = _optional(100)
    last_name = _text(100, required=True)
    email = fields.Email(allow_none=True)
    phone = _optional(50)
    job_title = _optional(100)
    company_id = fields.String(allow_none=True)
    owner_id = _text(100)

    @ma.post_load
    def normalise_email(self, data, **_kwargs):
        if data.get("email"):
            data["email"] = data["email"].strip().lower()
        return data


class InteractionSchema(RecordSchema):
    type = fields.String(required=True, validate=validate.OneOf(INTERACTION_TYPES))
    subject = _text(200, required=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=20_000))
    occurred_at = fields.AwareDateTime(default_timezone=None)
    contact_id = fields.String(allow_none=True)
    company_id = fields.String(allow_none=True)
    user_id = fields.String(dump_only=True)

    @ma.post_load
    def in_utc(self, data, **_kwargs):
        if data.get("occurred_at") is not None:
            data["occurred_at"] = data["occurred_at"].astimezone(UTC)
        return data


class ConversionCompanySchema(CompanySchema):
    """A company to create while converting; the conversion's owner_id owns it."""

    class Meta(CompanySchema.Meta):
        exclude = ("owner_id",)


class ConversionContactSchema(ContactSchema):
    """A contact to create while converting; the conversion's owner_id owns it."""

    class Meta(ContactSchema.Meta):
        exclude = ("owner_id",)


class ConversionCreateSchema(Schema):
    """What the sales service sends to convert a lead: an id or a body for each record."""

    lead_id = _text(36, required=True)
    owner_id = _text(100, required=True)
    company_id = fields.String(allow_none=True)
    company = fields.Nested(ConversionCompanySchema, allow_none=True)
    contact_id = fields.String(allow_none=True)
    contact = fields.Nested(ConversionContactSchema, allow_none=True)
    attach_to_existing = fields.Boolean(load_default=False)

    @ma.validates_schema
    def one_source_per_record(self, data: dict, **_kwargs) -> None:
        errors: dict[str, list[str]] = {}
        for record in ("company", "contact"):
            if data.get(f"{record}_id") is not None and data.get(record) is not None:
                errors[record] = [f"Send {record}_id or {record}, not both."]
        if data.get("contact_id") is None and data.get("contact") is None:
            errors["contact"] = ["Send contact_id or contact."]
        if errors:
            raise ma.ValidationError(errors)


class ConversionSchema(Schema):
    lead_id = fields.String()
    company_id = fields.String(allow_none=True)
    contact_id = fields.String()
    created_company = fields.Boolean()
    created_contact = fields.Boolean()
    status = fields.String()


CompanyUpdateSchema = update_schema(CompanySchema)
ContactUpdateSchema = update_schema(ContactSchema)
InteractionUpdateSchema = update_schema(InteractionSchema)


class CompanyListArgs(ListArgs):
    owner_id = fields.String()
    industry = fields.String()
    country = fields.String()


class ContactListArgs(ListArgs):
    company_id = fields.String()
    owner_id = fields.String()
    email = fields.String()


class InteractionListArgs(ListArgs):
    contact_id = fields.String()
    company_id = fields.String()
    user_id = fields.String()
    type = fields.String(validate=validate.OneOf(INTERACTION_TYPES))
