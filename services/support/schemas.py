"""Request and response shapes. Server-owned fields are dump-only: sending them is a 422."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from services.support.domain.sla import BREACHES, PRIORITIES
from shared.api import ListArgs, RecordSchema, Schema, text, update_schema

STATUSES = ("new", "open", "pending", "resolved", "closed")
TYPES = ("question", "problem", "incident", "feature_request")


class EscalationSchema(Schema):
    breach = fields.String(validate=validate.OneOf(BREACHES))
    due_at = fields.DateTime()
    escalated_at = fields.DateTime()


class CaseSchema(RecordSchema):
    case_number = fields.String(dump_only=True, metadata={"example": "CS-000042"})
    status = fields.String(
        validate=validate.OneOf(STATUSES),
        metadata={"description": "Created as new; changed by PATCH along the workflow."},
    )
    priority = fields.String(load_default="medium", validate=validate.OneOf(PRIORITIES))
    type = fields.String(load_default="question", validate=validate.OneOf(TYPES))
    owner_id = text(100)
    contact_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    description = fields.String(allow_none=True, validate=validate.Length(max=20_000))
    first_response_due_at = fields.DateTime(dump_only=True)
    resolution_due_at = fields.DateTime(dump_only=True)
    first_responded_at = fields.DateTime(dump_only=True, allow_none=True)
    resolved_at = fields.DateTime(dump_only=True, allow_none=True)
    closed_at = fields.DateTime(dump_only=True, allow_none=True)
    escalated_at = fields.DateTime(dump_only=True, allow_none=True)
    escalations = fields.List(fields.Nested(EscalationSchema), dump_only=True)

    @ma.validates("status")
    def created_new(self, value, **_kwargs):
        if not self.partial and value != "new":
            raise ma.ValidationError("A case is created as new; move it with PATCH.")


CaseUpdateSchema = update_schema(CaseSchema)


class CaseListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(STATUSES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    type = fields.String(validate=validate.OneOf(TYPES))
    owner_id = fields.String()
    contact_id = fields.String()


class CaseReportArgs(Schema):
    owner_id = fields.String()
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    created_from = fields.DateTime(metadata={"description": "Cases created at or after this."})
    created_to = fields.DateTime(metadata={"description": "Cases created before this."})


class DurationStatsSchema(Schema):
    count = fields.Integer()
    mean_hours = fields.Float(allow_none=True)
    p90_hours = fields.Float(allow_none=True)


class CaseReportSchema(Schema):
    open_by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    open_by_priority = fields.Dict(keys=fields.String(), values=fields.Integer())
    breaches = fields.Dict(keys=fields.String(), values=fields.Integer())
    first_response = fields.Nested(DurationStatsSchema)
    resolution = fields.Nested(DurationStatsSchema)
