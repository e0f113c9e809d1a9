"""The relay on PostgreSQL: woken by the commit's NOTIFY, and fast in batches, in order."""

import psycopg
import pytest
from sqlalchemy import event, func, select, text

from services.contacts.models import OutboxEvent
from shared.leader import leader_lock
from shared.outbox import Outbox
from shared.relay import PikaPublisher, Relay
from shared.testing.helpers import EventTap, eventually, unique
from shared.wakeup import APPLICATION_NAME, notify_channel

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]


def record(database, event_type, n, per_transaction=1):
    outbox, ids = Outbox(OutboxEvent, "wakeup"), []
    for start in range(0, n, per_transaction):
        with database.transaction() as session:
            ids += [
                outbox.record(session, event_type, {"id": unique("w"), "n": i})
                for i in range(start, min(n, start + per_transaction))
            ]
    return ids


def start_relay(database, amqp_url, background, **kwargs):
    stop, start = background
    relay = Relay(
        database=database,
        model=OutboxEvent,
        stop=stop,
        lock=leader_lock(database, unique("relay")),
        connect=lambda: PikaPublisher(amqp_url),
        **kwargs,
    )
    start(relay.run)
    eventually(lambda: relay.connected and relay.listener.listening, timeout=30)
    return relay


def unpublished(database) -> int:
    with database.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
        )


def listener_pids(database) -> list[int]:
    with database.engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": APPLICATION_NAME},
            ).scalars()
        )


def test_a_commit_wakes_a_relay_whose_safety_net_poll_is_ten_minutes_away(
    contacts_db, amqp_url, background
):
    key = unique("wake")
    tap = EventTap(amqp_url, keys=(key,))
    try:
        start_relay(contacts_db, amqp_url, background, poll_seconds=600, safety_poll_seconds=600)
        [first] = record(contacts_db, key, 1)
        eventually(lambda: [e["id"] for e in tap.drain()] == [first], timeout=30)
        # The relay has published and gone back to waiting: only the NOTIFY can wake it now.
        [second] = record(contacts_db, key, 1)
        eventually(lambda: [e["id"] for e in tap.drain()] == [first, second], timeout=30)
    finally:
        tap.close()


def test_a_relay_whose_listen_connection_drops_polls_and_listens_again(
    contacts_db, amqp_url, background
):
    key = unique("relisten")
    tap = EventTap(amqp_url, keys=(key,))
    try:
        start_relay(contacts_db, amqp_url, background, poll_seconds=0.05, safety_poll_seconds=600)
        [before] = listener_pids(contacts_db)
        with contacts_db.engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": before})
        ids = record(contacts_db, key, 2)
        eventually(lambda: [e["id"] for e in tap.drain()] == ids, timeout=30)
        eventually(lambda: len(listener_pids(contacts_db)) == 1, timeout=30)
        assert listener_pids(contacts_db) != [before]
        more = record(contacts_db, key, 1)
        eventually(lambda: [e["id"] for e in tap.drain()] == ids + more, timeout=30)
    finally:
        tap.close()


def test_thousands_of_events_arrive_complete_and_in_seq_order(contacts_db, amqp_url, background):
    key = unique("many")
    tap = EventTap(amqp_url, keys=(key,))
    try:
        ids = record(contacts_db, key, 3000, per_transaction=500)
        start_relay(contacts_db, amqp_url, background)
        eventually(lambda: unpublished(contacts_db) == 0, timeout=60)
        eventually(lambda: len(tap.drain()) >= 3000, timeout=30)
        assert [e["id"] for e in tap.received] == ids
        assert [e["data"]["n"] for e in tap.received] == list(range(3000))
    finally:
        tap.close()


def test_an_outbox_row_notifies_once_per_transaction_and_only_on_commit(contacts_db):
    notifies = []

    @event.listens_for(contacts_db.engine, "before_cursor_execute")
    def count(_conn, _cursor, statement, *_args):
        if "pg_notify" in statement:
            notifies.append(statement)

    conninfo = contacts_db.engine.url.set(drivername="postgresql")
    with psycopg.connect(conninfo.render_as_string(hide_password=False), autocommit=True) as pg:
        pg.execute(f"LISTEN {notify_channel('outbox')}")
        outbox = Outbox(OutboxEvent, "wakeup")
        with contacts_db.transaction() as session:
            outbox.record(session, "thing.happened", {"id": "a"})
            outbox.record(session, "thing.happened", {"id": "b"})
            assert list(pg.notifies(timeout=0.5)) == []  # not before the commit
        assert len(notifies) == 1
        with pytest.raises(RuntimeError), contacts_db.transaction() as session:
            outbox.record(session, "thing.happened", {"id": "c"})
            raise RuntimeError("rolled back")
        heard = list(pg.notifies(timeout=2))
    assert len(notifies) == 2
    assert [(n.channel, n.payload) for n in heard] == [(notify_channel("outbox"), "")]
