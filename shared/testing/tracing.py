"""Spans a test can look at: a recorder on the process's tracer provider, on only when asked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

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
