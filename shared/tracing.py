"""OpenTelemetry traces: one SDK provider per process, W3C trace context over HTTP and events.

Spans are always made, so that a trace id reaches events and log lines even when nothing is
exported; they are exported over OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT is set. Sampling is
ParentBased: a continued trace keeps its caller's decision, and a new one is sampled unless it
would start with a CLIENT span (the relay's polling query, a health check's ping, a background
refresh of keys): those are dropped. OTEL_TRACES_SAMPLER replaces this with the SDK's choice.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context, metrics, trace
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

#: The CloudEvents distributed-tracing extension attributes, also the AMQP header names.
TRACE_ATTRIBUTES = ("traceparent", "tracestate")
MESSAGING_SYSTEM = "rabbitmq"
_W3C = TraceContextTextMapPropagator()
_lock = threading.Lock()
_traced_engines: weakref.WeakSet = weakref.WeakSet()
tracer = trace.get_tracer("crm")


def configure_tracing(service: str, app: Any = None, engine: Any = None) -> TracerProvider:
    """The process's provider (made on the first call), tracing `app` and `engine` once each."""
    with _lock:
        provider = _provider(service)
        if app is not None:  # instrument_app skips an app it already traces
            FlaskInstrumentor.instrument_app(
                app,
                tracer_provider=provider,
                excluded_urls=os.environ.get("OTEL_PYTHON_FLASK_EXCLUDED_URLS", "healthz,readyz"),
                # SQL comments carrying the route are off (the engines are traced without
                # them): the per-request context it attaches would cost every request.
                enable_commenter=False,
            )
        # SQL spans only when spans leave the process: unexported they would be pure cost
        # (about a tenth of a write request), and log lines and events take their trace
        # ids from the request's or the consumer's span.
        if engine is not None and engine not in _traced_engines and exporting():
            _trace_engine(engine, provider)
    return provider


def exporting() -> bool:
    """Whether spans are exported over OTLP (an endpoint is set)."""
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _provider(service: str) -> TracerProvider:
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    name = os.environ.get("OTEL_SERVICE_NAME") or f"crm-{service}"
    sampler = None if os.environ.get("OTEL_TRACES_SAMPLER") else ParentBased(NoOrphanClients())
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}), sampler=sampler)
    if exporting():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    if not RequestsInstrumentor().is_instrumented_by_opentelemetry:
        RequestsInstrumentor().instrument(tracer_provider=provider)
    return provider


class NoOrphanClients(Sampler):
    """Samples every new trace except one that a CLIENT span (a query, an HTTP call) would start."""

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, **kwargs):
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return ALWAYS_ON.should_sample(parent_context, trace_id, name, kind, attributes, **kwargs)

    def get_description(self) -> str:
        return "NoOrphanClients"


def _trace_engine(engine: Any, provider: TracerProvider) -> None:
    meter = metrics.get_meter("opentelemetry.instrumentation.sqlalchemy")
    EngineTracer(
        trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", tracer_provider=provider),
        engine,
        meter.create_up_down_counter("db.client.connections.usage", unit="connections"),
    )
    _traced_engines.add(engine)


def current_trace_context() -> dict[str, str]:
    """The current span's `traceparent` (and `tracestate`), or {} outside a span."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier


def trace_headers(body: bytes) -> dict[str, str]:
    """The trace attributes of an event envelope, as AMQP headers."""
    if b'"traceparent"' not in body:  # made outside any trace: nothing to parse for
        return {}
    try:
        attributes = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(attributes, dict):
        return {}
    return {k: attributes[k] for k in TRACE_ATTRIBUTES if isinstance(attributes.get(k), str)}


def message_context(headers: Mapping[str, Any] | None, body: bytes) -> context.Context:
    """The context an event was made in: its AMQP headers, else its envelope."""
    carrier = {k: v for k, v in (headers or {}).items() if k in TRACE_ATTRIBUTES}
    if not isinstance(carrier.get("traceparent"), str):
        carrier = trace_headers(body)
    return _W3C.extract(carrier)


def _messaging(event_type: str, operation: str, message_id: str | None) -> dict[str, str]:
    attributes = {
        "messaging.system": MESSAGING_SYSTEM,
        "messaging.destination.name": "crm.events",
        "messaging.rabbitmq.destination.routing_key": event_type,
        "messaging.operation.name": operation,
        "messaging.operation.type": operation,
    }
    if message_id:
        attributes["messaging.message.id"] = message_id
    return attributes


def event_trace_context(event_type: str, event_id: str) -> dict[str, str]:
    """The context an event carries: that of its `<event type> create` span, made here."""
    with tracer.start_as_current_span(
        f"{event_type} create",
        kind=SpanKind.PRODUCER,
        attributes=_messaging(event_type, "create", event_id),
    ):
        return current_trace_context()


@contextmanager
def publishing(event_type: str, message_id: str, headers: Mapping[str, str]) -> Iterator[Span]:
    """The relay's span for publishing one event, a child of the context the event carries
    (its `trace_headers`)."""
    with tracer.start_as_current_span(
        f"{event_type} publish",
        context=_W3C.extract(dict(headers)),
        kind=SpanKind.PRODUCER,
        attributes=_messaging(event_type, "publish", message_id),
    ) as span:
        yield span


@contextmanager
def processing(
    event_type: str, message_id: str | None, headers: Mapping[str, Any] | None, body: bytes
) -> Iterator[Span]:
    """A consumer's span for handling one message, a child of the context the event carries."""
    with tracer.start_as_current_span(
        f"{event_type} process",
        context=message_context(headers, body),
        kind=SpanKind.CONSUMER,
        attributes=_messaging(event_type, "process", message_id),
    ) as span:
        yield span


def mark_failed(span: Span, description: str) -> None:
    span.set_status(Status(StatusCode.ERROR, description))


def add_trace_ids(_logger, _name, event_dict):
    """structlog processor: `trace_id` and `span_id` (hex) of the current span, if any."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", format(span_context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(span_context.span_id, "016x"))
    return event_dict
