"""/api/v1/users"""

from flask import current_app
from flask.views import MethodView

from gateway import users
from gateway.schemas import UserListArgs, UserSchema, UserUpdateSchema
from shared.api import Blueprint, page_schema
from shared.web import created, current_identity, current_session, etag_of, if_match_version

blp = Blueprint(
    "users",
    __name__,
    url_prefix="/api/v1/users",
    description="The people who use the CRM and their roles.",
)


@blp.route("")
class Users(MethodView):
    @blp.arguments(UserListArgs, location="query")
    @blp.response(200, page_schema(UserSchema))
    def get(self, args):
        """List users (everyone may, to assign records)"""
        return users.list_users(session=current_session(), args=args)

    @blp.arguments(UserSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Create a user (admin only)"""
        user = users.create_user(session=current_session(), actor=current_identity(), data=data)
        return created(user, "users")


@blp.route("/<user_id>")
class UserById(MethodView):
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """Read one user"""
        user = users.get_user(session=current_session(), user_id=user_id)
        return user, {"ETag": etag_of(user)}

    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, changes, user_id):
        """Change a user (admin; anyone may change their own name and password)"""
        user = users.update_user(
            session=current_session(),
            actor=current_identity(),
            user_id=user_id,
            changes=changes,
            expected_version=if_match_version(),
            access_ttl=current_app.extensions["token_policy"].access_ttl,
        )
        return user, {"ETag": etag_of(user)}
