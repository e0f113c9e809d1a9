"""Nothing is lost: writes succeed with the broker down; once back, each event arrives once."""

import pytest
from sqlalchemy import func, select

from services.contacts.models import OutboxEvent
from shared.leader import leader_lock
from shared.relay import PikaPublisher, Relay
from shared.testing.helpers import EventTap, auth, eventually, unique
from shared.testing.proxy import TcpProxy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]


def unpublished(database):
    with database.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
        )


def start_relay(database, url, stop, start):
    relay = Relay(
        database=database,
        model=OutboxEvent,
        stop=stop,
        poll_seconds=0.05,
        lock=leader_lock(database, unique("relay")),
        connect=lambda: PikaPublisher(url),
    )
    start(relay.run)
    return relay


def create_contacts(client, n, marker):
    ids = []
    for i in range(n):
        response = client.post(
            "/api/v1/contacts", json={"name": f"{marker}-{i}"}, headers=auth("sdr")
        )
        assert response.status_code == 201
        ids.append(response.json["id"])
    return ids


def received_once(tap, ids):
    events = [e for e in tap.drain() if e.get("subject") in ids]
    assert sorted(e["subject"] for e in events) == sorted(ids), "missing or duplicated events"
    return events


def test_contacts_created_while_the_broker_is_down_are_published_once_it_is_back(
    client, contacts_db, amqp_url, broker_address, background
):
    stop, start = background
    proxy = TcpProxy(*broker_address)
    proxy.cut()
    tap = EventTap(amqp_url, keys=("contact.created",))
    try:
        relay = start_relay(
            contacts_db, f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F", stop, start
        )
        ids = create_contacts(client, 5, unique("down"))
        assert unpublished(contacts_db) == 5 and not relay.connected
        proxy.restore()
        eventually(lambda: unpublished(contacts_db) == 0, timeout=30)
        events = eventually(lambda: received_once(tap, ids))
        assert {e["type"] for e in events} == {"contact.created"}
        assert all(e["properties"].message_id == e["id"] for e in events)
        assert all(e["properties"].delivery_mode == 2 for e in events)
        eventually(lambda: relay.connected)
        more = create_contacts(client, 3, unique("after"))
        eventually(lambda: received_once(tap, ids + more))
    finally:
        proxy.close()
        tap.close()


def test_a_broker_that_drops_mid_stream_loses_nothing(
    client, contacts_db, amqp_url, broker_address, background
):
    stop, start = background
    proxy = TcpProxy(*broker_address)
    tap = EventTap(amqp_url, keys=("contact.created",))
    try:
        start_relay(contacts_db, f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F", stop, start)
        first = create_contacts(client, 4, unique("before"))
        eventually(lambda: received_once(tap, first))
        proxy.cut()
        during = create_contacts(client, 4, unique("during"))
        proxy.restore()
        eventually(lambda: received_once(tap, first + during), timeout=40)
    finally:
        proxy.close()
        tap.close()


def test_only_one_relay_publishes_at_a_time(contacts_db):
    name = unique("relay")
    first, second = leader_lock(contacts_db, name), leader_lock(contacts_db, name)
    assert first.acquire() is True
    assert second.acquire() is False
    first.release()
    assert second.acquire() is True
    second.release()
