"""/api/v1/tags"""

from flask.views import MethodView

from services.contacts.domain import tags
from services.contacts.schemas import TagListArgs, TagSchema, TagUpdateSchema
from shared.api import Blueprint, page_schema
from shared.web import created, current_identity, current_session, etag_of, if_match_version

blp = Blueprint(
    "tags",
    __name__,
    url_prefix="/api/v1/tags",
    description="Tags: labels for any CRM record; names are unique ignoring case.",
)


@blp.route("")
class Tags(MethodView):
    @blp.arguments(TagListArgs(), location="query")
    @blp.response(200, page_schema(TagSchema))
    def get(self, args):
        """List tags with their usage counts (q searches names; sort created_at, name)"""
        return tags.list_tags(session=current_session(), args=args)

    @blp.arguments(TagSchema())
    @blp.response(201, TagSchema)
    def post(self, data):
        """Create a tag (anyone); a name that differs only in case from another is a 409"""
        tag = tags.create_tag(session=current_session(), actor=current_identity(), data=data)
        return created(tag, "tags")


@blp.route("/<tag_id>")
class TagById(MethodView):
    @blp.response(200, TagSchema)
    def get(self, tag_id):
        """Read one tag and how many records carry it"""
        tag = tags.get_tag(session=current_session(), tag_id=tag_id)
        return tag, {"ETag": etag_of(tag)}

    @blp.arguments(TagUpdateSchema())
    @blp.response(200, TagSchema)
    def patch(self, changes, tag_id):
        """Rename a tag (managers; If-Match honoured)"""
        tag = tags.rename_tag(
            session=current_session(),
            actor=current_identity(),
            tag_id=tag_id,
            changes=changes,
            expected_version=if_match_version(),
        )
        return tag, {"ETag": etag_of(tag)}

    @blp.response(204)
    def delete(self, tag_id):
        """Delete a tag and take it off every record (managers)"""
        tags.delete_tag(
            session=current_session(),
            actor=current_identity(),
            tag_id=tag_id,
            expected_version=if_match_version(),
        )
