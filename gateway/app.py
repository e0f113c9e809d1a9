"""The gateway's application factory."""

from __future__ import annotations

import os

import requests
from flask import Flask, jsonify, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway.api import auth, users
from gateway.clients import SERVICE_TOKEN_TTL, Clients
from gateway.models import IdempotencyKey
from gateway.openapi import MergedSpec, register_docs
from gateway.proxy import Upstreams, owner_of, register_proxy, upstream_urls
from gateway.security import register_cors, register_security_headers
from gateway.sessions import TokenPolicy, local_feed
from gateway.throttle import LoginThrottle
from gateway.tokens import SigningKeys
from shared.config import Settings
from shared.db import Database
from shared.idempotency import register_idempotency
from shared.revocations import RevocationFeed
from shared.web import create_base_app

SERVICE = "gateway"


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    urls: dict[str, str] | None = None,
) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    database = database or Database(settings.database_url)
    keys = SigningKeys.from_env(production=settings.is_production)
    app = create_base_app(
        __name__,
        settings,
        database,
        title="CRM gateway",
        blueprints=(auth.blp, users.blp),
        serve_openapi=False,
        keys=keys,
        revocations=RevocationFeed(local_feed(database)),
    )
    app.config["READ_SCOPE"] = "users:read"
    app.config["PUBLIC_ENDPOINTS"] = {"auth.Login", "auth.Refresh", "auth.Token", "openapi_json"}
    app.extensions["token_policy"] = TokenPolicy(
        keys,
        access_ttl=settings.jwt_ttl_seconds,
        refresh_ttl=int(os.environ.get("JWT_REFRESH_TTL_SECONDS", 14 * 24 * 3600)),
    )
    app.extensions["clients"] = Clients.from_env(production=settings.is_production)
    app.extensions["service_token_ttl"] = SERVICE_TOKEN_TTL
    register_jwks(app, keys)
    # A browser's EventSource sends no header: the stream's one-time ticket stands in for
    # the token, and the notifications service checks it.
    app.config["PUBLIC_REQUESTS"] = [ticketed_stream]
    # Only the gateway's own endpoints: the services remember their own Idempotency-Keys, and
    # a proxied body is streamed through, never read here.
    register_idempotency(app, IdempotencyKey, skip_endpoints={"proxy"})
    hops = int(os.environ.get("TRUSTED_PROXY_HOPS", "0"))
    if hops:  # behind an ingress: the client is in X-Forwarded-For, not the peer address
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    register_rate_limits(app)
    upstreams = Upstreams.from_env(urls or upstream_urls())
    register_proxy(app, upstreams, upload_limit=settings.upload_max_bytes)
    api = app.extensions["api"]
    register_docs(
        app, MergedSpec(api.spec.to_dict(), upstreams.urls, requests.Session(), owner_of=owner_of)
    )
    app.extensions["login_throttle"] = LoginThrottle.from_env(database)
    register_cors(app)
    register_security_headers(app)
    return app


def ticketed_stream() -> bool:
    return (
        request.path == "/api/v1/notifications/stream"
        and "ticket" in request.args
        and "Authorization" not in request.headers
    )


def register_jwks(app: Flask, keys: SigningKeys) -> None:
    """The public keys tokens are signed with, by `kid` (RFC 7517), for every service."""

    @app.get("/.well-known/jwks.json")
    def jwks():
        response = jsonify(keys.jwks())
        response.headers["Cache-Control"] = "public, max-age=300"
        return response


def register_rate_limits(app: Flask) -> None:
    """Slow down password guessing; in-memory per process unless RATELIMIT_STORAGE_URI is set.

    Only the auth endpoints have limits, so flask-limiter's request hooks run for the auth
    blueprint alone: a proxied request does not pay for them (the limits themselves are
    checked by the decorated views).
    """
    hooks = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    before = [list(funcs.get(None, ())) for funcs in hooks]
    limiter = Limiter(
        get_remote_address,
        app=app,
        default_limits=[],
        storage_uri=os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
    )
    login = limiter.limit(os.environ.get("LOGIN_RATE_LIMIT", "30 per minute"))
    for endpoint in ("auth.Login", "auth.Refresh", "auth.Token"):
        app.view_functions[endpoint] = login(app.view_functions[endpoint])
    for funcs, had in zip(hooks, before, strict=True):
        added = [hook for hook in funcs.get(None, ()) if hook not in had]
        funcs[None] = [hook for hook in funcs.get(None, ()) if hook in had]
        funcs.setdefault(auth.blp.name, []).extend(added)
