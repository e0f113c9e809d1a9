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
