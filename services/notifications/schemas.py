"""Request and response shapes. Only `is_read` is writable; everything else is the server's."""

from __future__ import annotations

from marshmallow import fields, validate

from services.notifications.rules import COLLECTIONS
from shared.api import ListArgs, Schema

#: What a notification can be about: every record type a rule links to.
RECORD_TYPES = tuple(COLLECTIONS)


class NotificationSchema(Schema):
    id = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    version = fields.Integer(dump_only=True)
    user_id = fields.String(dump_only=True)
    type = fields.String(dump_only=True, metadata={"description": "The event type it came from."})
    message = fields.String(dump_only=True)
    link = fields.String(dump_only=True, metadata={"description": "e.g. /leads/<id>"})
    record_type = fields.String(dump_only=True)
    record_id = fields.String(dump_only=True)
    actor_id = fields.String(dump_only=True, allow_none=True)
    event_id = fields.String(dump_only=True)
    is_read = fields.Boolean()
    read_at = fields.DateTime(dump_only=True, allow_none=True)


class NotificationUpdateSchema(Schema):
    is_read = fields.Boolean(required=True)


class NotificationListArgs(ListArgs):
    is_read = fields.Boolean()
    type = fields.String()
    record_type = fields.String(validate=validate.OneOf(RECORD_TYPES))
    record_id = fields.String()


class StreamArgs(Schema):
    last_event_id = fields.String(
        load_default=None,
        metadata={"description": "Resume after this notification id (as `Last-Event-ID`)."},
    )
    ticket = fields.String(
        load_default=None,
        metadata={
            "description": "A one-time stream ticket (`POST /notifications/stream-ticket`), "
            "for clients that cannot send the Authorization header; used only without one."
        },
    )


class StreamTicketSchema(Schema):
    ticket = fields.String(
        required=True, metadata={"description": "Opaque; opens the caller's stream once."}
    )
    expires_in = fields.Integer(
        required=True, metadata={"description": "Seconds left to open the stream with it."}
    )


class UnreadCountSchema(Schema):
    unread = fields.Integer(required=True)


class ReadAllSchema(Schema):
    updated = fields.Integer(required=True)
