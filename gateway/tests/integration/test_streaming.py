"""Server-Sent Events through the gateway: passed on frame by frame, never buffered."""

from pathlib import Path

import pytest

from gateway.app import create_app as create_gateway
from gateway.tests.conftest import add_user
from services.notifications.app import create_app as create_notifications
from services.notifications.handlers import consumers
from services.notifications.tests.conftest import lead_event
from shared.config import Settings
from shared.testing.fixtures import migrated
from shared.testing.helpers import auth
from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer
from shared.testing.sse import SSEClient

ROOT = Path(__file__).resolve().parents[3]
SLOW_HEARTBEAT = {
    "CRM_SSE_POLL_SECONDS": "0.05",
    "CRM_SSE_HEARTBEAT_SECONDS": "1",
    "CRM_SSE_MAX_SECONDS": "8",
}


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def streaming(tmp_path, monkeypatch):
    """A gateway whose ordinary read timeout (0.5 s) is shorter than the stream's heartbeat."""
    monkeypatch.setenv("UPSTREAM_READ_TIMEOUT", "0.5")
    monkeypatch.delenv("UPSTREAM_STREAM_READ_TIMEOUT", raising=False)
    database = migrated(
        f"sqlite:///{tmp_path}/notifications.db", ROOT / "services/notifications/migrations"
    )
    settings = Settings(
        service="notifications", env="test", database_url=database.url, extra=SLOW_HEARTBEAT
    )
    notifications = ThreadServer(create_notifications(settings, database=database), free_port())
    gateway_db = migrated(f"sqlite:///{tmp_path}/gateway.db", ROOT / "gateway/migrations")
    add_user(gateway_db, "sdr-1", "sdr")
    gateway = ThreadServer(
        create_gateway(
            Settings(service="gateway", env="test", database_url=gateway_db.url),
            database=gateway_db,
            urls={"notifications": notifications.url},
        ),
        free_port(),
    )
    yield gateway.url, consumers(settings, database)[0]
    gateway.stop()
    notifications.stop()
    database.dispose()
    gateway_db.dispose()


def test_a_stream_through_the_gateway_delivers_each_frame_as_it_happens(streaming):
    gateway, consumer = streaming
    stream = SSEClient(f"{gateway}/api/v1/notifications/stream", auth("sdr", "sdr-1"))
    try:
        assert stream.response.headers["Content-Type"].startswith("text/event-stream")
        assert stream.response.headers["X-Accel-Buffering"] == "no"
        assert stream.response.headers["Cache-Control"] == "no-cache"
        stream.wait_until_connected(timeout=15)
        consumer.handle(lead_event("sdr-1", "mgr-1"))
        stream.wait_for_notifications(1, timeout=15)
        # Passed on as it happened: the stream (8 s long) is still open, so nothing waited
        # for its end to be sent.
        assert not stream.ended.is_set()
        # Silent for longer than the gateway's ordinary read timeout, and still open:
        assert stream.ended.wait(timeout=30), "the service ends the stream after 8 s"
        assert "keep-alive" in stream.comments
    finally:
        stream.close()


def test_the_gateway_refuses_a_stream_without_a_token(streaming):
    gateway, _ = streaming
    stream = SSEClient(f"{gateway}/api/v1/notifications/stream")
    assert stream.response.status_code == 401
