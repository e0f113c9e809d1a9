"""Forwarding /api/v1/... to the service that owns the path: pooled, with timeouts."""

from __future__ import annotations

import os

import requests
from flask import Flask, Response, g, request, stream_with_context
from requests.adapters import HTTPAdapter

from shared.errors import problem

#: Path after /api/v1 → the service that owns it, by its first two segments or its first
#: (reports are owned by the service whose data they summarise).
ROUTES = {
    "companies": "contacts",
    "contacts": "contacts",
    "interactions": "contacts",
    "campaigns": "sales",
    "leads": "sales",
    "opportunities": "sales",
    "products": "sales",
    "reports/pipeline": "sales",
    "reports/campaigns": "sales",
}
DEFAULT_URLS = {"contacts": "http://127.0.0.1:8001", "sales": "http://127.0.0.1:8002"}
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "content-encoding",
}


def upstream_urls(environ=os.environ) -> dict[str, str]:
    return {
        name: environ.get(f"{name.upper()}_URL", url).rstrip("/")
        for name, url in DEFAULT_URLS.items()
    }


class Upstreams:
    """One pooled HTTP session to all services, with connect and read timeouts."""

    def __init__(self, urls: dict[str, str], connect_timeout: float, read_timeout: float) -> None:
        self.urls = urls
        self.timeout = (connect_timeout, read_timeout)
        self.http = requests.Session()
        adapter = HTTPAdapter(pool_connections=len(urls) or 1, pool_maxsize=64, max_retries=0)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    def forward(self, service: str) -> Response:
        url = self.urls[service] + request.path
        if request.query_string:
            url += "?" + request.query_string.decode()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Request-ID"] = g.request_id
        headers["X-Forwarded-For"] = ", ".join(
            filter(None, [request.headers.get("X-Forwarded-For"), request.remote_addr])
        )
        try:
            upstream = self.http.request(
                request.method,
                url,
                headers=headers,
                data=request.get_data(),
                stream=True,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.exceptions.ConnectTimeout:
            return problem(
                504,
                f"The {service} service did not accept the connection in time.",
                "upstream-timeout",
            )
        except requests.exceptions.ReadTimeout:
            return problem(
                504, f"The {service} service did not answer in time.", "upstream-timeout"
            )
        except requests.exceptions.ConnectionError:
            return problem(
                503,
                f"The {service} service is unavailable; try again shortly.",
                "upstream-unavailable",
            )
        response_headers = [
            (k, v)
            for k, v in upstream.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "x-request-id"
        ]
        response = Response(
            stream_with_context(upstream.iter_content(chunk_size=None)),
            status=upstream.status_code,
            headers=response_headers,
        )
        response.call_on_close(upstream.close)
        return response


def owner_of(path: str) -> str | None:
    """The service that owns /api/v1/<path>, or None."""
    segments = path.split("/")
    return ROUTES.get("/".join(segments[:2])) or ROUTES.get(segments[0])


def register_proxy(app: Flask, upstreams: Upstreams) -> None:
    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]

    @app.route("/api/v1/<path:path>", methods=methods, endpoint="proxy")
    def proxy(path: str):
        service = owner_of(path)
        if service is None or service not in upstreams.urls:
            return problem(404, f"No resource at /api/v1/{path}.")
        return upstreams.forward(service)
