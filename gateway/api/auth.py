"""/api/v1/auth"""

from flask import current_app, request
from flask.views import MethodView

from gateway import users
from gateway.schemas import LoginSchema, TokenSchema, UserSchema
from shared.api import Blueprint
from shared.errors import Unauthorized
from shared.web import current_identity, current_session

blp = Blueprint(
    "auth",
    __name__,
    url_prefix="/api/v1/auth",
    description="Log in for a bearer token; see who you are.",
)


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, TokenSchema)
    @blp.alt_response(
        429, description="Too many attempts: for this account, or from this address (Retry-After)"
    )
    @blp.doc(security=[])
    def post(self, credentials):
        """Exchange email and password for a bearer token"""
        settings = current_app.extensions["settings"]
        throttle = current_app.extensions["login_throttle"]
        throttle.check(credentials["email"])
        try:
            token = users.log_in(
                session=current_session(),
                secret=settings.jwt_secret,
                ttl=settings.jwt_ttl_seconds,
                **credentials,
            )
        except Unauthorized:
            throttle.failed(credentials["email"], request.remote_addr)
            raise
        throttle.succeeded(credentials["email"])
        return token


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    def get(self):
        """The user the token belongs to"""
        return users.get_user(session=current_session(), user_id=current_identity().user_id)
