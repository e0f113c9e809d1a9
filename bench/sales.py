"""Sales report benchmark: the pipeline and campaign reports as the pipeline grows tenfold."""

from __future__ import annotations

import random
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, insert

from services.sales.domain import reports
from services.sales.domain.stages import DEFAULT_PROBABILITY, STAGES
from services.sales.models import Campaign, Opportunity
from shared.db import Database, utcnow
from shared.ids import new_id
from shared.migrations import upgrade

MIGRATIONS = Path(__file__).resolve().parents[1] / "services/sales/migrations"
SIZES = (10_000, 100_000)
CAMPAIGNS = 50


def timed(fn, repeat: int = 30) -> float:
    """The median milliseconds of `repeat` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def seed(database: Database, count: int, campaign_ids: list[str]) -> None:
    now, rng = utcnow(), random.Random(count)
    with database.transaction() as session:
        session.execute(delete(Opportunity))
        for start in range(0, count, 10_000):
            rows = []
            for _ in range(min(10_000, count - start)):
                stage = rng.choice(STAGES)
                rows.append(
                    {
                        "id": new_id(),
                        "name": "bench",
                        "stage": stage,
                        "probability": DEFAULT_PROBABILITY[stage],
                        "deal_value": Decimal(rng.randint(100, 1_000_000)) / 100,
                        "expected_close_date": date(2026, 1, 1) + timedelta(rng.randint(0, 720)),
                        "campaign_id": rng.choice(campaign_ids),
                        "owner_id": f"owner-{rng.randint(1, 20)}",
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }
                )
            session.execute(insert(Opportunity), rows)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE opportunities")


def bench_reports(url: str, timed) -> None:
    upgrade(MIGRATIONS, url)
    database = Database(url)
    campaign_ids = [new_id() for _ in range(CAMPAIGNS)]
    with database.transaction() as session:
        now = utcnow()
        session.execute(
            insert(Campaign),
            [
                {
                    "id": cid,
                    "name": "c",
                    "type": "other",
                    "status": "active",
                    "budget": Decimal("1000.00"),
                    "owner_id": "bench",
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for cid in campaign_ids
            ],
        )
    print("sales reports (PostgreSQL, median):")
    figures = {}
    for count in SIZES:
        seed(database, count, campaign_ids)

        def pipeline():
            with database.sessions() as session:
                reports.pipeline(session=session, args={})

        def campaigns():
            with database.sessions() as session:
                reports.campaigns(session=session, args={})

        figures[count] = (timed(pipeline, 10), timed(campaigns, 10))
        print(
            f"  {count:>7,} opportunities: pipeline {figures[count][0]:8.2f} ms, "
            f"campaigns ({CAMPAIGNS}) {figures[count][1]:8.2f} ms"
        )
    small, large = figures[SIZES[0]], figures[SIZES[1]]
    print(
        f"  ratio for {SIZES[1] // SIZES[0]}x the rows: pipeline {large[0] / small[0]:.1f}, "
        f"campaigns {large[1] / small[1]:.1f} (one aggregate scan each; linear at most)"
    )
    database.dispose()
