"""Nothing happens twice: inbox de-duplication, retry tiers, dead letters and their replay."""

import json
import subprocess

import pika
import pytest
from sqlalchemy import func, select

from services.contacts.models import Company, InboxEvent
from shared import dlq
from shared.consumer import Consumer, PermanentError
from shared.events import EXCHANGE, envelope
from shared.testing.helpers import eventually, unique
from shared.topology import declare_exchange, dlq_name, retry_name

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]
DELAYS = (200, 400)


def companies_named(database, name):
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(Company).where(Company.name == name))


def publish(channel, key, body, message_id="m"):
    declare_exchange(channel)
    channel.basic_publish(
        EXCHANGE,
        key,
        body,
        pika.BasicProperties(
            message_id=message_id, delivery_mode=2, content_type="application/cloudevents+json"
        ),
    )


def event_body(event_type, name, event_id=None):
    return envelope(
        event_type=event_type,
        source="/crm/test",
        subject=name,
        data={"name": name},
        event_id=event_id,
    )


@pytest.fixture
def queue(channel):
    name = unique("test") + ".inbox"
    yield name
    for suffix in ("", ".dlq", *(f".retry.{i}" for i in range(1, len(DELAYS) + 1))):
        channel.queue_delete(name + suffix)


def make_consumer(database, amqp_url, queue, key, handler, stop):
    consumer = Consumer(
        queue=queue,
        bindings=[key],
        handlers={key: handler},
        database=database,
        inbox_model=InboxEvent,
        amqp_url=amqp_url,
        stop=stop,
        retry_delays_ms=DELAYS,
    )
    return consumer


def queue_depth(channel, name):
    return channel.queue_declare(name, passive=True).method.message_count


def test_the_same_event_delivered_twice_has_one_effect(
    contacts_db, amqp_url, channel, queue, background
):
    stop, start = background
    key, name = unique("test") + ".pinged", unique("co")

    def create_company(session, event):
        session.add(Company(name=event.data["name"], owner_id="system"))

    consumer = make_consumer(contacts_db, amqp_url, queue, key, create_company, stop)
    start(consumer.run)
    eventually(lambda: consumer.connected)
    body = event_body(key, name, event_id=unique("evt"))
    publish(channel, key, body)
    publish(channel, key, body)
    eventually(lambda: companies_named(contacts_db, name) == 1)
    eventually(lambda: queue_depth(channel, queue) == 0)
    with contacts_db.sessions() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(InboxEvent).where(InboxEvent.consumer == queue)
            )
            == 1
        )
    assert companies_named(contacts_db, name) == 1


def test_a_transient_failure_is_retried_with_delay_and_then_succeeds(
    contacts_db, amqp_url, channel, queue, background
):
    stop, start = background
    key, name = unique("test") + ".flaky", unique("co")
    failures = []

    def flaky(session, event):
        if len(failures) < 2:
            failures.append(1)
            raise RuntimeError("database hiccup")
        session.add(Company(name=event.data["name"], owner_id="system"))

    consumer = make_consumer(contacts_db, amqp_url, queue, key, flaky, stop)
    start(consumer.run)
    eventually(lambda: consumer.connected)
    publish(channel, key, event_body(key, name))
    eventually(lambda: companies_named(contacts_db, name) == 1)
    assert len(failures) == 2
    assert queue_depth(channel, dlq_name(queue)) == 0
    assert queue_depth(channel, retry_name(queue, 1)) == 0


def test_a_poison_message_is_dead_lettered_and_the_replay_command_redelivers_it(
    contacts_db, amqp_url, channel, queue, background
):
    stop, start = background
    key, name = unique("test") + ".poison", unique("co")
    broken = {"yes": True}

    def strict(session, event):
        if broken["yes"]:
            raise PermanentError("payload rejected by a bug we will fix")
        session.add(Company(name=event.data["name"], owner_id="system"))

    consumer = make_consumer(contacts_db, amqp_url, queue, key, strict, stop)
    start(consumer.run)
    eventually(lambda: consumer.connected)
    event_id = unique("evt")
    publish(channel, key, event_body(key, name, event_id=event_id), message_id=event_id)
    publish(channel, key, b"this is not json", message_id="garbage-1")
    letters = eventually(
        lambda: (lambda ls: ls if len(ls) == 2 else None)(dlq.list_dead_letters(amqp_url, queue))
    )
    by_id = {letter["message_id"]: letter for letter in letters}
    assert "payload rejected" in by_id[event_id]["error"]
    assert "CloudEvents" in by_id["garbage-1"]["error"]
    shown = dlq.show_dead_letter(amqp_url, queue, event_id)
    assert json.loads(shown["body"])["id"] == event_id
    assert companies_named(contacts_db, name) == 0

    broken["yes"] = False  # the fix is deployed
    assert dlq.replay(amqp_url, queue, {event_id}) == 1
    eventually(lambda: companies_named(contacts_db, name) == 1)
    remaining = dlq.list_dead_letters(amqp_url, queue)
    assert [letter["message_id"] for letter in remaining] == ["garbage-1"]


def test_an_unknown_event_type_is_dead_lettered_unless_the_consumer_ignores_them(
    contacts_db, amqp_url, channel, queue, background
):
    stop, start = background
    key = unique("test") + ".known"
    consumer = Consumer(
        queue=queue,
        bindings=[key, key + ".other"],
        handlers={key: lambda s, e: None},
        database=contacts_db,
        inbox_model=InboxEvent,
        amqp_url=amqp_url,
        stop=stop,
        retry_delays_ms=DELAYS,
    )
    start(consumer.run)
    eventually(lambda: consumer.connected)
    publish(channel, key + ".other", event_body(key + ".other", "x"), message_id="odd-1")
    eventually(
        lambda: [x["message_id"] for x in dlq.list_dead_letters(amqp_url, queue)] == ["odd-1"]
    )


def test_stopping_a_consumer_returns_unhandled_messages_to_the_queue(
    contacts_db, amqp_url, channel, queue, background
):
    stop, start = background
    key = unique("test") + ".stop"
    consumer = make_consumer(contacts_db, amqp_url, queue, key, lambda s, e: None, stop)
    thread = start(consumer.run)
    eventually(lambda: consumer.connected)
    stop.set()
    thread.join(timeout=15)
    assert not thread.is_alive()
    publish(channel, key, event_body(key, "later"))
    eventually(lambda: queue_depth(channel, queue) == 1)


def broker(*args: str) -> str:
    """rabbitmqctl against the test broker (scripts/ensure-rabbitmq.sh installs it)."""
    result = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout


def queue_arguments(name: str) -> dict:
    queues = json.loads(broker("list_queues", "name", "arguments", "--formatter", "json"))
    (found,) = [q for q in queues if q["name"] == name]
    return {key: value for key, _type, value in found["arguments"]}


def connections_named(name: str) -> list[str]:
    """The pids of the broker's connections a client named `name` (pika's connection_name)."""
    listed = broker("list_connections", "-q", "--no-table-headers", "pid", "client_properties")
    return [line.split()[0] for line in listed.splitlines() if f'"{name}"' in line]


def test_every_dead_lettering_hop_is_at_least_once(
    contacts_db, amqp_url, channel, queue, background
):
    stop, start = background
    key = unique("test") + ".durable"
    consumer = make_consumer(contacts_db, amqp_url, queue, key, lambda s, e: None, stop)
    start(consumer.run)
    eventually(lambda: consumer.connected)
    for name in (queue, retry_name(queue, 1), retry_name(queue, 2)):
        arguments = queue_arguments(name)
        assert arguments["x-dead-letter-strategy"] == "at-least-once", name
        assert arguments["x-overflow"] == "reject-publish", name  # what at-least-once needs


def test_a_message_in_a_retry_tier_is_delivered_after_the_consumers_connection_is_killed(
    contacts_db, amqp_url, channel, queue, background
):
    stop, start = background
    key, name = unique("test") + ".killed", unique("co")
    failures = []

    def fails_once(session, event):
        if not failures:
            failures.append(1)
            raise RuntimeError("database hiccup")
        session.add(Company(name=event.data["name"], owner_id="system"))

    consumer = Consumer(
        queue=queue,
        bindings=[key],
        handlers={key: fails_once},
        database=contacts_db,
        inbox_model=InboxEvent,
        amqp_url=amqp_url,
        stop=stop,
        retry_delays_ms=(8_000,),  # long enough to kill the connection while it waits there
    )
    start(consumer.run)
    eventually(lambda: consumer.connected, timeout=30)
    (first,) = eventually(lambda: connections_named(f"consumer {queue}") or None, timeout=30)
    publish(channel, key, event_body(key, name))
    eventually(lambda: failures, timeout=30)
    broker("close_connection", first, "test: the consumer's connection is lost")
    # The consumer reconnects on a new connection; the message comes back from its tier.
    eventually(lambda: (connections_named(f"consumer {queue}") or [first]) != [first], timeout=60)
    eventually(lambda: companies_named(contacts_db, name) == 1, timeout=60)
    assert len(failures) == 1
    assert queue_depth(channel, dlq_name(queue)) == 0


def test_a_dead_letter_keeps_the_events_routing_key_through_its_retries(
    contacts_db, amqp_url, channel, queue, background
):
    stop, start = background
    key = unique("test") + ".hopeless"

    def always_fails(session, event):
        raise RuntimeError("still down")

    consumer = make_consumer(contacts_db, amqp_url, queue, key, always_fails, stop)
    start(consumer.run)
    eventually(lambda: consumer.connected)
    event_id = unique("evt")
    publish(channel, key, event_body(key, "x", event_id=event_id), message_id=event_id)
    eventually(lambda: dlq.list_dead_letters(amqp_url, queue) or None, timeout=60)
    letter = dlq.show_dead_letter(amqp_url, queue, event_id)
    assert letter["headers"]["x-original-routing-key"] == key
    assert letter["headers"]["x-retry-count"] == len(DELAYS)
    assert "gave up after 2 retries" in letter["headers"]["x-error"]


def test_a_queue_an_older_release_declared_is_kept_and_the_consumer_still_runs(
    contacts_db, amqp_url, channel, queue, background
):
    channel.queue_declare(  # as before at-least-once dead-lettering
        queue,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": 10,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dlq_name(queue),
        },
    )
    stop, start = background
    key, name = unique("test") + ".legacy", unique("co")

    def handle(session, event):
        session.add(Company(name=event.data["name"], owner_id="system"))

    consumer = make_consumer(contacts_db, amqp_url, queue, key, handle, stop)
    start(consumer.run)
    eventually(lambda: consumer.connected, timeout=30)
    publish(channel, key, event_body(key, name))
    eventually(lambda: companies_named(contacts_db, name) == 1, timeout=30)
    assert "x-dead-letter-strategy" not in queue_arguments(queue)
    assert queue_arguments(retry_name(queue, 1))["x-dead-letter-strategy"] == "at-least-once"
