"""A pooled connection the service closed costs an idempotent request one retry, not a 503."""

import socket
import threading

import pytest

from gateway.proxy import Upstreams
from gateway.tests.unit.test_bulkhead import gateway


class ClosesTheFirstConnection:
    """A server that drops its first connection unanswered, then answers every request 200."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            conn.recv(65536)
            if self.connections > 1:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            conn.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def server():
    server = ClosesTheFirstConnection()
    yield server
    server.close()


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_an_idempotent_request_is_retried_once_on_a_fresh_connection(server, method):
    client = gateway(Upstreams({"contacts": server.url}))
    response = client.open("/api/v1/contacts/x", method=method)
    assert response.status_code == 200
    assert response.data == b"ok"
    assert server.connections == 2


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_request_that_may_change_something_is_never_sent_twice(server, method):
    client = gateway(Upstreams({"contacts": server.url}))
    response = client.open("/api/v1/contacts/x", method=method, data=b"{}")
    assert response.status_code == 503
    assert response.get_json()["type"].endswith("/upstream-unavailable")
    assert server.connections == 1


def test_a_request_with_a_body_is_never_sent_twice(server):
    client = gateway(Upstreams({"contacts": server.url}))
    response = client.put("/api/v1/contacts/x", data=b"{}")
    assert response.status_code == 503
    assert server.connections == 1


def test_a_read_timeout_is_not_retried():
    listener = socket.create_server(("127.0.0.1", 0))
    held = []

    def hold_every_connection():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=hold_every_connection, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        for read_timeout in (0.5, 1.0):
            client = gateway(Upstreams({"contacts": url}, read_timeout=read_timeout))
            assert client.get("/api/v1/contacts/x").status_code == 504
        # A retry would have connected again before the timeout reached us; the second
        # request's longer wait gives the accepting thread ample time to see it.
        assert len(held) == 2  # one connection per request: neither was retried
    finally:
        listener.close()
        for connection in held:
            connection.close()
