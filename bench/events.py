"""The event rows: relay throughput, commit-to-handler latency, consumer throughput.

Each row runs the real code (shared/relay.py, shared/consumer.py) against PostgreSQL and the
broker, then raw pika doing the same broker work, in the same run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue as queue_module
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
    """Commit -> handler at LATENCY_RATE events/s, the relay and the consumer each running in
    a process of its own, as they do in the system (the relay in the producing service's
    worker, the consumer in the consuming one's), so neither waits on the other's GIL."""
    count = LATENCY_RATE * LATENCY_SECONDS
    key, queue = f"bench.{tag}.latency", f"bench-{tag}.latency"
    spawn = multiprocessing.get_context("spawn")
    stop, consumer_up, relay_up = spawn.Event(), spawn.Event(), spawn.Event()
    arrivals = spawn.Queue()
    consumer = spawn.Process(
        target=run_consumer, args=(database.url, amqp_url, key, queue, stop, consumer_up, arrivals)
    )
    relay = spawn.Process(target=run_relay, args=(database.url, amqp_url, stop, relay_up))
    outbox = Outbox(OutboxEvent, "bench")
    committed: dict[str, float] = {}
    try:
        consumer.start()
        relay.start()
        wait_for(lambda: consumer_up.is_set() and relay_up.is_set(), "relay and consumer up")
        for i in paced(count, LATENCY_RATE):
            with database.transaction() as session:
                event_id = outbox.record(session, key, {"id": f"l{i}", "n": i})
            committed[event_id] = time.monotonic()
        handled: dict[str, float] = {}
        deadline = time.monotonic() + WAIT_SECONDS
        while len(handled) < count and time.monotonic() < deadline:
            with contextlib.suppress(queue_module.Empty):
                event_id, at = arrivals.get(timeout=1)
                handled.setdefault(event_id, at)
        if len(handled) < count:
            raise TimeoutError(f"{len(handled)} of {count} events handled in {WAIT_SECONDS} s")
        latencies = [(handled[e] - committed[e]) * 1000 for e in committed]
        raw = raw_latencies(amqp_url, f"bench.{tag}.raw-latency", count)
    finally:
        stop.set()
        for process in (consumer, relay):
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
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
        f"{LATENCY_RATE}/s, each committed in its own transaction; relay and consumer in "
        "processes of their own",
    )


def run_relay(url: str, amqp_url: str, stop, up) -> None:
    """The relay of the latency row, in its own process until `stop`."""
    database = Database(url)
    relay = make_relay(database, amqp_url, stop)
    with running(relay.run, stop):
        wait_for(lambda: relay.connected, "relay connected")
        up.set()
        stop.wait()
    database.dispose()


def run_consumer(url: str, amqp_url: str, key: str, queue: str, stop, up, arrivals) -> None:
    """The consumer of the latency row, in its own process: each handled event's id and
    CLOCK_MONOTONIC time (the same clock in every process) go to `arrivals`."""
    database = Database(url)
    consumer = Consumer(
        queue=queue,
        bindings=[key],
        handlers={key: lambda _session, event: arrivals.put((event.id, time.monotonic()))},
        database=database,
        inbox_model=InboxEvent,
        amqp_url=amqp_url,
        stop=stop,
    )
    with running(consumer.run, stop):
        wait_for(lambda: consumer.connected, "consumer connected")
        up.set()
        stop.wait()
    database.dispose()


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
