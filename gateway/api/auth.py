"""/api/v1/auth: logging in, refreshing, logging out, service tokens, revocations."""

from datetime import UTC, datetime

from flask import current_app, request
from flask.views import MethodView

from gateway import sessions, users
from gateway.schemas import (
    ClientCredentialsSchema,
    LoginSchema,
    RefreshSchema,
    RevocationArgs,
    RevocationListSchema,
    ServiceTokenSchema,
    TokenSchema,
    UserSchema,
)
from gateway.tokens import service_token
from shared.api import Blueprint
from shared.auth import require_scope, require_user
from shared.db import utcnow
from shared.errors import Unauthorized
from shared.web import current_identity, current_session

blp = Blueprint(
    "auth",
    __name__,
    url_prefix="/api/v1/auth",
    description="Log in for a bearer token, refresh it, log out; service tokens.",
)


def _policy() -> sessions.TokenPolicy:
    return current_app.extensions["token_policy"]


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, TokenSchema)
    @blp.alt_response(
        429, description="Too many attempts: for this account, or from this address (Retry-After)"
    )
    @blp.doc(security=[])
    def post(self, credentials):
        """Exchange email and password for an access token and a refresh token"""
        throttle = current_app.extensions["login_throttle"]
        throttle.check(credentials["email"])
        try:
            tokens = users.log_in(session=current_session(), policy=_policy(), **credentials)
        except Unauthorized:
            throttle.failed(credentials["email"], request.remote_addr)
            raise
        throttle.succeeded(credentials["email"], current_session())
        return tokens


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.arguments(RefreshSchema)
    @blp.response(200, TokenSchema)
    @blp.doc(security=[])
    def post(self, data):
        """Exchange a refresh token (used once) for a new access token and refresh token"""
        return sessions.refresh(
            database=current_app.extensions["database"],
            session=current_session(),
            token=data["refresh_token"],
            policy=_policy(),
        )


@blp.route("/logout")
class Logout(MethodView):
    @blp.response(204)
    def post(self):
        """End this login session: its tokens stop working at every service within seconds"""
        actor = current_identity()
        require_user(actor)
        if actor.session_id:
            sessions.end_session(
                session=current_session(),
                user_id=actor.user_id,
                session_id=actor.session_id,
                reason="logged_out",
                access_ttl=_policy().access_ttl,
            )


@blp.route("/token")
class Token(MethodView):
    @blp.arguments(ClientCredentialsSchema)
    @blp.response(200, ServiceTokenSchema)
    @blp.doc(security=[])
    def post(self, data):
        """A service's own scoped token (client-credentials grant with its client secret)"""
        clients = current_app.extensions["clients"]
        scopes = clients.authenticate(data["client_id"], data["client_secret"])
        ttl = current_app.extensions["service_token_ttl"]
        return {
            "access_token": service_token(_policy().keys, data["client_id"], scopes, ttl),
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": " ".join(scopes),
        }


@blp.route("/revocations")
class Revocations(MethodView):
    @blp.arguments(RevocationArgs, location="query")
    @blp.response(200, RevocationListSchema)
    def get(self, args):
        """Live revocations, for the services' deny lists (service tokens with users:read)"""
        require_scope(current_identity(), "users:read")
        since = args.get("since")
        rows = sessions.live_revocations(
            session=current_session(),
            since=None if since is None else datetime.fromtimestamp(since, UTC),
        )
        return {"revocations": [sessions.revoked(row) for row in rows], "now": utcnow().timestamp()}


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    def get(self):
        """The user the token belongs to"""
        require_user(current_identity())
        return users.get_user(session=current_session(), user_id=current_identity().user_id)
