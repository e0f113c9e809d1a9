"""Benchmarks with figures and ratios: `make bench`. Not tests: nothing here asserts a time."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

from sqlalchemy import insert, select

from bench.sales import bench_reports
from services.contacts.models import Contact, OutboxEvent
from shared.db import Database, utcnow
from shared.ids import new_id
from shared.leader import leader_lock
from shared.migrations import upgrade
from shared.outbox import Outbox
from shared.pagination import paginate
from shared.relay import PikaPublisher, Relay
from shared.testing.postgres import PostgresCluster

MIGRATIONS = Path(__file__).resolve().parents[1] / "services/contacts/migrations"
ROWS, PAGE, EVENTS = 100_000, 50, 2_000


def timed(fn, repeat: int = 30) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def seed(database: Database) -> None:
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "name": f"N{i}",
            "owner_id": "bench",
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for i in range(ROWS)
    ]
    with database.transaction() as session:
        for start in range(0, ROWS, 10_000):
            session.execute(insert(Contact), rows[start : start + 10_000])
    with database.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE contacts")


def cursor_at(database: Database, page: int) -> str | None:
    cursor = None
    with database.sessions() as session:
        for _ in range(page - 1):
            cursor = paginate(
                session,
                select(Contact),
                model=Contact,
                sort="-created_at",
                sortable=("created_at",),
                limit=PAGE,
                cursor=cursor,
            ).next_cursor
    return cursor


def bench_pagination(database: Database) -> None:
    deep_page = ROWS // PAGE - 1
    first, deep = cursor_at(database, 1), cursor_at(database, deep_page)

    def page(cursor):
        with database.sessions() as session:
            paginate(
                session,
                select(Contact),
                model=Contact,
                sort="-created_at",
                sortable=("created_at",),
                limit=PAGE,
                cursor=cursor,
            )

    def offset_page(offset):
        with database.sessions() as session:
            session.scalars(
                select(Contact)
                .order_by(Contact.created_at.desc(), Contact.id.desc())
                .offset(offset)
                .limit(PAGE)
            ).all()

    t_first, t_deep = timed(lambda: page(first)), timed(lambda: page(deep))
    t_off_first = timed(lambda: offset_page(0))
    t_off_deep = timed(lambda: offset_page((deep_page - 1) * PAGE))
    print(f"keyset pagination over {ROWS:,} contacts, {PAGE} per page (PostgreSQL, median):")
    print(f"  page 1            {t_first:8.2f} ms")
    print(f"  page {deep_page:<12,} {t_deep:8.2f} ms   ratio deep/first = {t_deep / t_first:.2f}")
    print(
        f"  OFFSET for contrast: page 1 {t_off_first:.2f} ms, page {deep_page:,} "
        f"{t_off_deep:.2f} ms, ratio {t_off_deep / t_off_first:.1f}"
    )


def bench_relay(database: Database, amqp_url: str) -> None:
    outbox = Outbox(OutboxEvent, "bench")
    with database.transaction() as session:
        for i in range(EVENTS):
            outbox.record(session, "bench.measured", {"id": f"b{i}", "n": i})
    stop = threading.Event()
    relay = Relay(
        database=database,
        model=OutboxEvent,
        lock=leader_lock(database, "bench"),
        connect=lambda: PikaPublisher(amqp_url),
        stop=stop,
        poll_seconds=0.01,
    )
    started = time.perf_counter()
    thread = threading.Thread(target=relay.run)
    thread.start()
    while True:
        with database.sessions() as session:
            left = session.scalar(
                select(OutboxEvent.seq).where(OutboxEvent.published_at.is_(None)).limit(1)
            )
        if left is None:
            break
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    stop.set()
    thread.join()
    print(
        f"outbox relay to RabbitMQ with publisher confirms: {EVENTS:,} events in "
        f"{elapsed:.2f} s = {EVENTS / elapsed:,.0f} events/s"
    )


def main() -> None:
    import os

    amqp_url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    cluster = PostgresCluster().start()
    try:
        url = cluster.create_database("bench")
        upgrade(MIGRATIONS, url)
        database = Database(url)
        seed(database)
        bench_pagination(database)
        bench_relay(database, amqp_url)
        database.dispose()
        bench_reports(cluster.create_database("bench_sales"), timed)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
