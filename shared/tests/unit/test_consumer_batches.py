"""Deliveries a consumer already holds, handled in one transaction: without a broker."""

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from services.contacts.models import Base, Company, InboxEvent
from shared.consumer import ACK, DUPLICATE, Consumer
from shared.db import Database
from shared.events import envelope


@pytest.fixture
def database(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/unit.db")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def delivery(event_id, name="Acme", event_type="thing.happened", tag=1):
    body = envelope(
        event_type=event_type,
        source="/crm/unit",
        subject="s",
        data={"name": name},
        event_id=event_id,
    )
    method = SimpleNamespace(delivery_tag=tag, routing_key=event_type)
    return (
        method,
        SimpleNamespace(
            message_id=event_id,
            headers=None,
            type=event_type,
            content_type="application/cloudevents+json",
            correlation_id=None,
        ),
        body,
    )


def add_company(session, event):
    if event.data["name"] == "boom":
        raise TimeoutError("slow")
    session.add(Company(name=event.data["name"], owner_id="o"))


def consumer(database):
    return Consumer(
        queue="unit.inbox",
        bindings=["#"],
        handlers={"thing.happened": add_company},
        database=database,
        inbox_model=InboxEvent,
    )


def counts(database):
    with database.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Company)),
            session.scalar(select(func.count()).select_from(InboxEvent)),
        )


def test_a_batch_has_one_effect_per_event_and_repeats_inside_it_are_duplicates(database):
    worker = consumer(database)
    worker.handle(delivery("e0")[2])  # handled before the batch came
    batch = [delivery("e0"), delivery("e1"), delivery("e2"), delivery("e1")]
    outcomes = worker.handle_batch(batch)
    assert [o.kind for o in outcomes] == [DUPLICATE, ACK, ACK, DUPLICATE]
    assert counts(database) == (3, 3)


def test_a_failing_handler_rolls_the_whole_batch_back_for_the_one_by_one_path(database):
    worker = consumer(database)
    assert worker.handle_batch([delivery("e1"), delivery("e2", name="boom")]) is None
    assert counts(database) == (0, 0)


def test_a_message_that_is_no_event_or_has_no_handler_is_not_batched(database):
    worker = consumer(database)
    method, properties, _ = delivery("e2")
    assert worker.handle_batch([delivery("e1"), (method, properties, b"{no")]) is None
    assert worker.handle_batch([delivery("e1"), delivery("e3", event_type="other")]) is None
    assert counts(database) == (0, 0)


class Channel:
    def __init__(self):
        self.acks, self.forwarded = [], []

    def basic_ack(self, tag, multiple=False):
        self.acks.append((tag, multiple))

    def basic_publish(self, **kwargs):
        self.forwarded.append(kwargs["routing_key"])


def test_a_batch_is_acked_once_after_its_commit_and_a_split_one_message_by_message(database):
    worker, channel = consumer(database), Channel()
    worker.deliver_all(channel, [delivery("e1", tag=1), delivery("e2", tag=2)])
    assert channel.acks == [(2, True)]
    channel.acks.clear()
    worker.deliver_all(channel, [delivery("e3", tag=3), delivery("e4", "boom", tag=4)])
    assert channel.acks == [(3, False), (4, False)]
    assert channel.forwarded == ["unit.inbox.retry.1"]  # before its ack
    assert counts(database) == (3, 3)
