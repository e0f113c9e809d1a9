"""The event rows: relay throughput, commit-to-handler latency, consumer throughput.

Each row runs the real code (shared/relay.py, shared/consumer.py) against PostgreSQL and the
broker, then raw pika doing the same broker work, in the same run.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import exists, select

from bench import amqp
from bench.report import ROW, Figure, not_measured
from services.contacts.models import InboxEvent, OutboxEvent
from shared.consumer import PREFETCH, Consumer
from shared.db import Database
from shared.events import envelope
from shared.leader import leader_lock
from shared.migrations import upgrade
from shared.outbox import Outbox
from shared.relay import PikaPublisher, Relay
from shared.topology import RETRY_DELAYS_MS, declare_consumer_queue, dlq_name, retry_name

MIGRATIONS = Path(__file__).resolve().parents[1] / "services/contacts/migrations"
RELAY_EVENTS = 20_000
LATENCY_RATE, LATENCY_SECONDS = 200, 5
CONSUMER_EVENTS = int(os.environ.get("BENCH_CONSUMER_EVENTS", 10_000))
#: Generous bounds for the waits; a row that takes longer fails with the reason.
WAIT_SECONDS = 120


def measure(cluster, amqp_url: str) -> list[Figure]:
    url = cluster.create_database("bench_events")
    upgrade(MIGRATIONS, url)
    database = Database(url)
    tag = uuid.uuid4().hex[:8]
    rows: list[tuple[str, Callable[[], Figure]]] = [
        ("relay", lambda: relay_row(database, amqp_url, tag)),
        ("event_latency", lambda: latency_row(database, amqp_url, tag)),
        ("consumer", lambda: consumer_row(database, amqp_url, tag)),
    ]
    figures = []
    try:
        for name, row in rows:
            try:
                figures.append(row())
            except Exception as exc:
                figures.append(not_measured(name, f"{type(exc).__name__}: {exc}"))
    finally:
        database.dispose()
    return figures


def wait_for(check: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout:.0f} s")
        time.sleep(0.05)


@contextlib.contextmanager
def running(target: Callable[[], None], stop: threading.Event) -> Iterator[None]:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)


def make_relay(database: Database, amqp_url: str, stop: threading.Event) -> Relay:
    return Relay(
        database=database,
        model=OutboxEvent,
        lock=leader_lock(database, "bench-relay"),
        connect=lambda: PikaPublisher(amqp_url),
        stop=stop,
        service="bench",
    )


def unpublished(database: Database) -> bool:
    with database.sessions() as session:
        return bool(session.scalar(select(exists().where(OutboxEvent.published_at.is_(None)))))


def relay_row(database: Database, amqp_url: str, tag: str) -> Figure:
    """Commit RELAY_EVENTS outbox rows at once; the relay's events/s until all are marked."""
    key = queue = f"bench.{tag}.relay"
    amqp.declare_bound_queue(amqp_url, queue, key)
    outbox, stop = Outbox(OutboxEvent, "bench"), threading.Event()
    relay = make_relay(database, amqp_url, stop)
    try:
        with running(relay.run, stop):
            wait_for(lambda: relay.connected, "relay connected")
            with database.transaction() as session:
                for i in range(RELAY_EVENTS):
                    outbox.record(session, key, {"id": f"r{i}", "n": i})
            started = time.perf_counter()
            time.sleep(0.01)
            wait_for(lambda: not unpublished(database), "every outbox row published")
            elapsed = time.perf_counter() - started
        amqp.purge(amqp_url, queue)
        with database.sessions() as session:
            messages = [
                (row.event_id, row.body.encode())
                for row in session.execute(
                    select(OutboxEvent.event_id, OutboxEvent.body)
                    .where(OutboxEvent.event_type == key)
                    .order_by(OutboxEvent.seq)
                )
            ]
        raw = len(messages) / amqp.publish_all(amqp_url, key, messages)
    finally:
        amqp.delete_queues(amqp_url, queue)
    value = RELAY_EVENTS / elapsed
    ratio = value / raw
    return Figure(
        "relay",
        value,
        ROW["relay"].unit,
        raw,
        ratio,
        ROW["relay"].goal,
        ratio >= 0.3 and value >= 5_000,
        f"{RELAY_EVENTS:,} events committed at once, until all are marked published",
    )


def percentile(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def paced(count: int, rate: float) -> Iterator[int]:
    """0..count-1, each yielded at its slot of a fixed schedule of `rate` per second."""
    start = time.perf_counter()
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        yield i


def latency_row(database: Database, amqp_url: str, tag: str) -> Figure:
    """Commit -> handler at LATENCY_RATE events/s with a real relay and consumer running."""
    count = LATENCY_RATE * LATENCY_SECONDS
    key, queue = f"bench.{tag}.latency", f"bench-{tag}.latency"
    arrivals: dict[str, float] = {}
    stop = threading.Event()
    consumer = Consumer(
        queue=queue,
        bindings=[key],
        handlers={key: lambda _session, event: arrivals.setdefault(event.id, time.perf_counter())},
        database=database,
        inbox_model=InboxEvent,
        amqp_url=amqp_url,
        stop=stop,
    )
    relay, outbox = make_relay(database, amqp_url, stop), Outbox(OutboxEvent, "bench")
    committed: dict[str, float] = {}
    try:
        with running(consumer.run, stop), running(relay.run, stop):
            wait_for(lambda: relay.connected and consumer.connected, "relay and consumer up")
            for i in paced(count, LATENCY_RATE):
                with database.transaction() as session:
                    event_id = outbox.record(session, key, {"id": f"l{i}", "n": i})
                committed[event_id] = time.perf_counter()
            wait_for(lambda: len(arrivals) >= count, "every event handled")
        latencies = [(arrivals[e] - committed[e]) * 1000 for e in committed]
        raw = raw_latencies(amqp_url, f"bench.{tag}.raw-latency", count)
    finally:
        amqp.delete_queues(amqp_url, queue, dlq_name(queue), *consumer_tiers(queue))
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    raw_p50, raw_p99 = percentile(raw, 50), percentile(raw, 99)
    return Figure(
        "event_latency",
        p99,
        ROW["event_latency"].unit,
        raw_p99,
        p99 / raw_p99,
        ROW["event_latency"].goal,
        p99 <= 50,
        f"p50 {p50:.1f} ms (raw pika p50 {raw_p50:.1f} ms); {count:,} events at "
        f"{LATENCY_RATE}/s, each committed in its own transaction",
    )


def consumer_tiers(queue: str) -> list[str]:
    return [retry_name(queue, tier) for tier in range(1, len(RETRY_DELAYS_MS) + 1)]


def raw_latencies(amqp_url: str, queue: str, count: int) -> list[float]:
    """Raw pika publish (confirmed) -> consume + ack at the same rate; milliseconds each."""
    amqp.declare_bound_queue(amqp_url, queue, queue)
    arrivals: dict[str, float] = {}
    ready, stop = threading.Event(), threading.Event()

    def consume() -> None:
        with contextlib.closing(amqp.connect(amqp_url)) as connection:
            channel = connection.channel()
            channel.basic_qos(prefetch_count=PREFETCH)
            ready.set()
            for method, properties, _body in channel.consume(queue, inactivity_timeout=0.5):
                if method is not None:
                    arrivals.setdefault(properties.message_id, time.perf_counter())
                    channel.basic_ack(method.delivery_tag)
                if stop.is_set():
                    break
            channel.cancel()

    sent: dict[str, float] = {}
    try:
        with running(consume, stop):
            wait_for(ready.is_set, "raw consumer up")
            with contextlib.closing(amqp.connect(amqp_url)) as connection:
                channel = connection.channel()
                channel.confirm_delivery()
                for i in paced(count, LATENCY_RATE):
                    message_id = f"m{i}"
                    sent[message_id] = time.perf_counter()
                    channel.basic_publish("crm.events", queue, b"{}", amqp.properties(message_id))
            wait_for(lambda: len(arrivals) >= count, "every raw message consumed")
    finally:
        amqp.delete_queues(amqp_url, queue)
    return [(arrivals[m] - sent[m]) * 1000 for m in sent]


def consumer_row(database: Database, amqp_url: str, tag: str) -> Figure:
    """CONSUMER_EVENTS queued events through a Consumer (inbox dedupe, one transaction each)."""
    key, queue = f"bench.{tag}.consumed", f"bench-{tag}.consumer"
    with contextlib.closing(amqp.connect(amqp_url)) as connection:
        declare_consumer_queue(connection.channel(), queue, [key])
    messages = []
    for i in range(CONSUMER_EVENTS):
        event_id = str(uuid.uuid4())
        body = envelope(
            event_type=key, source="/crm/bench", subject=f"c{i}", data={"n": i}, event_id=event_id
        )
        messages.append((event_id, body))
    handled: list[float] = []
    stop = threading.Event()
    consumer = Consumer(
        queue=queue,
        bindings=[key],
        handlers={key: lambda _session, _event: handled.append(time.perf_counter())},
        database=database,
        inbox_model=InboxEvent,
        amqp_url=amqp_url,
        stop=stop,
    )
    try:
        amqp.publish_all(amqp_url, queue, messages, exchange="")
        raw_elapsed = amqp.consume_all(amqp_url, queue, CONSUMER_EVENTS, consumer.prefetch)
        amqp.publish_all(amqp_url, queue, messages, exchange="")
        with running(consumer.run, stop):
            wait_for(lambda: len(handled) >= CONSUMER_EVENTS, "every queued event handled")
    finally:
        amqp.delete_queues(amqp_url, queue, dlq_name(queue), *consumer_tiers(queue))
    value = (CONSUMER_EVENTS - 1) / (handled[-1] - handled[0])
    raw = (CONSUMER_EVENTS - 1) / raw_elapsed
    return Figure(
        "consumer",
        value,
        ROW["consumer"].unit,
        raw,
        value / raw,
        ROW["consumer"].goal,
        value / raw >= 0.3,
        f"{CONSUMER_EVENTS:,} queued events, prefetch {consumer.prefetch}, "
        "one transaction with its inbox row each",
    )
