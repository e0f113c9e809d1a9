"""What browsers need from the gateway: CORS for client apps, and security headers."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Callable, Mapping

from flask import Flask, Response, request
from flask_cors import CORS

from gateway.openapi import DOCS_PAGE

CORS_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"]
CORS_ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-ID",
]
CORS_EXPOSE_HEADERS = ["ETag", "Location", "X-Request-ID", "Retry-After", "Content-Disposition"]
CORS_MAX_AGE = 600

API_CSP = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def inline_script_hashes(page: str) -> list[str]:
    """CSP sources for the page's inline scripts, e.g. 'sha256-…'."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    ]


#: The API docs page loads Swagger UI's script and stylesheet from /api/docs/static, runs one
#: inline script, fetches the OpenAPI document, and shows data: images; nothing else.
DOCS_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' " + " ".join(inline_script_hashes(DOCS_PAGE)),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


def allowed_origins(environ: Mapping[str, str] = os.environ) -> list[str]:
    """CORS_ALLOWED_ORIGINS: comma-separated origins such as https://app.example.com."""
    origins = environ.get("CORS_ALLOWED_ORIGINS", "").split(",")
    return [origin.strip().rstrip("/") for origin in origins if origin.strip()]


def register_cors(app: Flask, environ: Mapping[str, str] = os.environ) -> None:
    """Let the configured browser origins call /api/v1; no CORS headers for anyone else.

    Each origin matches exactly, never as a pattern. Preflights are answered here (Flask's
    automatic OPTIONS response) and never forwarded. Bearer tokens, not cookies: no
    credentials.
    """
    origins = allowed_origins(environ)
    if not origins:
        return
    CORS(
        app,
        resources={r"/api/v1/.*": {}},
        origins=[re.compile(re.escape(origin) + r"\Z", re.IGNORECASE) for origin in origins],
        methods=CORS_METHODS,
        allow_headers=CORS_ALLOW_HEADERS,
        expose_headers=CORS_EXPOSE_HEADERS,
        max_age=CORS_MAX_AGE,
        supports_credentials=False,
        always_send=False,
        vary_header=False,
    )
    hooks = app.after_request_funcs[None]
    run_last(app, hooks.pop())  # flask-cors' own hook, just added

    def vary_on_origin(response: Response) -> Response:
        if request.path.startswith("/api/v1/"):
            response.vary.add("Origin")
        return response

    run_last(app, vary_on_origin)


def register_security_headers(app: Flask) -> None:
    """Headers on every response; one a handler or a service set on purpose is kept."""

    def add_security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        csp = DOCS_CSP if request.endpoint == "docs_page" else API_CSP
        response.headers.setdefault("Content-Security-Policy", csp)
        if request.path.startswith("/api/v1/auth/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    run_last(app, add_security_headers)


def run_last(app: Flask, hook: Callable[[Response], Response]) -> None:
    """Register an after_request hook that runs after all others (Flask runs newest first).

    So a response another hook replaces (a failed commit's 503, say) gets it too.
    """
    app.after_request_funcs.setdefault(None, []).insert(0, hook)
