"""Stream tickets: a browser's EventSource opens the stream once with `?ticket=`, no header."""

import hashlib
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, update

from services.notifications.app import create_app
from services.notifications.jobs import jobs
from services.notifications.models import Base, IdempotencyKey, StreamTicket
from services.notifications.tests.conftest import (
    MIGRATIONS,
    lead_event,
    settings_for,
    stop_streams,
)
from shared.auth import SERVICE
from shared.db import utcnow
from shared.errors import PROBLEM_JSON
from shared.migrations import downgrade, upgrade
from shared.testing.helpers import auth, eventually, token_for
from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer
from shared.testing.sse import SSEClient

SDR = auth("sdr", "sdr-1")
STREAM = "/api/v1/notifications/stream"
ISSUE = "/api/v1/notifications/stream-ticket"
ZERO = "00000000-0000-0000-0000-000000000000"


def issue(client, headers=SDR) -> str:
    response = client.post(ISSUE, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["ticket"]


def stored(database) -> list[StreamTicket]:
    with database.sessions() as session:
        return list(session.scalars(select(StreamTicket)))


def assert_refused(response) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    assert "event:" not in response.get_data(as_text=True)


@pytest.fixture
def server(notifications_db):
    """The service on a real port, with streams that stay open long enough to wait on."""
    live = create_app(
        settings_for(notifications_db.url, CRM_SSE_MAX_SECONDS="60"), database=notifications_db
    )
    running = ThreadServer(live, free_port())
    yield running
    stop_streams(live)
    running.stop()


def test_a_ticket_opens_the_callers_stream_without_a_header_once(server, client, consumer):
    response = client.post(ISSUE, headers=SDR)
    assert response.status_code == 201
    assert response.json["expires_in"] == 60 and set(response.json) == {"ticket", "expires_in"}
    assert response.headers["Cache-Control"] == "no-store"
    ticket = response.json["ticket"]

    stream = SSEClient(f"{server.url}{STREAM}?ticket={ticket}")
    try:
        assert stream.response.status_code == 200
        stream.wait_until_connected(timeout=15)
        consumer.handle(lead_event("sdr-2", "mgr-1"))  # someone else's, made first
        consumer.handle(lead_event("sdr-1", "mgr-1"))
        [frame] = stream.wait_for_notifications(1, timeout=30)
        assert frame["json"]["user_id"] == "sdr-1"
        assert_refused(client.get(f"{STREAM}?ticket={ticket}"))  # a second time
    finally:
        stream.close()
    assert [n["json"]["user_id"] for n in stream.notifications()] == ["sdr-1"]


def test_a_ticket_stream_holds_no_database_connection_while_it_waits(server, client, app):
    pool = app.extensions["database"].engine.pool
    stream = SSEClient(f"{server.url}{STREAM}?ticket={issue(client)}")
    try:
        stream.wait_until_connected(timeout=15)
        eventually(lambda: pool.checkedout() == 0, timeout=30, interval=0.01)
        assert not stream.ended.is_set()
    finally:
        stream.close()


def test_a_ticket_is_used_up_even_by_a_stream_that_has_ended(client, consumer):
    consumer.handle(lead_event("sdr-1", "mgr-1"))
    ticket = issue(client)
    body = client.get(f"{STREAM}?ticket={ticket}&last_event_id={ZERO}").get_data(as_text=True)
    assert "event: notification" in body and '"user_id":"sdr-1"' in body
    assert_refused(client.get(f"{STREAM}?ticket={ticket}"))
    [row] = stored(client.application.extensions["database"])
    assert row.used_at is not None


def test_an_expired_ticket_is_refused(client, notifications_db):
    ticket = issue(client)
    with notifications_db.transaction() as session:
        session.execute(update(StreamTicket).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert_refused(client.get(f"{STREAM}?ticket={ticket}"))


def test_the_lifetime_comes_from_crm_stream_ticket_seconds(notifications_db):
    short = create_app(
        settings_for(notifications_db.url, CRM_STREAM_TICKET_SECONDS="0"), database=notifications_db
    ).test_client()
    response = short.post(ISSUE, headers=SDR)
    assert response.status_code == 201 and response.json["expires_in"] == 0
    assert_refused(short.get(f"{STREAM}?ticket={response.json['ticket']}"))  # already expired


@pytest.mark.parametrize("ticket", ["garbage", "", "x" * 2000])
def test_an_unknown_ticket_is_refused(client, ticket):
    issue(client)  # a real one exists, and is not this one
    response = client.get(f"{STREAM}?ticket={ticket}")
    assert_refused(response)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("name", ["access_token", "token"])
def test_a_token_in_the_url_is_never_accepted(client, name):
    response = client.get(f"{STREAM}?{name}={token_for('sdr', 'sdr-1')}")
    assert_refused(response)
    assert_refused(client.get(STREAM))  # neither header nor ticket


def test_with_a_bearer_header_the_ticket_is_left_unused(client):
    ticket = issue(client)
    with_both = client.get(f"{STREAM}?ticket={ticket}", headers=SDR)
    assert with_both.status_code == 200 and with_both.mimetype == "text/event-stream"
    with_both.get_data()  # the test stream ends after a second
    assert client.get(f"{STREAM}?ticket={ticket}").status_code == 200
    assert_refused(client.get(f"{STREAM}?ticket=garbage", headers={"Authorization": "Bearer x"}))


def test_a_service_token_gets_no_ticket_and_anonymous_callers_none(client, notifications_db):
    response = client.post(ISSUE, headers=auth(SERVICE, "service:sales"))
    assert response.status_code == 403 and response.mimetype == PROBLEM_JSON
    assert client.post(ISSUE).status_code == 401
    assert stored(notifications_db) == []


def test_only_the_tickets_hash_is_stored_even_with_an_idempotency_key(client, notifications_db):
    headers = {**SDR, "Idempotency-Key": "same-key"}
    first, second = issue(client, headers), issue(client, headers)
    assert first != second  # never replayed: a replay would hand out a used ticket
    rows = stored(notifications_db)
    assert sorted(r.ticket_hash for r in rows) == sorted(
        hashlib.sha256(t.encode()).hexdigest() for t in (first, second)
    )
    for row in rows:
        assert (row.user_id, row.role, row.email) == ("sdr-1", "sdr", "sdr@example.test")
        assert first not in repr(vars(row)) and second not in repr(vars(row))
    with notifications_db.sessions() as session:
        assert list(session.scalars(select(IdempotencyKey))) == []


def test_the_worker_job_removes_expired_tickets_and_keeps_live_ones(client, notifications_db):
    live, old = issue(client), issue(client)
    old_hash = hashlib.sha256(old.encode()).hexdigest()
    with notifications_db.transaction() as session:
        session.execute(
            update(StreamTicket)
            .where(StreamTicket.ticket_hash == old_hash)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    [job] = jobs(settings_for(notifications_db.url), notifications_db)
    job.tick()
    assert [r.ticket_hash for r in stored(notifications_db)] == [
        hashlib.sha256(live.encode()).hexdigest()
    ]


def test_the_openapi_document_describes_tickets(client):
    spec = client.get("/api/v1/openapi.json").json
    post = spec["paths"][ISSUE]["post"]
    assert {"201", "401", "403"} <= set(post["responses"])
    schema = spec["components"]["schemas"]["StreamTicket"]
    assert set(schema["required"]) == {"ticket", "expires_in"}
    get = spec["paths"][STREAM]["get"]
    assert "ticket" in [p["name"] for p in get["parameters"] if p["in"] == "query"]
    assert {"bearer": []} in get["security"] and {"streamTicket": []} in get["security"]
    assert spec["components"]["securitySchemes"]["streamTicket"]["in"] == "query"


def test_the_migration_matches_the_model_and_downgrades(notifications_db):
    with notifications_db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    downgrade(MIGRATIONS, notifications_db.url, "-1")
    with notifications_db.engine.connect() as connection:
        assert "stream_tickets" not in inspect(connection).get_table_names()
    upgrade(MIGRATIONS, notifications_db.url)
