"""The gateway continues the client's trace and hands the service its own span's context."""

import random
import urllib.request
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind

from gateway.app import create_app as create_gateway
from gateway.tests.conftest import add_user
from shared.config import Settings
from shared.testing.fixtures import migrated
from shared.testing.helpers import auth
from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer
from shared.testing.tracing import parse_traceparent, traceparent

ROOT = Path(__file__).resolve().parents[3]


def recording_upstream(seen: list[dict]):
    def app(environ, start_response):
        seen.append({k: v for k, v in environ.items() if k.startswith("HTTP_")})
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"items": []}']

    return app


@pytest.fixture
def gateway(tmp_path):
    seen: list[dict] = []
    upstream = ThreadServer(recording_upstream(seen), free_port())
    database = migrated(f"sqlite:///{tmp_path}/gateway.db", ROOT / "gateway/migrations")
    add_user(database, "sdr-1", "sdr")
    app = create_gateway(
        Settings(service="gateway", env="test", database_url=database.url),
        database=database,
        urls={"contacts": upstream.url},
    )
    server = ThreadServer(app, free_port())
    yield server.url, seen
    server.stop()
    upstream.stop()
    database.dispose()


def test_the_service_gets_the_gateways_span_as_parent_not_the_clients(gateway, spans):
    url, seen = gateway
    trace_id, client_span = random.getrandbits(128), random.getrandbits(64)
    request = urllib.request.Request(
        f"{url}/api/v1/contacts",
        headers={
            **auth("sdr", "sdr-1"),
            "traceparent": traceparent(trace_id, client_span),
            "tracestate": "client=1",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # not traced itself
        assert response.status == 200
    [headers] = seen
    upstream_trace, upstream_parent = parse_traceparent(headers["HTTP_TRACEPARENT"])
    assert upstream_trace == trace_id
    assert upstream_parent != client_span

    ended = {s.context.span_id: s for s in spans.get_finished_spans()}
    [server] = [s for s in ended.values() if s.kind == SpanKind.SERVER]
    assert server.context.trace_id == trace_id
    assert server.parent is not None and server.parent.span_id == client_span
    # The upstream's parent is a span of the gateway's, under its server span.
    span = ended[upstream_parent]
    while span.parent is not None and span.parent.span_id in ended:
        span = ended[span.parent.span_id]
    assert span is server
