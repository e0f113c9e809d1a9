"""/api/v1/taggings"""

from flask import current_app
from flask.views import MethodView

from services.contacts.domain import taggings
from services.contacts.schemas import TaggingListArgs, TaggingSchema
from shared.api import Blueprint, page_schema
from shared.web import API_PREFIX, current_identity, current_session


def records_port():
    """The client of the owning services this app was built with (record checks)."""
    return current_app.extensions["records"]


blp = Blueprint(
    "taggings",
    __name__,
    url_prefix="/api/v1/taggings",
    description="Taggings: a tag on a company, contact, lead, opportunity, case, invoice, ….",
)


@blp.route("")
class Taggings(MethodView):
    @blp.arguments(TaggingListArgs(), location="query")
    @blp.response(200, page_schema(TaggingSchema))
    def get(self, args):
        """List taggings: a record's tags (record_type, record_id) or a tag's records (tag_id)"""
        return taggings.list_taggings(session=current_session(), args=args)

    @blp.arguments(TaggingSchema())
    @blp.response(201, TaggingSchema)
    @blp.alt_response(200, schema=TaggingSchema, description="Already tagged: the tagging")
    def post(self, data):
        """Tag a record that exists in its owning service; tagging twice changes nothing"""
        tagging, new = taggings.tag_record(
            session=current_session(), actor=current_identity(), data=data, records=records_port()
        )
        return tagging, 201 if new else 200, {"Location": f"{API_PREFIX}/taggings/{tagging.id}"}


@blp.route("/<tagging_id>")
class TaggingById(MethodView):
    @blp.response(200, TaggingSchema)
    def get(self, tagging_id):
        """Read one tagging"""
        return taggings.get_tagging(session=current_session(), tagging_id=tagging_id)

    @blp.response(204)
    def delete(self, tagging_id):
        """Take the tag off the record"""
        taggings.untag_record(
            session=current_session(), actor=current_identity(), tagging_id=tagging_id
        )
