"""The live stream: new notifications within a second, resumed with Last-Event-ID."""

import time

import pytest

from services.notifications.app import create_app
from services.notifications.tests.conftest import lead_event, settings_for, stop_streams
from shared import lifecycle
from shared.testing.helpers import auth, eventually
from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer
from shared.testing.sse import SSEClient

SDR = auth("sdr", "sdr-1")
ZERO = "00000000-0000-0000-0000-000000000000"


def notify(consumer, owner="sdr-1", times=1):
    for _ in range(times):
        consumer.handle(lead_event(owner, "mgr-1"))


def own_ids(client, headers=SDR):
    items = client.get("/api/v1/notifications", headers=headers).json["items"]
    return sorted(n["id"] for n in items)  # oldest first


def frames_of(body: str) -> list[dict]:
    frames = []
    for block in body.strip().split("\n\n"):
        lines = [line.partition(": ") for line in block.split("\n") if not line.startswith(":")]
        frames.append({name: value for name, _, value in lines})
    return frames


@pytest.fixture
def live_app(notifications_db):
    """The service with streams that stay open long enough to wait on."""
    live = create_app(
        settings_for(notifications_db.url, CRM_SSE_MAX_SECONDS="120"), database=notifications_db
    )
    yield live
    stop_streams(live)


@pytest.fixture
def server(live_app):
    running = ThreadServer(live_app, free_port())
    yield running
    running.stop()


def test_a_reconnect_resumes_after_the_last_event_id(client, consumer):
    notify(consumer, times=3)
    first, second, third = own_ids(client)
    response = client.get("/api/v1/notifications/stream", headers={**SDR, "Last-Event-ID": first})
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    frames = frames_of(response.get_data(as_text=True))  # the test stream ends after 1 s
    assert frames[0] == {"retry": "3000"}
    sent = [f for f in frames if f.get("event") == "notification"]
    assert [f["id"] for f in sent] == [second, third]
    query = client.get(f"/api/v1/notifications/stream?last_event_id={second}", headers=SDR)
    assert [f["id"] for f in frames_of(query.get_data(as_text=True)) if "id" in f] == [third]


def test_a_new_connection_sends_nothing_old_and_nothing_of_anyone_else(client, consumer):
    notify(consumer, times=2)
    notify(consumer, owner="sdr-2")
    fresh = client.get("/api/v1/notifications/stream", headers=SDR).get_data(as_text=True)
    assert "event: notification" not in fresh
    assert ": keep-alive" in fresh  # heartbeats while quiet
    everything = client.get("/api/v1/notifications/stream", headers={**SDR, "Last-Event-ID": ZERO})
    sent = [f["id"] for f in frames_of(everything.get_data(as_text=True)) if "id" in f]
    assert sent == own_ids(client)


def test_a_last_event_id_that_is_no_notification_id_is_a_422(client):
    response = client.get("/api/v1/notifications/stream", headers={**SDR, "Last-Event-ID": "x"})
    assert response.status_code == 422 and "Last-Event-ID" in response.json["errors"]


def test_a_connected_user_gets_a_new_notification_on_the_open_stream(server, consumer):
    # How fast it arrives is a figure for `make bench`, not a test: CI machines are busy.
    stream = SSEClient(f"{server.url}/api/v1/notifications/stream", SDR)
    try:
        stream.wait_until_connected(timeout=30)
        notify(consumer)
        [frame] = stream.wait_for_notifications(1, timeout=30)
        assert frame["json"]["user_id"] == "sdr-1" and frame["json"]["id"] == frame["id"]
        assert frame["json"]["link"].startswith("/leads/")
    finally:
        stream.close()


def test_open_streams_hold_no_database_connection_while_they_wait(server, consumer, live_app):
    """Twenty streams, one pool of at most fifteen connections: all of them still deliver."""
    pool = live_app.extensions["database"].engine.pool
    streams = [SSEClient(f"{server.url}/api/v1/notifications/stream", SDR) for _ in range(20)]
    try:
        for stream in streams:
            stream.wait_until_connected(timeout=30)
        notify(consumer)
        for stream in streams:
            stream.wait_for_notifications(1, timeout=30)
        eventually(lambda: pool.checkedout() == 0, timeout=30, interval=0.01)
    finally:
        for stream in streams:
            stream.close()


def test_a_stream_ends_at_once_when_the_process_begins_to_stop(client, monkeypatch):
    monkeypatch.setattr(lifecycle, "_check", lambda: True)  # as after gunicorn's SIGTERM
    started = time.monotonic()
    body = client.get("/api/v1/notifications/stream", headers=SDR).get_data(as_text=True)
    assert time.monotonic() - started < 10  # far less than the 15 s heartbeat, let alone 5 min
    assert body == "retry: 3000\n\n"
