"""Request and response shapes. Server-owned fields are dump-only: sending them is a 422."""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from services.contacts.fastdump import FastDump
from shared.api import (
    ListArgs,
    Money,
    RecordSchema,
    Schema,
    optional_text,
    text,
    update_schema,
)

INTERACTION_TYPES = ("call", "email", "meeting", "note", "task")
#: What may be tagged (DESIGN §5): contacts' own records first, then the other services'.
RECORD_TYPES = (
    "company",
    "contact",
    "interaction",
    "lead",
    "opportunity",
    "campaign",
    "product",
    "case",
    "invoice",
)


class CompanySchema(FastDump, RecordSchema):
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
    owner_id = text(100)
    email = fields.Email(allow_none=True)
    employee_count = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0))


class ContactSchema(FastDump, RecordSchema):
    #: The person's full name, as one field (DATA_MODEL.md).
    name = text(200, required=True)
    email = fields.Email(allow_none=True)
    phone_number = optional_text(50)
    job_title = optional_text(100)
    company_id = fields.String(allow_none=True)
    owner_id = text(100)

    @ma.post_load
    def normalise_email(self, data, **_kwargs):
        if data.get("email"):
            data["email"] = data["email"].strip().lower()
        return data


class InteractionSchema(FastDump, RecordSchema):
    contact_id = fields.String(allow_none=True)
    user_id = fields.String(dump_only=True)
    #: A support case; stored as given (the support service, when it comes, validates it).
    case_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=36))
    type = fields.String(required=True, validate=validate.OneOf(INTERACTION_TYPES))
    outcome = optional_text(500)
    notes = fields.String(allow_none=True, validate=validate.Length(max=20_000))
    interaction_date = fields.AwareDateTime(default_timezone=None)
    company_id = fields.String(allow_none=True)
    subject = optional_text(200)

    @ma.post_load
    def in_utc(self, data, **_kwargs):
        if data.get("interaction_date") is not None:
            data["interaction_date"] = data["interaction_date"].astimezone(UTC)
        return data


class ConversionCompanySchema(CompanySchema):
    """A company to create while converting; the conversion's owner_id owns it."""

    class Meta(CompanySchema.Meta):
        exclude = ("owner_id",)


class ConversionContactSchema(ContactSchema):
    """A contact to create while converting; the conversion's owner_id owns it."""

    class Meta(ContactSchema.Meta):
        exclude = ("owner_id",)


class ContactsConversionCreateSchema(Schema):
    """What the sales service sends to convert a lead: an id or a body for each record."""

    lead_id = text(36, required=True)
    owner_id = text(100, required=True)
    company_id = fields.String(allow_none=True)
    company = fields.Nested(ConversionCompanySchema, allow_none=True)
    contact_id = fields.String(allow_none=True)
    contact = fields.Nested(ConversionContactSchema, allow_none=True)
    attach_to_existing = fields.Boolean(load_default=False)
    #: The user who asked for the conversion, named in the events (default: the service).
    actor_id = text(100)

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


class ContactsConversionSchema(Schema):
    lead_id = fields.String()
    company_id = fields.String(allow_none=True)
    contact_id = fields.String()
    created_company = fields.Boolean()
    created_contact = fields.Boolean()
    status = fields.String()


class TagSchema(FastDump, RecordSchema):
    name = text(100, required=True)
    #: How many records carry the tag.
    usage_count = fields.Integer(dump_only=True)

    @ma.pre_load
    def trim_name(self, data, **_kwargs):
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            data = {**data, "name": data["name"].strip()}
        return data


class TaggingSchema(FastDump, Schema):
    id = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    tag_id = text(36, required=True)
    record_type = fields.String(required=True, validate=validate.OneOf(RECORD_TYPES))
    record_id = text(36, required=True)
    #: The tag's name, so a record's tags read without a second call.
    tag_name = fields.String(dump_only=True)


class AttachmentSchema(FastDump, Schema):
    id = fields.String(dump_only=True)
    file_name = fields.String(dump_only=True)
    #: The storage key: generated, never the client's name.
    file_path = fields.String(dump_only=True)
    #: Sniffed from the content, not taken from the client.
    mime_type = fields.String(dump_only=True)
    #: The file's length in bytes.
    size = fields.Integer(dump_only=True)
    record_type = fields.String(required=True, validate=validate.OneOf(RECORD_TYPES))
    record_id = text(36, required=True)
    #: Who uploaded it.
    uploaded_by = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class AttachmentUploadSchema(Schema):
    """multipart/form-data: the record's type and id, and the file."""

    record_type = fields.String(required=True, validate=validate.OneOf(RECORD_TYPES))
    record_id = text(36, required=True)
    file = Upload(required=True, metadata={"description": "The file, at most 25 MiB."})


CompanyUpdateSchema = update_schema(CompanySchema)
ContactUpdateSchema = update_schema(ContactSchema)
InteractionUpdateSchema = update_schema(InteractionSchema)
TagUpdateSchema = update_schema(TagSchema)


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
    case_id = fields.String()
    type = fields.String(validate=validate.OneOf(INTERACTION_TYPES))


class TagListArgs(ListArgs):
    """`q` searches tag names."""


class AttachmentListArgs(ListArgs):
    """A record's attachments (`record_type` and `record_id`), newest first by default."""

    class Meta(ListArgs.Meta):
        exclude = ("q",)

    record_type = fields.String(validate=validate.OneOf(RECORD_TYPES))
    record_id = fields.String()


class TaggingListArgs(ListArgs):
    """By record (`record_type` and `record_id`) or by tag (`tag_id`, optionally a type)."""

    class Meta(ListArgs.Meta):
        exclude = ("q",)

    tag_id = fields.String()
    record_type = fields.String(validate=validate.OneOf(RECORD_TYPES))
    record_id = fields.String()
