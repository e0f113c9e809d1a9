"""On PostgreSQL, open streams are woken by one LISTEN connection per process, not by polls.

Each stream's safety poll is ten minutes away here, so what arrives within the tests' bounds
came by NOTIFY (or by the wake after the LISTEN connection came back).
"""

import psycopg
import pytest

from services.notifications import stream as stream_module
from services.notifications.app import create_app
from services.notifications.listener import APPLICATION_NAME
from services.notifications.models import Notification
from services.notifications.tests.conftest import lead_event, settings_for, stop_streams
from shared import lifecycle
from shared.ids import new_id
from shared.testing.helpers import auth, eventually
from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer
from shared.testing.sse import SSEClient

TEN_MINUTES = "600"
STREAM = "/api/v1/notifications/stream"


@pytest.fixture
def backend():
    return "postgresql"  # LISTEN/NOTIFY; SQLite streams poll


@pytest.fixture
def live_app(notifications_db):
    live = create_app(
        settings_for(
            notifications_db.url,
            CRM_SSE_SAFETY_POLL_SECONDS=TEN_MINUTES,
            CRM_SSE_POLL_SECONDS=TEN_MINUTES,
            CRM_SSE_HEARTBEAT_SECONDS="0.5",  # a closed test client notices at once
            CRM_SSE_MAX_SECONDS=TEN_MINUTES,
        ),
        database=notifications_db,
    )
    yield live
    stop_streams(live)


@pytest.fixture
def server(live_app):
    running = ThreadServer(live_app, free_port())
    yield running
    running.stop()


@pytest.fixture
def own_queries(monkeypatch) -> list[str]:
    """The users for whom a stream queried by itself (at first, on a recheck, a safety poll)."""
    users: list[str] = []
    query = stream_module.query

    def counted(database, user_id, cursor):
        users.append(user_id)
        return query(database, user_id, cursor)

    monkeypatch.setattr(stream_module, "query", counted)
    return users


def listener_backends(database) -> list[int]:
    with psycopg.connect(database.url, autocommit=True) as pg:
        rows = pg.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND datname = %s",
            (APPLICATION_NAME, pg.info.dbname),
        ).fetchall()
    return [pid for (pid,) in rows]


def open_streams(server, live_app, own_queries, users) -> list[SSEClient]:
    """Streams that have joined the fan-out, made their first query and now wait."""
    streams = [SSEClient(f"{server.url}{STREAM}", auth("sdr", user)) for user in users]
    for stream in streams:
        stream.wait_until_connected(timeout=30)
    fanout = live_app.extensions["fanout"]
    eventually(lambda: fanout.waiting() == len(users) and len(own_queries) >= len(users), 30)
    eventually(lambda: fanout.feeder.listening, 30)
    return streams


def store_unannounced(database, user_id) -> str:
    """A notification stored without its NOTIFY, as one committed while nobody listened."""
    with database.transaction() as session:
        row = Notification(
            user_id=user_id,
            type="lead.assigned",
            message="Lead assigned to you: Ada Lovelace",
            link=f"/leads/{new_id()}",
            record_type="lead",
            record_id=new_id(),
            is_read=False,
            event_id=new_id(),
        )
        session.add(row)
        session.flush()
        return row.id


def test_a_notification_reaches_an_open_stream_by_notify(server, live_app, consumer, own_queries):
    [stream] = open_streams(server, live_app, own_queries, ["sdr-1"])
    try:
        queried = len(own_queries)
        consumer.handle(lead_event("sdr-1", "mgr-1"))
        [frame] = stream.wait_for_notifications(1, timeout=30)
        assert frame["json"]["user_id"] == "sdr-1"
        assert len(own_queries) == queried  # handed over by the fan-out, not polled
    finally:
        stream.close()


def test_a_dropped_listen_connection_is_opened_again_and_wakes_every_stream(
    server, live_app, notifications_db, own_queries
):
    streams = open_streams(server, live_app, own_queries, ["sdr-1", "sdr-2"])
    try:
        [before] = listener_backends(notifications_db)
        missed = (
            store_unannounced(notifications_db, "sdr-1"),
            store_unannounced(notifications_db, "sdr-2"),
        )
        queried = len(own_queries)
        with psycopg.connect(notifications_db.url, autocommit=True) as pg:
            pg.execute("SELECT pg_terminate_backend(%s)", (before,))
        for stream, notification_id in zip(streams, missed, strict=True):
            [frame] = stream.wait_for_notifications(1, timeout=30)
            assert frame["id"] == notification_id
        assert len(own_queries) == queried  # the fan-out's wake after reconnecting sent them
        [after] = eventually(lambda: listener_backends(notifications_db), 30)
        assert after != before
    finally:
        for stream in streams:
            stream.close()


def test_many_streams_of_one_process_share_one_listen_connection(
    server, live_app, notifications_db, consumer, own_queries
):
    users = ["sdr-1"] * 4 + [f"sdr-{n}" for n in range(2, 8)]
    streams = open_streams(server, live_app, own_queries, users)
    try:
        assert len(listener_backends(notifications_db)) == 1
        consumer.handle(lead_event("sdr-1", "mgr-1"))
        for stream in streams[:4]:
            [frame] = stream.wait_for_notifications(1, timeout=30)
            assert frame["json"]["user_id"] == "sdr-1"
        assert all(stream.notifications() == [] for stream in streams[4:])
        assert len(listener_backends(notifications_db)) == 1
    finally:
        for stream in streams:
            stream.close()


def test_waiting_streams_end_when_the_process_begins_to_stop(
    server, live_app, own_queries, monkeypatch
):
    streams = open_streams(server, live_app, own_queries, ["sdr-1", "sdr-2"])
    try:
        monkeypatch.setattr(lifecycle, "_check", lambda: True)  # as after gunicorn's SIGTERM
        for stream in streams:
            eventually(stream.ended.is_set, timeout=30)  # not after the ten-minute lifetime
    finally:
        for stream in streams:
            stream.close()
