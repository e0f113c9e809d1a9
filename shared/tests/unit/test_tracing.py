"""Traces in a fresh process: exported over OTLP only when asked, never in a request's way."""

import json
import os
import subprocess
import sys
from pathlib import Path

from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer
from shared.testing.tracing import traceparent

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
    assert lines[-1] == {"statuses": [200, 200, 200]}
    return lines


def collector(received: list[tuple[str, bytes]]):
    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        received.append((environ["PATH_INFO"], environ["wsgi.input"].read(length)))
        start_response("200 OK", [("Content-Type", "application/x-protobuf")])
        return [b""]

    return app


def test_without_an_endpoint_nothing_is_exported_and_log_lines_still_carry_the_trace():
    lines = run_probe()
    pinged = [line for line in lines if line.get("event") == "pinged"]
    assert len(pinged) == 3
    assert {line["trace_id"] for line in pinged} == {f"{TRACE_ID:032x}"}
    assert all(len(line["span_id"]) == 16 for line in pinged)


def test_with_an_endpoint_spans_are_exported_over_otlp_with_the_service_name():
    received: list[tuple[str, bytes]] = []
    server = ThreadServer(collector(received), free_port())
    try:
        run_probe(OTEL_EXPORTER_OTLP_ENDPOINT=server.url)
    finally:
        server.stop()
    assert received, "the spans were flushed when the process ended"
    assert {path for path, _body in received} == {"/v1/traces"}
    body = b"".join(body for _path, body in received)
    assert b"crm-probe" in body
    assert TRACE_ID.to_bytes(16, "big") in body


def test_an_unreachable_endpoint_never_fails_a_request():
    run_probe(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        OTEL_EXPORTER_OTLP_TIMEOUT="2",
    )
