"""What the gateway puts on the wire to a service, and what it passes back to the client."""

from __future__ import annotations

import gzip
import threading
import time

import pytest
import requests

from gateway.proxy import BUFFERED_MAX, Upstreams
from gateway.tests.raw_upstream import RawUpstream, Recorded
from gateway.tests.unit.test_bulkhead import gateway, proxy_app
from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer


@pytest.fixture
def upstream():
    upstream = RawUpstream()
    yield upstream
    upstream.close()


@pytest.fixture
def serve():
    """A real HTTP server for a proxy-only app in front of `upstreams`; its URL."""
    servers: list[ThreadServer] = []

    def start(upstreams: Upstreams) -> str:
        servers.append(ThreadServer(proxy_app(upstreams, upload_limit=10_000_000), free_port()))
        return servers[-1].url

    yield start
    for server in servers:
        server.stop()


def test_a_body_with_a_content_length_is_sent_with_it_and_not_chunked(upstream, serve):
    url = serve(Upstreams({"contacts": upstream.url}))
    body = bytes(range(256)) * 400  # 100 KiB, several of the HTTP client's blocks
    response = requests.post(
        f"{url}/api/v1/contacts", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    [sent] = upstream.requests
    assert sent.headers["content-length"] == str(len(body))
    assert "transfer-encoding" not in sent.headers
    assert not sent.chunked
    assert sent.body == body
    assert sent.headers["content-type"] == "application/json"


def test_a_chunked_body_is_sent_on_chunked(upstream, serve):
    url = serve(Upstreams({"contacts": upstream.url}))
    parts = [b'{"name": ', b'"Chunked', b' Freight"}']
    response = requests.post(f"{url}/api/v1/companies", data=iter(parts), timeout=30)
    assert response.status_code == 200, response.text
    [sent] = upstream.requests
    assert sent.chunked
    assert "content-length" not in sent.headers
    assert sent.body == b"".join(parts)


def test_sequential_requests_reuse_one_pooled_connection(upstream):
    client = gateway(Upstreams({"contacts": upstream.url}))
    for i in range(5):
        response = client.get(f"/api/v1/contacts/c-{i}")
        assert response.status_code == 200
        response.close()
    assert [r.target for r in upstream.requests] == [f"/api/v1/contacts/c-{i}" for i in range(5)]
    assert upstream.connections == 1
    assert {r.connection for r in upstream.requests} == {1}


def test_hop_by_hop_headers_stay_on_their_hop_and_forwarding_headers_are_set():
    def answer(_request: Recorded, connection) -> None:
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
            b"Keep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nX-Request-ID: theirs\r\n"
            b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Custom: kept\r\n\r\nok"
        )

    upstream = RawUpstream(answer)
    client = gateway(Upstreams({"contacts": upstream.url}))
    try:
        response = client.get(
            "/api/v1/contacts",
            headers={
                "Keep-Alive": "timeout=5",
                "TE": "trailers",
                "Proxy-Authorization": "Basic eDp5",
                "X-Forwarded-For": "203.0.113.7",
                "X-Request-ID": "the-clients",
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "Authorization": "Bearer t",
                "If-None-Match": '"3"',
            },
            environ_base={"REMOTE_ADDR": "198.51.100.1"},
        )
        [sent] = upstream.requests
    finally:
        upstream.close()
    for name in ("keep-alive", "te", "proxy-authorization", "traceparent"):
        assert name not in sent.headers
    assert sent.headers["x-forwarded-for"] == "203.0.113.7, 198.51.100.1"
    assert sent.headers["x-request-id"] == "test"  # the gateway's request id, not the client's
    assert sent.headers["authorization"] == "Bearer t"
    assert sent.headers["if-none-match"] == '"3"'
    assert sent.headers["host"] == upstream.url.removeprefix("http://")
    assert response.status_code == 200
    assert "Keep-Alive" not in response.headers
    assert "Proxy-Authenticate" not in response.headers
    assert "X-Request-ID" not in response.headers  # the base app sets the gateway's own
    assert response.headers["X-Custom"] == "kept"
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_a_compressed_answer_passes_unchanged_with_its_encoding_and_length():
    compressed = gzip.compress(b'{"items": []}' * 100)

    def answer(_request: Recorded, connection) -> None:
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(compressed)
            + compressed
        )

    upstream = RawUpstream(answer)
    client = gateway(Upstreams({"contacts": upstream.url}))
    try:
        response = client.get("/api/v1/contacts", headers={"Accept-Encoding": "gzip"})
    finally:
        upstream.close()
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Length"] == str(len(compressed))
    assert response.data == compressed


@pytest.mark.parametrize("length", [123, BUFFERED_MAX * 40])
def test_a_head_answer_keeps_the_services_content_length(length):
    def answer(_request: Recorded, connection) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n")
        connection.sendall(b"Content-Length: %d\r\n\r\n" % length)

    upstream = RawUpstream(answer)
    client = gateway(Upstreams({"contacts": upstream.url}))
    try:
        response = client.head("/api/v1/attachments/a-1/content")
        assert [r.method for r in upstream.requests] == ["HEAD"]
    finally:
        upstream.close()
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(length)
    assert response.data == b""


def test_a_small_answer_is_read_whole_and_frees_its_bulkhead_slot_at_once(upstream):
    client = gateway(Upstreams({"contacts": upstream.url}, max_concurrency=1, queue_timeout=0))
    first = client.get("/api/v1/contacts/first")  # not closed: nothing of it is left to read
    second = client.get("/api/v1/contacts/second")
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.data == b'{"ok": true}'
    assert first.headers["Content-Length"] == str(len(first.data))


def test_a_large_answer_streams_before_the_service_has_sent_it_all(serve):
    size = BUFFERED_MAX * 4
    release = threading.Event()

    def answer(_request: Recorded, connection) -> None:
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n"
            + b"Content-Length: %d\r\n\r\n" % size
            + b"a" * 1000
        )
        release.wait(30)
        connection.sendall(b"b" * (size - 1000))

    upstream = RawUpstream(answer)
    upstreams = Upstreams({"contacts": upstream.url}, max_concurrency=1, queue_timeout=0)
    url = serve(upstreams)
    try:
        with requests.get(f"{url}/api/v1/attachments/a-1/content", stream=True, timeout=30) as r:
            assert r.headers["Content-Length"] == str(size)
            first = r.raw.read(1000)
            # The service has sent only these bytes: they were passed on as they arrived.
            assert first == b"a" * 1000
            assert not release.is_set()
            # While the body is being passed on, the service's one slot stays taken.
            assert requests.get(f"{url}/api/v1/contacts", timeout=30).status_code == 503
            release.set()
            rest = r.raw.read()
        assert len(first) + len(rest) == size
    finally:
        release.set()
        upstream.close()


def test_the_read_timeout_bounds_the_wait_for_an_answer_not_the_connect_timeout():
    def never_answers(_request: Recorded, connection) -> None:
        time.sleep(60)

    upstream = RawUpstream(never_answers)
    client = gateway(Upstreams({"contacts": upstream.url}, connect_timeout=0.2, read_timeout=2))
    try:
        started = time.monotonic()
        response = client.get("/api/v1/contacts")
        waited = time.monotonic() - started
    finally:
        upstream.close()
    assert response.status_code == 504
    assert response.get_json()["type"].endswith("/upstream-timeout")
    assert "did not answer" in response.get_json()["detail"]
    assert waited >= 1.5  # the read timeout's 2 s, not the connect timeout's 0.2 s
