"""Prometheus metrics of every process, and `/metrics` for web processes and worker probes.

A web process under gunicorn runs in prometheus-client's multiprocess mode
(PROMETHEUS_MULTIPROC_DIR, set up by gunicorn.conf.py), so a scrape sums every worker; without
it (a worker, tests, the Flask dev server) the process's own registry is served. Labels are
names the code chose (routes as URL templates, services, queues, event types it handles),
never values from a request.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from shared.db import Database, utcnow

HTTP_REQUESTS = Counter(
    "crm_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["service", "route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "crm_http_request_duration_seconds",
    "Time from a request's arrival to its response's headers.",
    ["service", "route", "method"],
)
HTTP_IN_FLIGHT = Gauge(
    "crm_http_requests_in_flight",
    "Requests being served now (an open stream counts until it ends).",
    ["service"],
    multiprocess_mode="livesum",
)
UPSTREAM_DURATION = Histogram(
    "crm_gateway_upstream_request_duration_seconds",
    "Time from forwarding a request to the upstream's response headers.",
    ["upstream"],
)
UPSTREAM_ERRORS = Counter(
    "crm_gateway_upstream_errors_total",
    "Forwarded requests without an answer: timeout (504) or unavailable (503).",
    ["upstream", "kind"],
)
BULKHEAD_REJECTIONS = Counter(
    "crm_gateway_bulkhead_rejections_total",
    "Requests turned away (503 busy) because the upstream's bulkhead was full.",
    ["upstream"],
)
OUTBOX_PUBLISHED = Counter(
    "crm_outbox_published_total", "Outbox events the broker confirmed.", ["service"]
)
OUTBOX_CONFIRM_DURATION = Histogram(
    "crm_outbox_confirm_duration_seconds",
    "Time from publishing an outbox event to the broker's confirm.",
    ["service"],
)
CONSUMER_EVENTS = Counter(
    "crm_consumer_events_total",
    "Deliveries by outcome: handled, retried, dead_lettered or duplicate (inbox dedupe).",
    ["queue", "event_type", "outcome"],
)
CONSUMER_DURATION = Histogram(
    "crm_consumer_handler_duration_seconds",
    "Time to handle one event: its transaction with the inbox row and the handler.",
    ["queue", "event_type"],
)
DEAD_LETTERS = Gauge(
    "crm_dead_letter_queue_messages",
    "Messages in a consumer's dead-letter queue (polled every 15 s).",
    ["queue"],
    multiprocess_mode="mostrecent",
)
JOB_RUNS = Counter(
    "crm_job_runs_total",
    "Periodic job runs by outcome: ok or error.",
    ["service", "job", "outcome"],
)
SLA_ESCALATIONS = Counter("crm_sla_escalations_total", "Cases escalated for a missed SLA target.")
INVOICES_OVERDUE = Counter("crm_invoices_overdue_total", "Invoices marked overdue.")
SSE_STREAMS_OPEN = Gauge(
    "crm_sse_streams_open",
    "Server-Sent Events streams open now.",
    ["service"],
    multiprocess_mode="livesum",
)
DB_POOL_IN_USE = Gauge(
    "crm_db_pool_connections_in_use",
    "Database connections checked out of the process's pool.",
    ["service"],
    multiprocess_mode="livesum",
)
WORKER_READY = Gauge(
    "crm_worker_ready",
    "1 when the worker is ready (database and broker reachable), else 0.",
    ["service"],
    multiprocess_mode="mostrecent",
)

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def exposition() -> tuple[bytes, str]:
    """The text exposition of this process, or of all of gunicorn's workers together."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def register_http_metrics(app: Flask, service: str) -> None:
    """Count and time every request by its URL rule, and serve GET /metrics.

    Register it before the other request hooks: its `after_request` then runs last and sees
    the final status.
    """
    in_flight = HTTP_IN_FLIGHT.labels(service)

    @app.before_request
    def start_request_metrics():
        g.metrics_started = time.perf_counter()
        in_flight.inc()
        g.metrics_in_flight = True

    @app.after_request
    def count_request(response: Response):
        rule = request.url_rule
        route = rule.rule if rule is not None else "unmatched"
        method = request.method if request.method in METHODS else "other"
        started = g.get("metrics_started")
        HTTP_REQUESTS.labels(service, route, method, str(response.status_code)).inc()
        if started is not None:
            HTTP_DURATION.labels(service, route, method).observe(time.perf_counter() - started)
        return response

    @app.teardown_request
    def end_request_metrics(_exc):
        if g.pop("metrics_in_flight", False):
            in_flight.dec()

    @app.get("/metrics")
    def metrics():
        body, content_type = exposition()
        return Response(body, content_type=content_type)


def track_pool(service: str, engine: Engine) -> None:
    """Keep crm_db_pool_connections_in_use{service} at the connections checked out."""
    in_use = DB_POOL_IN_USE.labels(service)
    event.listen(engine, "checkout", lambda *_: in_use.inc())
    event.listen(engine, "checkin", lambda *_: in_use.dec())


def stream_closer(service: str) -> Callable[[], None]:
    """Count one open stream; the returned function ends it (calling it again does nothing)."""
    gauge = SSE_STREAMS_OPEN.labels(service)
    gauge.inc()
    closed = threading.Event()

    def close() -> None:
        if not closed.is_set():
            closed.set()
            gauge.dec()

    return close


def counted_stream(service: str, frames: Iterable[str]) -> Iterator[str]:
    """`frames`, counted in crm_sse_streams_open while they are being sent."""
    close = stream_closer(service)
    try:
        yield from frames
    finally:
        close()


def upstream_error_kind(error: Exception) -> str:
    import requests

    return "timeout" if isinstance(error, requests.exceptions.Timeout) else "unavailable"


def delivery_outcome(kind: str) -> str | None:
    """The outcome label of a consumer's decision, or None for one not counted (ignored)."""
    return {
        "ack": "handled",
        "retry": "retried",
        "dead": "dead_lettered",
        "duplicate": "duplicate",
    }.get(kind)


class OutboxCollector(Collector):
    """crm_outbox_unpublished_rows and crm_outbox_oldest_unpublished_age_seconds, on scrape.

    One COUNT/MIN query at most every `min_interval` seconds; it answers even while the relay
    cannot reach the broker or stands by, which is when rows pile up.
    """

    def __init__(
        self, database: Database, model: Any, service: str, min_interval: float = 5.0
    ) -> None:
        self.database = database
        self.model = model
        self.service = service
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._taken = float("-inf")
        self._rows = 0
        self._oldest: datetime | None = None

    def describe(self):
        return []

    def refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._taken < self.min_interval:
                return
            unpublished = self.model.published_at.is_(None)
            query = select(func.count(), func.min(self.model.created_at)).where(unpublished)
            with self.database.sessions() as session:
                rows, oldest = session.execute(query).one()
            self._rows, self._oldest, self._taken = int(rows), oldest, time.monotonic()

    def collect(self):
        try:
            self.refresh()
        except Exception:
            return
        rows = GaugeMetricFamily(
            "crm_outbox_unpublished_rows", "Outbox rows not yet published.", labels=["service"]
        )
        rows.add_metric([self.service], self._rows)
        age = GaugeMetricFamily(
            "crm_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest unpublished outbox row (0 when none).",
            labels=["service"],
        )
        oldest = self._oldest
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        seconds = max((utcnow() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
        age.add_metric([self.service], seconds)
        yield rows
        yield age
