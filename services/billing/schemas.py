"""Request and response shapes. Server-owned fields are dump-only: sending them is a 422."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from shared.api import ListArgs, Money, RecordSchema, Schema, optional_text, text

STATUSES = ("draft", "sent", "paid", "overdue", "void")
PAYMENT_METHODS = ("bank_transfer", "card", "cash", "cheque", "direct_debit", "other")
BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


def quantity(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=1_000_000), **kwargs)


class ItemSchema(RecordSchema):
    invoice_id = fields.String(dump_only=True)
    product_id = fields.String(allow_none=True, load_default=None)
    description = text(300, metadata={"description": "Defaults to the product's name."})
    quantity = quantity(load_default=1)
    price = Money(
        validate=validate.Range(min=0),
        metadata={"description": "Unit price; defaults to the product's list price."},
    )
    line_total = Money(dump_only=True)

    @ma.validates_schema
    def product_or_description_and_price(self, data, **_kwargs):
        if data.get("product_id") is None:
            missing = [name for name in ("description", "price") if name not in data]
            if missing:
                raise ma.ValidationError(
                    {name: ["Required when the item names no product_id."] for name in missing}
                )


class ItemUpdateSchema(Schema):
    description = text(300)
    quantity = quantity()
    price = Money(validate=validate.Range(min=0))


class InvoiceSchema(RecordSchema):
    number = fields.String(dump_only=True, allow_none=True)
    opportunity_id = fields.String(required=True)
    origin = fields.String(dump_only=True)
    owner_id = fields.String(dump_only=True)
    opportunity_owner_id = fields.String(dump_only=True, allow_none=True)
    company_id = fields.String(dump_only=True, allow_none=True)
    contact_id = fields.String(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)
    total = Money(dump_only=True)
    issue_date = fields.Date(dump_only=True)
    due_date = fields.Date(
        metadata={"description": "Defaults to issue_date + the payment terms (net 30)."}
    )
    sent_at = fields.DateTime(dump_only=True, allow_none=True)
    paid_at = fields.DateTime(dump_only=True, allow_none=True)
    payment_method = fields.String(dump_only=True, allow_none=True)
    voided_at = fields.DateTime(dump_only=True, allow_none=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=5000))
    items = fields.List(fields.Nested(ItemSchema), load_default=list)


class PaySchema(Schema):
    payment_method = fields.String(required=True, validate=validate.OneOf(PAYMENT_METHODS))


class EmptySchema(Schema):
    """No body, or an empty JSON object."""


class ItemsSchema(Schema):
    items = fields.List(fields.Nested(ItemSchema))


class InvoiceListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(STATUSES))
    opportunity_id = fields.String()
    owner_id = fields.String()
    company_id = fields.String()
    number = optional_text(20)


class ReceivablesArgs(Schema):
    owner_id = fields.String()
    company_id = fields.String()


class BucketSchema(Schema):
    bucket = fields.String(validate=validate.OneOf(BUCKETS))
    count = fields.Integer()
    total = Money()


class CompanyRowSchema(Schema):
    company_id = fields.String(allow_none=True)
    company_name = fields.String(allow_none=True)
    count = fields.Integer()
    total = Money()
    buckets = fields.Dict(keys=fields.String(), values=Money())


class ReceivablesSchema(Schema):
    as_of = fields.Date()
    total_outstanding = Money()
    count = fields.Integer()
    buckets = fields.List(fields.Nested(BucketSchema))
    companies = fields.List(fields.Nested(CompanyRowSchema))
