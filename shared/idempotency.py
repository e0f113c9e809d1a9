"""`Idempotency-Key` on POST: a repeat by the same caller returns the first result."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Set
from datetime import datetime

from flask import Flask, Response, g, request
from sqlalchemy import Integer, String, Text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.db import UTCDateTime, utcnow
from shared.errors import ValidationFailed, problem
from shared.web import _commit_failure, before_commit, current_session

REPLAYED_HEADERS = ("Content-Type", "ETag", "Location")


class IdempotencyMixin:
    """Columns of a service's `idempotency_keys` table."""

    caller: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    headers: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    if request.mimetype == "multipart/form-data":
        _digest_form(digest)
    else:
        digest.update(request.get_data())
    return digest.hexdigest()


def _digest_form(digest) -> None:
    """A multipart body by its fields and files' bytes, read from where werkzeug spooled them."""
    for name, value in sorted(request.form.items(multi=True)):
        digest.update(f"{name}={value}".encode() + b"\0")
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        digest.update(f"{name};{upload.filename}".encode() + b"\0")
        for chunk in iter(lambda: upload.stream.read(1024 * 1024), b""):  # noqa: B023
            digest.update(chunk)
        upload.stream.seek(0)


def _replay(row, fingerprint: str) -> Response:
    if row.fingerprint != fingerprint:
        return problem(
            422,
            "This Idempotency-Key was already used for a different request.",
            "idempotency-key-reused",
        )
    response = Response(row.body, status=row.status_code)
    for name, value in json.loads(row.headers).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def register_idempotency(app: Flask, model: type, skip_endpoints: Set[str] = frozenset()) -> None:
    """Remember each caller's POST by its key; `skip_endpoints` are left to someone else."""

    @app.before_request
    def replay_or_remember():
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key or "identity" not in g:
            return None
        if request.endpoint in skip_endpoints:
            return None
        if len(key) > 200:
            raise ValidationFailed({"Idempotency-Key": ["At most 200 characters."]})
        ident = {"caller": g.identity.user_id, "key": key}
        fingerprint = _fingerprint()
        stored = current_session().get(model, ident)
        if stored is not None:
            return _replay(stored, fingerprint)

        def save(session: Session, response: Response) -> None:
            headers = {h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers}
            session.add(
                model(
                    **ident,
                    fingerprint=fingerprint,
                    status_code=response.status_code,
                    body=response.get_data(as_text=True),
                    headers=json.dumps(headers),
                )
            )

        def on_commit_error(exc: Exception) -> Response:
            # A concurrent request with the same key committed first: answer with its result.
            if isinstance(exc, IntegrityError):
                with app.extensions["database"].sessions() as session:
                    winner = session.get(model, ident)
                if winner is not None:
                    return _replay(winner, fingerprint)
            return _commit_failure(exc)

        before_commit(save)
        g.on_commit_error = on_commit_error
        return None
