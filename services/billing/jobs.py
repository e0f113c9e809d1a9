"""Periodic work of the billing worker: marking sent invoices past due overdue.

Safe on several replicas: each run locks the rows it marks with FOR UPDATE SKIP LOCKED, and
an invoice leaves `sent` when marked, so each is marked (and announced) once.
"""

from __future__ import annotations

from services.billing.domain.status import mark_overdue
from services.billing.ports.clock import Clock, SystemClock
from shared.config import Settings
from shared.db import Database
from shared.jobs import PeriodicJob
from shared.logs import get_logger
from shared.metrics import INVOICES_OVERDUE

log = get_logger(__name__)
DEFAULT_INTERVAL_SECONDS = 300.0
BATCH = 100


def run_overdue(database: Database, clock: Clock) -> list[str]:
    """One pass: every sent invoice due before today becomes overdue; returns their ids."""
    marked: list[str] = []
    while True:
        with database.transaction() as session:
            batch = mark_overdue(session=session, today=clock.today(), limit=BATCH)
        INVOICES_OVERDUE.inc(len(batch))
        marked += batch
        if len(batch) < BATCH:
            break
    if marked:
        log.info("invoices_overdue", count=len(marked))
    return marked


def jobs(settings: Settings, database: Database, clock: Clock | None = None) -> list[PeriodicJob]:
    """The worker's periodic jobs; CRM_OVERDUE_INTERVAL_SECONDS sets the period."""
    every = float(settings.extra.get("CRM_OVERDUE_INTERVAL_SECONDS", DEFAULT_INTERVAL_SECONDS))
    the_clock = clock or SystemClock()
    return [PeriodicJob("overdue", every, lambda: run_overdue(database, the_clock))]
