"""Spans a test can look at: a recorder on the process's tracer provider, on only when asked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer
from shared.tracing import configure_tracing


class SpanRecorder(SpanProcessor):
    """Hands ended spans to an InMemorySpanExporter while `recording`; ignores them otherwise."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.recording = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.recording:
            self.exporter.export((span,))


_recorder: SpanRecorder | None = None


@contextmanager
def recorded_spans() -> Iterator[InMemorySpanExporter]:
    """The spans that end inside the block (a provider can be set, and given processors, once)."""
    global _recorder
    if _recorder is None:
        _recorder = SpanRecorder()
        configure_tracing("test").add_span_processor(_recorder)
    _recorder.exporter.clear()
    _recorder.recording = True
    try:
        yield _recorder.exporter
    finally:
        _recorder.recording = False
        _recorder.exporter.clear()


def traceparent(trace_id: int, span_id: int) -> str:
    return f"00-{trace_id:032x}-{span_id:016x}-01"


def parse_traceparent(value: str) -> tuple[int, int]:
    """(trace id, parent span id) of a W3C traceparent."""
    _version, trace_id, span_id, _flags = value.split("-")[:4]
    return int(trace_id, 16), int(span_id, 16)


@dataclass(frozen=True)
class ExportedSpan:
    service: str
    name: str
    kind: str  # SPAN_KIND_SERVER, SPAN_KIND_CONSUMER, ...
    trace_id: int
    span_id: int
    parent_span_id: int | None


class OtlpCollector:
    """An OTLP/HTTP endpoint on loopback that keeps the spans it is sent (POST /v1/traces)."""

    def __init__(self) -> None:
        self.spans: list[ExportedSpan] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self.server = ThreadServer(self._app, free_port())
        self.url = self.server.url

    def _app(self, environ, start_response):
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        length = int(environ.get("CONTENT_LENGTH") or 0)
        export = ExportTraceServiceRequest.FromString(environ["wsgi.input"].read(length))
        with self._lock:
            self.paths.append(environ["PATH_INFO"])
            for batch in export.resource_spans:
                resource = {a.key: a.value.string_value for a in batch.resource.attributes}
                for scope in batch.scope_spans:
                    self.spans += [_exported(resource["service.name"], s) for s in scope.spans]
        start_response("200 OK", [("Content-Type", "application/x-protobuf")])
        return [b""]

    def of_trace(self, trace_id: int) -> list[ExportedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def stop(self) -> None:
        self.server.stop()


def _exported(service: str, span) -> ExportedSpan:
    return ExportedSpan(
        service=service,
        name=span.name,
        kind=type(span).SpanKind.Name(span.kind),
        trace_id=int.from_bytes(span.trace_id, "big"),
        span_id=int.from_bytes(span.span_id, "big"),
        parent_span_id=int.from_bytes(span.parent_span_id, "big") if span.parent_span_id else None,
    )
