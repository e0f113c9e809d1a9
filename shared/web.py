"""What every Flask process shares: request ids, auth, a session per request, health."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable

import structlog
from flask import Flask, Response, current_app, g, jsonify, request
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from shared.api import Api, unstorable
from shared.auth import Identity, KeySet, bearer_token, verify_token
from shared.config import Settings
from shared.credentials import Credentials, gateway_credentials
from shared.db import Database
from shared.errors import (
    STORAGE_RETRY_AFTER,
    DomainError,
    Forbidden,
    PreconditionFailed,
    Unauthorized,
    handle_domain_error,
    problem,
    register_error_handlers,
)
from shared.health import run_checks
from shared.ids import new_id
from shared.jsonio import ExactJSONProvider
from shared.keys import trusted_keys
from shared.logs import configure_logging, get_logger, request_id_var
from shared.metrics import register_http_metrics, track_pool
from shared.revocations import RevocationFeed, gateway_feed
from shared.tracing import configure_tracing

API_PREFIX = "/api/v1"
PUBLIC_PATHS = {f"{API_PREFIX}/openapi.json"}
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
log = get_logger("http")


def create_base_app(
    name: str,
    settings: Settings,
    database: Database | None = None,
    *,
    title: str,
    blueprints: Iterable = (),
    authenticate: bool = True,
    serve_openapi: bool = True,
    keys: KeySet | None = None,
    credentials: Credentials | None = None,
    revocations: RevocationFeed | None = None,
    service_scopes: dict[str, str] | None = None,
) -> Flask:
    """The factory every service's `create_app` calls: a short list of register_* steps.

    `keys` verify tokens (default: the gateway's public keys), `credentials` give this
    service's own token for calls to others, `revocations` is the deny list, and
    `service_scopes` names the scope a service token needs per endpoint beyond reading.
    """
    configure_logging(settings.service, settings.log_level)
    app = Flask(name)
    configure_tracing(settings.service, app, database.engine if database is not None else None)
    app.json = ExactJSONProvider(app)
    app.config.update(
        API_TITLE=title,
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX if serve_openapi else None,
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=int(settings.extra.get("CRM_MAX_BODY_BYTES", 1_000_000)),
    )
    app.extensions["settings"] = settings
    app.extensions["database"] = database
    app.config["BODY_LIMITS"] = {}
    register_http_metrics(app, settings.service)
    register_request_ids(app)
    register_body_limits(app)
    register_path_guard(app)
    if credentials is None and settings.service != "gateway":
        credentials = gateway_credentials(settings)
    app.extensions["credentials"] = credentials
    if authenticate:
        if revocations is None and credentials is not None:
            revocations = RevocationFeed(gateway_feed(settings.users_url, credentials))
        app.extensions["revocations"] = revocations
        app.config["READ_SCOPE"] = f"{settings.service}:read"
        app.config["SERVICE_SCOPES"] = service_scopes or {}
        register_authentication(app, keys or trusted_keys(settings))
    if database is not None:
        track_pool(settings.service, database.engine)
        register_session(app, database)
        from shared.deadline import register_deadlines  # it builds on this module

        register_deadlines(app)
    api = Api(
        app,
        spec_kwargs={
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
            "security": [{"bearer": []}],
        },
    )
    register_error_handlers(app)
    app.register_error_handler(
        StaleDataError,
        lambda _e: problem(
            412,
            "The record was changed by someone else; reload it and try again.",
            "precondition-failed",
        ),
    )
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    checks = {"database": lambda: database.ping()} if database is not None else {}
    register_health(app, checks)
    app.extensions["api"] = api
    return app


def register_request_ids(app: Flask) -> None:
    @app.before_request
    def take_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else new_id()
        g.started = time.perf_counter()
        request_id_var.set(g.request_id)
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.after_request
    def echo_request_id(response: Response):
        response.headers["X-Request-ID"] = g.get("request_id") or new_id()
        if request.path not in {"/healthz", "/readyz", "/metrics"}:
            ms = round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1)
            identity = g.get("identity")
            log.info(
                "request",
                route=request.url_rule.rule if request.url_rule is not None else None,
                method=request.method,
                path=request.path,
                status=response.status_code,
                ms=ms,
                duration_ms=ms,
                request_id=g.get("request_id"),
                user_id=identity.user_id if identity is not None else None,
                address=request.remote_addr,
            )
        return response

    @app.teardown_request
    def forget_request_id(_exc):
        structlog.contextvars.unbind_contextvars("request_id")
        request_id_var.set(None)


def register_body_limits(app: Flask) -> None:
    """Endpoints that take more than MAX_CONTENT_LENGTH (uploads) name their own limit.

    `app.config["BODY_LIMITS"]` maps an endpoint to its byte limit. A body over it is a 413
    before it is read when Content-Length says so, and as soon as it passes the limit otherwise.
    """

    @app.before_request
    def apply_body_limit():
        limit = app.config["BODY_LIMITS"].get(request.endpoint)
        if limit is not None:
            request.max_content_length = limit


def register_path_guard(app: Flask) -> None:
    """A path no record can have (a NUL, which PostgreSQL refuses) names nothing: 404."""

    @app.before_request
    def refuse_unstorable_path():
        if unstorable(request.path):
            return problem(404, "No resource at this path.")
        return None


def register_authentication(app: Flask, keys: KeySet) -> None:
    """Every /api/v1 path needs a valid, unrevoked token, gateway or not.

    A service token reads (`<service>:read`) and does only what the endpoint's scope in
    `SERVICE_SCOPES` allows; its domain rules never treat it as a user, let alone an admin.
    """
    app.extensions["keys"] = keys

    @app.before_request
    def authenticate():
        if not request.path.startswith(API_PREFIX) or request.path in PUBLIC_PATHS:
            return None
        if request.method == "OPTIONS":
            return None
        if request.endpoint in current_app.config.get("PUBLIC_ENDPOINTS", ()):
            return None
        if any(allowed() for allowed in current_app.config.get("PUBLIC_REQUESTS", ())):
            return None
        g.identity = bearer_identity()
        return None


def bearer_identity() -> Identity:
    """The caller of this request by its bearer token: verified, not revoked, in scope."""
    token = bearer_token(request.headers.get("Authorization"))
    identity = verify_token(token, current_app.extensions["keys"])
    ensure_not_revoked(identity)
    if identity.is_service:
        check_scope(identity)
    return identity


def ensure_not_revoked(identity: Identity) -> None:
    revocations = current_app.extensions.get("revocations")
    if revocations is not None and revocations.refuses(identity):
        raise Unauthorized("The token was revoked (logged out, disabled or role changed).")


def check_scope(identity: Identity) -> None:
    needed = current_app.config["SERVICE_SCOPES"].get(request.endpoint)
    if needed is None and request.method in {"GET", "HEAD"}:
        needed = current_app.config["READ_SCOPE"]
    if needed is None:
        raise Forbidden("A service token may not do this; it is for users.")
    if needed not in identity.scopes:
        raise Forbidden(f"The service token lacks the scope '{needed}'.")


def current_identity() -> Identity:
    return g.identity


def register_session(app: Flask, database: Database) -> None:
    """One session per request: committed after a successful response, else rolled back."""

    @app.after_request
    def finish(response: Response):
        session: Session | None = g.pop("session", None)
        if session is None:
            return response
        try:
            if response.status_code < 400:
                for hook in g.pop("before_commit", []):
                    hook(session, response)
                session.commit()
            else:
                session.rollback()
        except Exception as exc:
            session.rollback()
            replacement = g.pop("on_commit_error", None)
            return replacement(exc) if replacement else _commit_failure(exc)
        finally:
            session.close()
        return response

    @app.teardown_request
    def close(_exc):
        session = g.pop("session", None)
        if session is not None:
            session.rollback()
            session.close()


def _commit_failure(exc: Exception) -> Response:
    if isinstance(exc, DomainError):
        return handle_domain_error(exc)
    if isinstance(exc, StaleDataError):
        return problem(
            412,
            "The record was changed by someone else; reload it and try again.",
            "precondition-failed",
        )
    log.exception("commit_failed")
    response = problem(503, "The change could not be saved; try again.", "storage-unavailable")
    response.headers["Retry-After"] = str(STORAGE_RETRY_AFTER)
    return response


def current_session() -> Session:
    if "session" not in g:
        g.session = current_app.extensions["database"].sessions()
    return g.session


def before_commit(hook: Callable[[Session, Response], None]) -> None:
    g.setdefault("before_commit", []).append(hook)


def after_failed_commit(hook: Callable[[Exception], None]) -> None:
    """Run `hook` if this request's commit fails, e.g. to undo a call to another service."""
    replacement = g.get("on_commit_error")

    def on_commit_error(exc: Exception) -> Response:
        hook(exc)
        return replacement(exc) if replacement else _commit_failure(exc)

    g.on_commit_error = on_commit_error


def etag_of(record) -> str:
    return f'"{record.version}"'


def if_match_version() -> int | None:
    """The version an If-Match header expects, or None when the caller did not ask."""
    header = request.headers.get("If-Match")
    if not header or header.strip() == "*":
        return None
    value = header.split(",")[0].strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise PreconditionFailed("If-Match does not match the current version of the record.")
    return int(value)


def register_health(app: Flask, checks: dict[str, Callable[[], bool]]) -> None:
    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():
        ok, results = run_checks(checks)
        return jsonify(status="ok" if ok else "unavailable", checks=results), 200 if ok else 503


def user_directory():
    return current_app.extensions["users"]


def created(record, path: str) -> tuple:
    """A 201 body with the headers a client needs to find and edit what it made."""
    return record, {"ETag": etag_of(record), "Location": f"{API_PREFIX}/{path}/{record.id}"}
