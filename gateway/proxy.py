"""Forwarding /api/v1/... to the service that owns the path: pooled, with timeouts and bulkheads.

Neither direction is buffered whole. A request body is passed on as the service reads it
(an upload of 25 MB costs the gateway a few buffers, not 25 MB), and a response chunk by chunk
as it arrives, so a Server-Sent Events stream (text/event-stream) reaches the client frame by
frame.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from urllib.parse import quote, unquote, urlsplit

import requests
from flask import Flask, Response, g, request, stream_with_context
from opentelemetry import propagate
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError
from urllib3.util.retry import Retry

from gateway.bulkhead import Bulkhead
from shared import lifecycle, metrics
from shared.errors import problem
from shared.logs import get_logger

#: Path after /api/v1 → the service that owns it, by its first two segments or its first
#: (reports are owned by the service whose data they summarise).
ROUTES = {
    "companies": "contacts",
    "contacts": "contacts",
    "interactions": "contacts",
    "tags": "contacts",
    "taggings": "contacts",
    "attachments": "contacts",
    "campaigns": "sales",
    "leads": "sales",
    "opportunities": "sales",
    "products": "sales",
    "reports/pipeline": "sales",
    "reports/campaigns": "sales",
    "cases": "support",
    "reports/cases": "support",
    "notifications": "notifications",
    "invoices": "billing",
    "reports/receivables": "billing",
}
DEFAULT_URLS = {
    "contacts": "http://127.0.0.1:8001",
    "sales": "http://127.0.0.1:8002",
    "support": "http://127.0.0.1:8003",
    "notifications": "http://127.0.0.1:8005",
    "billing": "http://127.0.0.1:8004",
}
#: Paths whose POST bodies may exceed the gateway's MAX_CONTENT_LENGTH: uploads.
UPLOADS = {"attachments"}
#: Long-lived event streams: their own connection pool and read timeout (the longest a stream
#: may stay silent; services send a heartbeat well within it).
STREAMS = {"notifications/stream"}
log = get_logger("gateway.proxy")
EVENT_STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
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
#: The client's trace context: the gateway sends its own span's instead.
TRACE_CONTEXT = {"traceparent", "tracestate"}


def upstream_urls(environ=os.environ) -> dict[str, str]:
    return {
        name: environ.get(f"{name.upper()}_URL", url).rstrip("/")
        for name, url in DEFAULT_URLS.items()
    }


class StaleConnectionRetry(Retry):
    """Once more, on a fresh connection, when an idempotent request found its pooled one closed.

    A service closes a keep-alive connection after it has been idle for a while (gunicorn's
    `keepalive`); a request that picks that connection from the pool just as it closes fails
    without an answer. GET, HEAD, PUT, DELETE and OPTIONS are retried once; a timeout never
    is (the service may still be working), nor is a POST or PATCH, nor any request with a body
    (those go through `Upstreams.sending`, which never retries: the body is already streamed).
    """

    def __init__(self, **kwargs) -> None:
        defaults = {"total": 1, "connect": 1, "read": 1, "status": 0, "other": 0}
        defaults.update(raise_on_status=False, respect_retry_after_header=False)
        super().__init__(**{**defaults, **kwargs})

    def increment(self, method=None, url=None, response=None, error=None, **kwargs):
        if isinstance(error, ReadTimeoutError):
            raise error  # requests makes it a ReadTimeout: a 504
        if isinstance(error, ConnectTimeoutError):  # also "refused": a 503 or 504 at once
            return Retry.increment(self.new(total=0), method, url, response, error, **kwargs)
        return super().increment(method, url, response, error, **kwargs)


def _session(pools: int, size: int, *, retry: bool = True) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(
        pool_connections=pools,
        pool_maxsize=size,
        max_retries=StaleConnectionRetry() if retry else Retry(0, read=False),
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class RequestBody:
    """The client's body, read by the HTTP client as it sends it: never whole in memory.

    Its length is the client's Content-Length, so the service sees the same header.
    """

    def __init__(self, stream, length: int) -> None:
        self.stream = stream
        self.length = length

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)


def request_body() -> RequestBody | Iterator[bytes] | None:
    """The body to pass on: sized, chunked (Transfer-Encoding: chunked), or none.

    Reading it is bounded by `request.max_content_length`: a declared length over the limit is
    a 413 before anything is read, a chunked body one as soon as it passes the limit.
    """
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        stream = request.stream
        return iter(lambda: stream.read(64 * 1024), b"")
    length = request.content_length
    if not length:
        return None
    return RequestBody(request.stream, length)


class Upstreams:
    """Pooled HTTP sessions to all services, with timeouts and a bulkhead per service.

    Requests with a body get a session that never retries: a body already partly sent cannot
    be sent again. Event streams get a session of their own, so that open streams never take
    the pooled connections that ordinary requests need, and a pool big enough to keep one per
    stream. They are not counted in the bulkheads either: an open stream is mostly idle.

    Read timeouts: `read_timeout`, or the service's own in `read_timeouts`; at least
    `report_read_timeout` for paths under reports/; `stream_read_timeout` between two chunks
    of an event stream. Each service takes `max_concurrency` requests at a time (or its own
    in `concurrency`); a request that finds its service full waits up to `queue_timeout`
    seconds for a slot, then is a 503 without being forwarded.
    """

    def __init__(
        self,
        urls: dict[str, str],
        connect_timeout: float = 1.0,
        read_timeout: float = 10.0,
        stream_read_timeout: float = 60.0,
        stream_pool_size: int = 1000,
        *,
        report_read_timeout: float = 30.0,
        read_timeouts: dict[str, float] | None = None,
        max_concurrency: int = 100,
        concurrency: dict[str, int] | None = None,
        queue_timeout: float = 1.0,
    ) -> None:
        self.urls = urls
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.report_read_timeout = report_read_timeout
        self.read_timeouts = read_timeouts or {}
        self.stream_timeout = (connect_timeout, stream_read_timeout)
        limits = {name: (concurrency or {}).get(name, max_concurrency) for name in urls}
        self.bulkheads = {name: Bulkhead(limit, queue_timeout) for name, limit in limits.items()}
        # A pooled connection for every request a bulkhead lets through at once.
        pool_size = max([64, *limits.values()])
        self.http = _session(len(urls) or 1, pool_size)
        self.sending = _session(len(urls) or 1, pool_size, retry=False)
        self.streams = _session(len(urls) or 1, stream_pool_size)

    @classmethod
    def from_env(cls, urls: dict[str, str], environ=os.environ) -> Upstreams:
        """Timeouts and limits from UPSTREAM_* variables; see docs/ops.md."""

        def per_service(prefix: str, kind):
            return {
                name: kind(environ[f"{prefix}_{name.upper()}"])
                for name in urls
                if environ.get(f"{prefix}_{name.upper()}")
            }

        return cls(
            urls,
            connect_timeout=float(environ.get("UPSTREAM_CONNECT_TIMEOUT") or 1),
            read_timeout=float(environ.get("UPSTREAM_READ_TIMEOUT") or 10),
            stream_read_timeout=float(environ.get("UPSTREAM_STREAM_READ_TIMEOUT") or 60),
            report_read_timeout=float(environ.get("UPSTREAM_REPORT_READ_TIMEOUT") or 30),
            read_timeouts=per_service("UPSTREAM_READ_TIMEOUT", float),
            max_concurrency=int(environ.get("UPSTREAM_MAX_CONCURRENCY") or 100),
            concurrency=per_service("UPSTREAM_MAX_CONCURRENCY", int),
            queue_timeout=float(environ.get("UPSTREAM_QUEUE_TIMEOUT") or 1),
        )

    def timeout(self, service: str, path: str) -> tuple[float, float]:
        """(connect, read) seconds for a request to /api/v1/<path> at `service`."""
        if path in STREAMS:
            return self.stream_timeout
        read = self.read_timeouts.get(service, self.read_timeout)
        if path.split("/", 1)[0] == "reports":
            read = max(read, self.report_read_timeout)
        return (self.connect_timeout, read)

    def forward(self, service: str, path: str) -> Response:
        """The service's answer, streamed; its bulkhead slot is held until that is closed."""
        streaming = path in STREAMS
        slot = None if streaming else self.bulkheads[service].enter()
        if slot is None and not streaming:
            log.warning("upstream busy", service=service)
            metrics.BULKHEAD_REJECTIONS.labels(service).inc()
            response = problem(
                503, f"The {service} service is busy; try again shortly.", "upstream-busy"
            )
            response.headers["Retry-After"] = "1"
            return response
        answered = False
        started = time.perf_counter()
        try:
            upstream = self.send(service, path, streaming)
            metrics.UPSTREAM_DURATION.labels(service).observe(time.perf_counter() - started)
            response = _relayed(upstream, streaming)
            answered = True
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            metrics.UPSTREAM_ERRORS.labels(service, metrics.upstream_error_kind(exc)).inc()
            return unanswered(service, exc)
        finally:
            if slot is not None and not answered:
                slot.release()
        if slot is not None:
            response.call_on_close(slot.release)
        if streaming and response.mimetype == "text/event-stream":
            response.call_on_close(metrics.stream_closer("gateway"))
        return response

    def send(self, service: str, path: str, streaming: bool) -> requests.Response:
        url = self.urls[service] + request_target()
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() not in TRACE_CONTEXT
        }
        propagate.inject(headers)
        headers["X-Request-ID"] = g.request_id
        headers["X-Forwarded-For"] = ", ".join(
            filter(None, [request.headers.get("X-Forwarded-For"), request.remote_addr])
        )
        body = request_body()
        http = self.streams if streaming else self.http
        if body is not None and not streaming:
            http = self.sending
        return http.request(
            request.method,
            url,
            headers=headers,
            data=body,
            stream=True,
            timeout=self.timeout(service, path),
            allow_redirects=False,
        )


def unanswered(service: str, error: requests.RequestException) -> Response:
    """The problem for a service that could not be reached (503) or did not answer (504)."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return problem(
            504,
            f"The {service} service did not accept the connection in time.",
            "upstream-timeout",
        )
    if isinstance(error, requests.exceptions.Timeout):
        return problem(504, f"The {service} service did not answer in time.", "upstream-timeout")
    log.warning("upstream unavailable", service=service, error=repr(error))
    return problem(
        503, f"The {service} service is unavailable; try again shortly.", "upstream-unavailable"
    )


def _relayed(upstream: requests.Response, streaming: bool) -> Response:
    response_headers = [
        (k, v)
        for k, v in upstream.headers.items()
        if k.lower() not in HOP_BY_HOP and k.lower() != "x-request-id"
    ]
    if "Content-Length" in upstream.headers and "Content-Encoding" not in upstream.headers:
        # The bytes pass unchanged, so a download keeps its length (and a progress bar).
        response_headers.append(("Content-Length", upstream.headers["Content-Length"]))
    # At most 64 KiB at a time. A chunked response (an event stream) still yields each chunk
    # as it arrives; chunk_size=None would read a sized body (a download) whole.
    chunks = upstream.iter_content(chunk_size=64 * 1024)
    try:
        response = Response(
            stream_with_context(_until_shutdown(chunks) if streaming else chunks),
            status=upstream.status_code,
            headers=response_headers,
        )
    except BaseException:
        upstream.close()
        raise
    if response.mimetype == "text/event-stream":
        response.headers.update(EVENT_STREAM_HEADERS)  # and tell proxies in front not to buffer
    response.call_on_close(upstream.close)
    return response


def _until_shutdown(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """An event stream's chunks, ending at the first one after this process began to stop."""
    for chunk in chunks:
        yield chunk
        if lifecycle.stopping():
            return


def request_target() -> str:
    """The path and query exactly as the client sent them, so the service sees the same.

    Forwarding the decoded path would turn an encoded `?` or `/` inside an id into a query or
    a path of its own, and make a path longer than the one the client sent.
    """
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw and not raw.startswith("/"):  # absolute-form request line: http://host/path
        parts = urlsplit(raw)
        raw = parts.path + (f"?{parts.query}" if parts.query else "")
    if not raw:
        raw = quote(request.path)
        if request.query_string:
            raw += "?" + request.query_string.decode("latin-1")
    return raw


def escapes_its_route(target: str) -> bool:
    """True for a path with dot segments or encoded slashes: it could name another route."""
    for segment in target.split("?", 1)[0].split("/"):
        decoded = unquote(segment)
        if decoded in {".", ".."} or "/" in decoded or "\\" in decoded:
            return True
    return False


def owner_of(path: str) -> str | None:
    """The service that owns /api/v1/<path>, or None."""
    segments = path.split("/")
    return ROUTES.get("/".join(segments[:2])) or ROUTES.get(segments[0])


def register_proxy(app: Flask, upstreams: Upstreams, upload_limit: int) -> None:
    """Route /api/v1/... to its service; uploads may be up to `upload_limit` bytes."""
    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]

    @app.route("/api/v1/<path:path>", methods=methods, endpoint="proxy")
    def proxy(path: str):
        service = owner_of(path)
        if service is None or service not in upstreams.urls or escapes_its_route(request_target()):
            return problem(404, f"No resource at /api/v1/{path}.")
        if request.method == "POST" and path in UPLOADS:
            request.max_content_length = upload_limit
        return upstreams.forward(service, path)
