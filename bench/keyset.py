"""The keyset row: page 20,000 of the contacts list costs what page 1 costs, at 1M contacts."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from sqlalchemy import select

from bench.report import ROW, Figure
from services.contacts.domain.contacts import list_contacts
from services.contacts.models import Contact
from shared.db import Database
from shared.migrations import upgrade
from shared.pagination import cursor_after

MIGRATIONS = Path(__file__).resolve().parents[1] / "services/contacts/migrations"
CONTACTS, LIMIT, DEEP_PAGE, REPEAT = 1_000_000, 50, 20_000, 100
SORT = "-created_at"  # the list endpoint's default order
SEED = """
INSERT INTO contacts (id, name, email, owner_id, created_at, updated_at, version)
SELECT md5(g::text)::uuid::text, 'Contact ' || g, 'c' || g || '@bench.example',
       'owner-' || (g %% 20), at, at, 1
FROM generate_series(1, %(count)s) AS g,
     LATERAL (SELECT timestamptz '2026-01-01' + g * interval '1 second' AS at) AS t
"""


def measure(cluster, _amqp_url: str) -> list[Figure]:
    url = cluster.create_database("bench_keyset")
    upgrade(MIGRATIONS, url)
    database = Database(url)
    try:
        return [keyset_row(database)]
    finally:
        database.dispose()


def seed(database: Database, count: int) -> None:
    with database.engine.begin() as connection:
        connection.exec_driver_sql(SEED, {"count": count})
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM ANALYZE contacts"
        )


def deep_cursor(database: Database, page: int) -> str:
    """The cursor that opens `page`: built from the last row of the page before it."""
    with database.sessions() as session:
        row = session.scalars(
            select(Contact)
            .order_by(Contact.created_at.desc(), Contact.id.desc())
            .offset((page - 1) * LIMIT - 1)
            .limit(1)
        ).one()
        return cursor_after(SORT, row)


def page_ms(database: Database, cursor: str | None) -> float:
    """One page as the contacts list endpoint reads it, in its own session."""
    args = {"sort": SORT, "limit": LIMIT, "cursor": cursor, "q": None}
    started = time.perf_counter()
    with database.sessions() as session:
        page = list_contacts(session=session, args=args)
    if len(page.items) != LIMIT:
        raise RuntimeError(f"a page of {len(page.items)} contacts, not {LIMIT}")
    return (time.perf_counter() - started) * 1000


def keyset_row(database: Database) -> Figure:
    seed(database, CONTACTS)
    deep = deep_cursor(database, DEEP_PAGE)
    first_ms, deep_ms = [], []
    for _ in range(10):  # warm the pool, the caches and the statement cache
        page_ms(database, None), page_ms(database, deep)
    for _ in range(REPEAT):  # interleaved, so load from elsewhere hits both alike
        first_ms.append(page_ms(database, None))
        deep_ms.append(page_ms(database, deep))
    first, deepest = statistics.median(first_ms), statistics.median(deep_ms)
    ratio = deepest / first
    return Figure(
        "keyset",
        deepest,
        ROW["keyset"].unit,
        first,
        ratio,
        ROW["keyset"].goal,
        ratio <= 1.2,
        f"median of {REPEAT} interleaved reads, {LIMIT} per page, {CONTACTS:,} contacts; "
        f"value page {DEEP_PAGE:,}, baseline page 1",
    )
