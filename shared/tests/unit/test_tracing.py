"""Traces in a fresh process: exported over OTLP only when asked, never in a request's way."""

import json
import os
import subprocess
import sys
from pathlib import Path

from opentelemetry.trace import SpanKind

from shared.testing.postgres import free_port
from shared.testing.tracing import OtlpCollector, traceparent
from shared.tracing import tracer

ROOT = Path(__file__).resolve().parents[3]
TRACE_ID, CLIENT_SPAN = 0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331
PROBE = """
import json, sys
from flask import jsonify
from shared.config import Settings
from shared.logs import get_logger
from shared.web import create_base_app

settings = Settings(service="probe", env="test", database_url="sqlite://")
app = create_base_app("probe", settings, title="probe", authenticate=False, serve_openapi=False)

@app.get("/ping")
def ping():
    get_logger("probe").info("pinged")
    return jsonify(ok=True)

client = app.test_client()
statuses = [client.get("/ping", headers={"traceparent": sys.argv[1]}).status_code for _ in range(3)]
print(json.dumps({"statuses": statuses}))
"""


def run_probe(**otel_env: str) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(PYTHONPATH=str(ROOT), **otel_env)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, traceparent(TRACE_ID, CLIENT_SPAN)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert {"statuses": [200, 200, 200]} in lines
    return lines


def test_without_an_endpoint_nothing_is_exported_and_log_lines_still_carry_the_trace():
    lines = run_probe()
    pinged = [line for line in lines if line.get("event") == "pinged"]
    assert len(pinged) == 3
    assert {line["trace_id"] for line in pinged} == {f"{TRACE_ID:032x}"}
    assert all(len(line["span_id"]) == 16 for line in pinged)


def test_with_an_endpoint_spans_are_exported_over_otlp_with_the_service_name():
    collector = OtlpCollector()
    try:
        run_probe(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url)
    finally:
        collector.stop()
    assert set(collector.paths) == {"/v1/traces"}, "the spans were flushed when the process ended"
    servers = [s for s in collector.of_trace(TRACE_ID) if s.kind == "SPAN_KIND_SERVER"]
    assert len(servers) == 3
    assert {(s.service, s.parent_span_id) for s in servers} == {("crm-probe", CLIENT_SPAN)}


def test_an_unreachable_endpoint_never_fails_a_request():
    run_probe(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        OTEL_EXPORTER_OTLP_TIMEOUT="2",
    )


def test_a_query_or_call_on_its_own_starts_no_trace_but_one_inside_a_span_is_kept(spans):
    with tracer.start_as_current_span("SELECT outbox", kind=SpanKind.CLIENT):
        pass
    with (
        tracer.start_as_current_span("job"),
        tracer.start_as_current_span("SELECT inbox", kind=SpanKind.CLIENT),
    ):
        pass
    assert sorted(s.name for s in spans.get_finished_spans()) == ["SELECT inbox", "job"]


def test_sql_statements_are_traced_only_when_spans_are_exported(monkeypatch):
    from sqlalchemy import create_engine

    from shared import tracing

    quiet, exported = create_engine("sqlite://"), create_engine("sqlite://")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    tracing.configure_tracing("probe", engine=quiet)
    assert quiet not in tracing._traced_engines
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/v1/traces")
    tracing.configure_tracing("probe", engine=exported)
    assert exported in tracing._traced_engines
