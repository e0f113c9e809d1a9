"""At most N requests in flight to one service; the next wait briefly, then are a 503."""

import json
import socket
import threading
import time

import pytest
from flask import Flask, g

from gateway.bulkhead import Bulkhead
from gateway.proxy import Upstreams, register_proxy
from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer


def test_a_bulkhead_lets_in_as_many_requests_as_it_has_slots():
    bulkhead = Bulkhead(2, queue_timeout=0.05)
    first, second = bulkhead.enter(), bulkhead.enter()
    assert first is not None and second is not None
    assert bulkhead.enter() is None
    first.release()
    assert bulkhead.enter() is not None


def test_a_request_that_finds_no_slot_waits_the_queue_timeout_then_gives_up():
    bulkhead = Bulkhead(1, queue_timeout=0.3)
    assert bulkhead.enter() is not None
    started = time.monotonic()
    assert bulkhead.enter() is None
    waited = time.monotonic() - started
    assert 0.25 <= waited < 0.3 + 10


def test_a_waiting_request_takes_the_slot_that_is_released():
    bulkhead = Bulkhead(1, queue_timeout=60)
    held = bulkhead.enter()
    entered = threading.Event()
    slots = []

    def wait_for_a_slot():
        slots.append(bulkhead.enter())
        entered.set()

    threading.Thread(target=wait_for_a_slot, daemon=True).start()
    assert not entered.wait(0.2), "no slot is free yet"
    held.release()
    assert entered.wait(10)
    assert slots[0] is not None


def test_releasing_a_slot_twice_frees_it_once():
    bulkhead = Bulkhead(1, queue_timeout=0.05)
    slot = bulkhead.enter()
    slot.release()
    slot.release()
    assert bulkhead.enter() is not None
    assert bulkhead.enter() is None


@pytest.mark.parametrize(("capacity", "queue_timeout"), [(0, 1), (1, float("inf")), (1, -1)])
def test_a_bulkhead_refuses_no_slots_or_an_endless_wait(capacity, queue_timeout):
    with pytest.raises(ValueError):
        Bulkhead(capacity, queue_timeout)


class RecordingService:
    """Answers every request with JSON 200 and remembers the paths it was sent."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.server = ThreadServer(self.app, free_port())
        self.url = self.server.url

    def app(self, environ, start_response):
        self.seen.append(environ["PATH_INFO"])
        body = json.dumps({"path": environ["PATH_INFO"]}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]


@pytest.fixture
def service():
    service = RecordingService()
    yield service
    service.server.stop()


def proxy_app(upstreams: Upstreams, upload_limit: int = 1024) -> Flask:
    """Only the proxy, with the request id the base app would set."""
    app = Flask(__name__)

    @app.before_request
    def request_id():
        g.request_id = "test"

    register_proxy(app, upstreams, upload_limit=upload_limit)
    return app


def gateway(upstreams: Upstreams):
    return proxy_app(upstreams).test_client()


def test_a_full_service_is_a_503_busy_and_is_not_sent_the_request(service):
    client = gateway(Upstreams({"contacts": service.url}, max_concurrency=1, queue_timeout=0.2))
    held = client.get("/api/v1/contacts/first")
    assert held.status_code == 200
    busy = client.get("/api/v1/contacts/second")
    assert busy.status_code == 503
    assert busy.headers["Content-Type"] == "application/problem+json"
    assert busy.headers["Retry-After"] == "1"
    assert busy.get_json()["type"].endswith("/upstream-busy")
    assert service.seen == ["/api/v1/contacts/first"]
    held.close()  # the slot is held until the relayed response is closed
    after = client.get("/api/v1/contacts/third")
    assert after.status_code == 200
    after.close()
    assert service.seen == ["/api/v1/contacts/first", "/api/v1/contacts/third"]


def test_the_slot_is_released_when_the_service_cannot_be_reached():
    closed = f"http://127.0.0.1:{free_port()}"
    client = gateway(Upstreams({"contacts": closed}, max_concurrency=1, queue_timeout=0.2))
    for _ in range(2):
        response = client.get("/api/v1/contacts")
        assert response.status_code == 503
        assert response.get_json()["type"].endswith("/upstream-unavailable")


def test_the_slot_is_released_when_the_service_does_not_answer_in_time():
    silent = socket.create_server(("127.0.0.1", 0))
    held = []

    def hold_every_connection():
        while True:
            try:
                held.append(silent.accept()[0])
            except OSError:
                return

    threading.Thread(target=hold_every_connection, daemon=True).start()
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    client = gateway(
        Upstreams({"contacts": url}, read_timeout=0.3, max_concurrency=1, queue_timeout=0.2)
    )
    try:
        for _ in range(2):
            response = client.get("/api/v1/contacts")
            assert response.status_code == 504
            assert response.get_json()["type"].endswith("/upstream-timeout")
    finally:
        silent.close()
        for connection in held:
            connection.close()


def test_the_slot_is_released_when_relaying_fails(service, monkeypatch):
    upstreams = Upstreams({"contacts": service.url}, max_concurrency=1, queue_timeout=0.2)
    client = gateway(upstreams)

    def fail(*args, **kwargs):
        raise RuntimeError("relaying failed")

    with monkeypatch.context() as patch:
        patch.setattr("gateway.proxy._relayed", fail)
        assert client.get("/api/v1/contacts/failing").status_code == 500
    response = client.get("/api/v1/contacts/next")
    assert response.status_code == 200
    response.close()


def test_event_streams_are_not_counted_in_the_bulkhead(service):
    urls = {"notifications": service.url}
    client = gateway(Upstreams(urls, max_concurrency=1, queue_timeout=0.2))
    held = client.get("/api/v1/notifications")
    assert held.status_code == 200
    stream = client.get("/api/v1/notifications/stream")
    assert stream.status_code == 200
    assert service.seen == ["/api/v1/notifications", "/api/v1/notifications/stream"]
    stream.close()
    held.close()
