"""Domain errors and their one envelope: application/problem+json (RFC 9457)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Flask, Response, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from shared import jsonio
from shared.logs import get_logger

PROBLEM_JSON = "application/problem+json"
#: Seconds a client is asked to wait when the database cannot be reached (a restart, a failover).
STORAGE_RETRY_AFTER = 2
WEBARGS_LOCATIONS = {
    "json",
    "query",
    "form",
    "files",
    "multipart",
    "headers",
    "cookies",
    "view_args",
}
log = get_logger(__name__)


class DomainError(Exception):
    """A failure the caller can act on; service functions raise these, never HTTP errors."""

    status = 400
    slug = "bad-request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status, slug = 404, "not-found"


class Conflict(DomainError):
    status, slug = 409, "conflict"


class Forbidden(DomainError):
    status, slug = 403, "forbidden"


class Unauthorized(DomainError):
    status, slug = 401, "unauthorized"


class PreconditionFailed(DomainError):
    status, slug = 412, "precondition-failed"


class TooManyRequests(DomainError):
    """Refused for a while: `retry_after` seconds, sent as the Retry-After header."""

    status, slug = 429, "too-many-requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ValidationFailed(DomainError):
    """A rule that needs other rows (a dangling reference, say): 422 with per-field errors."""

    status, slug = 422, "validation-error"

    def __init__(self, errors: dict[str, list[str]], detail: str = "Validation failed") -> None:
        super().__init__(detail, errors=errors)


class PayloadTooLarge(DomainError):
    """A body or file over its size limit."""

    status, slug = 413, "payload-too-large"


class UpstreamUnavailable(DomainError):
    """Another service could not answer in time."""

    status, slug = 503, "upstream-unavailable"


class UpstreamFailed(DomainError):
    """Another service answered, but with an error of its own."""

    status, slug = 502, "upstream-failed"


def problem(status: int, detail: str | None = None, slug: str | None = None, **extra: Any):
    """Build a problem+json response."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = {
        "type": f"/problems/{slug or phrase.lower().replace(' ', '-')}",
        "title": phrase,
        "status": status,
        "detail": detail or phrase,
        "instance": request.path if request else None,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(jsonio.dumps(body), status=status, mimetype=PROBLEM_JSON)


def flatten_messages(messages: Any) -> dict[str, list[str]]:
    """webargs nests errors by location ({"json": {"name": [...]}}); callers want field names."""
    errors: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            errors.setdefault(prefix or "_schema", []).extend(value)
        else:
            errors.setdefault(prefix or "_schema", []).append(str(value))

    if isinstance(messages, dict):
        for location, inner in messages.items():
            walk("" if location in WEBARGS_LOCATIONS else str(location), inner)
    else:
        walk("", messages)
    return errors


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    if status == 422 and "messages" in data:
        return problem(
            422, "Validation failed", "validation-error", errors=flatten_messages(data["messages"])
        )
    if status == 400 and "messages" in data:
        return problem(400, "Malformed request: the body is not valid JSON", "malformed-json")
    detail = error.description if isinstance(error.description, str) else None
    return problem(status, detail)


def handle_domain_error(error: DomainError):
    response = problem(error.status, error.detail, error.slug, **error.extra)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="crm"'
    if isinstance(error, TooManyRequests):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def storage_unavailable() -> Response:
    """503 with Retry-After: the database is unreachable for now; the request changed nothing."""
    response = problem(
        503, "The database is unavailable for now; try again.", "storage-unavailable"
    )
    response.headers["Retry-After"] = str(STORAGE_RETRY_AFTER)
    return response


def handle_database_error(error: DBAPIError):
    """A lost or refused database connection is a 503; any other database error is a bug."""
    if isinstance(error, OperationalError) or error.connection_invalidated:
        log.warning("storage_unavailable", path=request.path, error=str(error.orig))
        return storage_unavailable()
    return handle_unexpected(error)


def handle_unexpected(error: Exception):
    log.exception("unhandled_error", path=request.path)
    return problem(500, "An unexpected error occurred; it has been logged.", "internal-error")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
