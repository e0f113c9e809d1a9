"""The gateway's application factory."""

from __future__ import annotations

import os

from flask import Flask, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway.api import auth, users
from gateway.models import IdempotencyKey
from gateway.openapi import MergedSpec, register_docs
from gateway.proxy import Upstreams, owner_of, register_proxy, upstream_urls
from gateway.users import ensure_still_valid
from shared.config import Settings
from shared.db import Database
from shared.idempotency import register_idempotency
from shared.web import create_base_app, current_session

SERVICE = "gateway"


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    urls: dict[str, str] | None = None,
) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    database = database or Database(settings.database_url)
    app = create_base_app(
        __name__,
        settings,
        database,
        title="CRM gateway",
        blueprints=(auth.blp, users.blp),
        serve_openapi=False,
    )
    app.config["PUBLIC_ENDPOINTS"] = {"auth.Login", "openapi_json"}
    # Only the gateway's own endpoints: the services remember their own Idempotency-Keys, and
    # a proxied body is streamed through, never read here.
    register_idempotency(app, IdempotencyKey, skip_endpoints={"proxy"})
    hops = int(os.environ.get("TRUSTED_PROXY_HOPS", "0"))
    if hops:  # behind an ingress: the client is in X-Forwarded-For, not the peer address
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    register_rate_limits(app)
    register_account_checks(app)
    upstreams = Upstreams.from_env(urls or upstream_urls())
    register_proxy(app, upstreams, upload_limit=settings.upload_max_bytes)
    api = app.extensions["api"]
    register_docs(
        app, MergedSpec(api.spec.to_dict(), upstreams.urls, upstreams.http, owner_of=owner_of)
    )
    return app


def register_account_checks(app: Flask) -> None:
    """At the gateway a token stops working as soon as its user is disabled or changes role."""

    @app.before_request
    def account_still_valid():
        identity = g.get("identity")
        if identity is not None:
            ensure_still_valid(session=current_session(), identity=identity)


def register_rate_limits(app: Flask) -> None:
    """Slow down password guessing; in-memory per process unless RATELIMIT_STORAGE_URI is set."""
    limiter = Limiter(
        get_remote_address,
        app=app,
        default_limits=[],
        storage_uri=os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
    )
    login = limiter.limit(os.environ.get("LOGIN_RATE_LIMIT", "30 per minute"))
    app.view_functions["auth.Login"] = login(app.view_functions["auth.Login"])
