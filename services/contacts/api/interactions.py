"""/api/v1/interactions"""

from flask import current_app
from flask.views import MethodView

from services.contacts.domain import interactions
from services.contacts.schemas import (
    InteractionListArgs,
    InteractionSchema,
    InteractionUpdateSchema,
)
from shared.api import Blueprint, page_schema
from shared.web import created, current_identity, current_session, etag_of, if_match_version


def support_port():
    """The support service client this app was built with (case_id checks)."""
    return current_app.extensions["support"]


blp = Blueprint(
    "interactions",
    __name__,
    url_prefix="/api/v1/interactions",
    description="Interactions: calls, emails, meetings and notes with customers.",
)


@blp.route("")
class Interactions(MethodView):
    @blp.arguments(InteractionListArgs(), location="query")
    @blp.response(200, page_schema(InteractionSchema))
    def get(self, args):
        """List interactions (filters: contact_id, company_id, user_id, case_id, type; q: text)

        `q` searches outcome, notes and subject; sort by created_at or interaction_date.
        """
        return interactions.list_interactions(session=current_session(), args=args)

    @blp.arguments(InteractionSchema())
    @blp.response(201, InteractionSchema)
    def post(self, data):
        """Log an interaction; its user_id is the caller"""
        interaction = interactions.log_interaction(
            session=current_session(), actor=current_identity(), data=data, support=support_port()
        )
        return created(interaction, "interactions")


@blp.route("/<interaction_id>")
class InteractionById(MethodView):
    @blp.response(200, InteractionSchema)
    def get(self, interaction_id):
        """Read one interaction"""
        interaction = interactions.get_interaction(
            session=current_session(), interaction_id=interaction_id
        )
        return interaction, {"ETag": etag_of(interaction)}

    @blp.arguments(InteractionUpdateSchema())
    @blp.response(200, InteractionSchema)
    def patch(self, changes, interaction_id):
        """Correct an interaction (its author or a manager; If-Match honoured)"""
        interaction = interactions.update_interaction(
            session=current_session(),
            actor=current_identity(),
            interaction_id=interaction_id,
            changes=changes,
            support=support_port(),
            expected_version=if_match_version(),
        )
        return interaction, {"ETag": etag_of(interaction)}

    @blp.response(204)
    def delete(self, interaction_id):
        """Delete an interaction (its author or a manager)"""
        interactions.delete_interaction(
            session=current_session(),
            actor=current_identity(),
            interaction_id=interaction_id,
            expected_version=if_match_version(),
        )
