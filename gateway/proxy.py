"""Forwarding /api/v1/... to the service that owns the path: pooled, with timeouts and bulkheads.

Each service has a urllib3 connection pool as large as its bulkhead, so a request reuses a
kept-alive connection, and event streams have pools of their own. Neither direction is buffered
whole unless it is small. A request body is passed on as the service reads it, with the client's
Content-Length (an upload of 25 MB costs the gateway a few buffers, not 25 MB), or chunked when
the client sent it chunked. A response of at most `BUFFERED_MAX` bytes with a Content-Length is
read whole and sent on in one piece; any other (a download, a Server-Sent Events stream) chunk
by chunk as it arrives, so an event stream reaches the client frame by frame.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from urllib.parse import quote, unquote, urlsplit

import urllib3
from flask import Flask, Response, g, request, stream_with_context
from opentelemetry import propagate
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)
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
}
#: The client's trace context: the gateway sends its own span's instead.
TRACE_CONTEXT = {"traceparent", "tracestate"}
#: Request headers not passed on as the client sent them, by their WSGI environ names; the
#: gateway sets X-Request-ID and X-Forwarded-For itself.
NOT_FORWARDED = {
    "HTTP_" + name.upper().replace("-", "_")
    for name in HOP_BY_HOP | TRACE_CONTEXT | {"x-request-id", "x-forwarded-for"}
}
#: A response with a Content-Length of at most this many bytes is read whole, then sent on.
BUFFERED_MAX = 256 * 1024
#: Bytes at a time of a body that is passed on as it arrives.
CHUNK_SIZE = 64 * 1024


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
    (those are sent with `NO_RETRY`: the body is already streamed).
    """

    def __init__(self, **kwargs) -> None:
        defaults = {"total": 1, "connect": 1, "read": 1, "status": 0, "other": 0}
        defaults.update(raise_on_status=False, respect_retry_after_header=False)
        super().__init__(**{**defaults, **kwargs})

    def increment(self, method=None, url=None, response=None, error=None, **kwargs):
        if isinstance(error, ReadTimeoutError):
            raise error  # a 504
        if isinstance(error, ConnectTimeoutError):  # also "refused": a 503 or 504 at once
            return Retry.increment(self.new(total=0), method, url, response, error, **kwargs)
        return super().increment(method, url, response, error, **kwargs)


RETRY_STALE = StaleConnectionRetry()
NO_RETRY = Retry(0, read=False)


def connection_pool(url: str, size: int) -> urllib3.HTTPConnectionPool:
    """Up to `size` kept-alive connections to the service at `url` (more are opened, not kept)."""
    return urllib3.connection_from_url(url, maxsize=size, block=False, retries=NO_RETRY)


def forwarded_headers(environ: dict) -> dict[str, str]:
    """The client's headers for the service: end-to-end ones only, and who the client is."""
    headers = {
        key[5:].replace("_", "-").title(): value
        for key, value in environ.items()
        if key.startswith("HTTP_") and key not in NOT_FORWARDED
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    headers["X-Request-ID"] = g.request_id
    headers["X-Forwarded-For"] = ", ".join(
        filter(None, [environ.get("HTTP_X_FORWARDED_FOR"), environ.get("REMOTE_ADDR")])
    )
    return headers


def request_body(headers: dict[str, str]):
    """The body to pass on: a stream with its Content-Length, a chunked stream, or None.

    Sets the framing header in `headers`. Reading it is bounded by `request.max_content_length`:
    a declared length over the limit is a 413 before anything is read, a chunked body one as
    soon as it passes the limit.
    """
    if "chunked" in request.environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        stream = request.stream
        headers["Transfer-Encoding"] = "chunked"
        return iter(lambda: stream.read(CHUNK_SIZE), b"")
    length = request.content_length
    if not length:
        return None
    stream = request.stream  # a 413 here when `length` is over the limit
    headers["Content-Length"] = str(length)
    return stream


class Upstreams:
    """Connection pools to all services, with timeouts and a bulkhead per service.

    Requests with a body are never retried: a body already partly sent cannot be sent again.
    Event streams get pools of their own, so that open streams never take the pooled
    connections that ordinary requests need, each big enough to keep one per stream. They are
    not counted in the bulkheads either: an open stream is mostly idle.

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
        self.pools = {name: connection_pool(url, limits[name]) for name, url in urls.items()}
        self.stream_pools = {
            name: connection_pool(url, stream_pool_size) for name, url in urls.items()
        }
        #: The path each service's URL may have before /api/v1 (behind a path-routing proxy).
        self.prefixes = {name: urlsplit(url).path.rstrip("/") for name, url in urls.items()}
        self._timeouts: dict[tuple[float, float], urllib3.Timeout] = {}

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
        """The service's answer; its bulkhead slot is held until the service has sent it all."""
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
        relaying = False
        started = time.perf_counter()
        try:
            upstream = self.send(service, path, streaming)
            metrics.UPSTREAM_DURATION.labels(service).observe(time.perf_counter() - started)
            response = _relayed(upstream, streaming)
            relaying = response.is_streamed
        except HTTPError as exc:
            return unanswered(service, exc)
        finally:
            if slot is not None and not relaying:
                slot.release()
        if slot is not None and relaying:
            response.call_on_close(slot.release)
        if streaming and response.mimetype == "text/event-stream":
            response.call_on_close(metrics.stream_closer("gateway"))
        return response

    def send(self, service: str, path: str, streaming: bool) -> urllib3.BaseHTTPResponse:
        """The request, sent; the service's answer with its body still to be read."""
        headers = forwarded_headers(request.environ)
        propagate.inject(headers)  # the gateway's span is the service's parent
        body = request_body(headers)
        pool = self.stream_pools[service] if streaming else self.pools[service]
        return pool.urlopen(
            request.method,
            self.prefixes[service] + request_target(),
            body=body,
            headers=headers,
            retries=NO_RETRY if body is not None else RETRY_STALE,
            timeout=self._timeout(self.timeout(service, path)),
            redirect=False,
            preload_content=False,
            decode_content=False,
            release_conn=False,
        )

    def _timeout(self, seconds: tuple[float, float]) -> urllib3.Timeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            connect, read = seconds
            timeout = self._timeouts[seconds] = urllib3.Timeout(connect=connect, read=read)
        return timeout


def unanswered(service: str, error: HTTPError) -> Response:
    """The problem for a service that could not be reached (503) or did not answer (504)."""
    reason = error.reason if isinstance(error, MaxRetryError) else error
    if isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError):
        metrics.UPSTREAM_ERRORS.labels(service, "timeout").inc()
        return problem(
            504,
            f"The {service} service did not accept the connection in time.",
            "upstream-timeout",
        )
    if isinstance(reason, ReadTimeoutError):
        metrics.UPSTREAM_ERRORS.labels(service, "timeout").inc()
        return problem(504, f"The {service} service did not answer in time.", "upstream-timeout")
    metrics.UPSTREAM_ERRORS.labels(service, "unavailable").inc()
    log.warning("upstream unavailable", service=service, error=repr(error))
    return problem(
        503, f"The {service} service is unavailable; try again shortly.", "upstream-unavailable"
    )


def _relayed(upstream: urllib3.BaseHTTPResponse, streaming: bool) -> Response:
    """The service's answer for the client: read whole when it is small, else passed on."""
    try:
        headers = [
            (k, v)
            for k, v in upstream.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "x-request-id"
        ]
        length = upstream.headers.get("Content-Length")
        # The bytes pass unchanged (never decoded), so a download keeps its length too.
        if length is not None:
            headers.append(("Content-Length", length))
        small = length is not None and length.isdigit() and int(length) <= BUFFERED_MAX
        if small and not streaming:
            body = upstream.read()
            upstream.release_conn()
            response = Response(body, status=upstream.status, headers=headers)
            response.headers["Content-Length"] = length  # a HEAD's too, which has no body
            return response
        chunks = _arriving(upstream)
        response = Response(
            stream_with_context(_until_shutdown(chunks) if streaming else chunks),
            status=upstream.status,
            headers=headers,
        )
    except BaseException:
        _close(upstream)
        raise
    if response.mimetype == "text/event-stream":
        response.headers.update(EVENT_STREAM_HEADERS)  # and tell proxies in front not to buffer
    response.call_on_close(lambda: _close(upstream))
    return response


def _arriving(upstream: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    """The body as it arrives: each read's bytes (a chunk of a chunked body), CHUNK_SIZE at most."""
    if upstream.chunked:
        yield from upstream.stream(CHUNK_SIZE, decode_content=False)
        return
    while chunk := upstream.read1(CHUNK_SIZE, decode_content=False):
        yield chunk


def _close(upstream: urllib3.BaseHTTPResponse) -> None:
    """Back to the pool: kept alive when the body was read to its end, else to be reopened."""
    if not upstream.isclosed():
        upstream.close()
    upstream.release_conn()


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
