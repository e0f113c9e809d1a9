"""/api/v1/notifications: the caller's own inbox, its live stream, and tickets that open it."""

from flask import Response, current_app, g, request
from flask.views import MethodView

from services.notifications import stream
from services.notifications.domain import inbox, tickets
from services.notifications.schemas import (
    NotificationListArgs,
    NotificationSchema,
    NotificationUpdateSchema,
    ReadAllSchema,
    StreamArgs,
    StreamTicketSchema,
    UnreadCountSchema,
)
from shared.api import Blueprint, page_schema
from shared.auth import Identity
from shared.metrics import counted_stream
from shared.web import (
    bearer_identity,
    current_identity,
    current_session,
    ensure_not_revoked,
    etag_of,
    if_match_version,
)

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/api/v1/notifications",
    description="Notifications: the caller's own inbox, made from events, with a live stream.",
)
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
SSE_DOC = {
    "description": "text/event-stream: `retry:` first, then per notification `id: <id>`, "
    "`event: notification`, `data: <the notification as JSON>`; `: keep-alive` comments "
    "while quiet. The response ends after a few minutes; reconnect with `Last-Event-ID`.",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}
#: The stream takes the bearer token or, without one, a stream ticket in the query.
STREAM_SECURITY = [{"bearer": []}, {"streamTicket": []}]
STREAM_ENDPOINT = "notifications.NotificationStream"
TICKET_ENDPOINT = "notifications.StreamTicket"


def stream_caller() -> Identity:
    """Who opens the stream: the bearer token's identity, or, without a header, a ticket's."""
    header = request.headers.get("Authorization")
    ticket = request.args.get("ticket")
    if ticket is not None and not header:
        with current_app.extensions["database"].transaction() as session:
            identity = tickets.redeem(session=session, ticket=ticket)
        ensure_not_revoked(identity)  # the session it was issued to may have ended since
        return identity
    return bearer_identity()


@blp.route("")
class Notifications(MethodView):
    @blp.arguments(NotificationListArgs, location="query")
    @blp.response(200, page_schema(NotificationSchema))
    def get(self, args):
        """List the caller's notifications, newest first (filters: is_read, type, record_*)"""
        return inbox.list_notifications(
            session=current_session(), actor=current_identity(), args=args
        )


@blp.route("/unread-count")
class UnreadCount(MethodView):
    @blp.response(200, UnreadCountSchema)
    def get(self):
        """How many of the caller's notifications are unread"""
        return {"unread": inbox.unread_count(session=current_session(), actor=current_identity())}


@blp.route("/read-all")
class ReadAll(MethodView):
    @blp.response(200, ReadAllSchema)
    def post(self):
        """Mark every unread notification of the caller read"""
        updated = inbox.mark_all_read(session=current_session(), actor=current_identity())
        return {"updated": updated}


@blp.route("/stream-ticket")
class StreamTicket(MethodView):
    @blp.response(201, StreamTicketSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN")
    def post(self):
        """A one-time ticket that opens the caller's stream without the Authorization header"""
        seconds = current_app.extensions["stream"].ticket_seconds
        ticket = tickets.issue(session=current_session(), actor=current_identity(), seconds=seconds)
        return {"ticket": ticket, "expires_in": seconds}, {"Cache-Control": "no-store"}


@blp.route("/stream")
class NotificationStream(MethodView):
    def dispatch_request(self, **kwargs):
        g.identity = stream_caller()  # before the query is read: without either, a plain 401
        return super().dispatch_request(**kwargs)

    @blp.arguments(StreamArgs, location="query")
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.doc(responses={"200": SSE_DOC}, security=STREAM_SECURITY)
    def get(self, args):
        """Live stream (Server-Sent Events) of the caller's new notifications"""
        user_id = inbox.owner_of_inbox(current_identity())
        after = stream.resume_point(request.headers.get("Last-Event-ID") or args["last_event_id"])
        frames = stream.events(
            database=current_app.extensions["database"],
            user_id=user_id,
            after=after,
            config=current_app.extensions["stream"],
            fanout=current_app.extensions["fanout"],
        )
        return Response(
            counted_stream("notifications", frames),
            mimetype="text/event-stream",
            headers=SSE_HEADERS,
        )


@blp.route("/<notification_id>")
class NotificationById(MethodView):
    @blp.response(200, NotificationSchema)
    def get(self, notification_id):
        """Read one of the caller's notifications"""
        notification = inbox.get_notification(
            session=current_session(), actor=current_identity(), notification_id=notification_id
        )
        return notification, {"ETag": etag_of(notification)}

    @blp.arguments(NotificationUpdateSchema)
    @blp.response(200, NotificationSchema)
    def patch(self, changes, notification_id):
        """Mark one of the caller's notifications read or unread (If-Match honoured)"""
        notification = inbox.mark(
            session=current_session(),
            actor=current_identity(),
            notification_id=notification_id,
            is_read=changes["is_read"],
            expected_version=if_match_version(),
        )
        return notification, {"ETag": etag_of(notification)}
