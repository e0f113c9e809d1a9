"""The notifications worker's periodic job: removing stream tickets past their lifetime."""

from __future__ import annotations

from datetime import timedelta

from services.notifications.models import StreamTicket
from shared.config import Settings
from shared.db import Database
from shared.housekeeping import Retention, prune
from shared.jobs import PeriodicJob

#: A ticket is of no use once expired, used or not.
TICKETS = Retention(StreamTicket, "expires_at", timedelta(0))


def prune_tickets(database: Database) -> int:
    """Delete every expired stream ticket; how many went."""
    return prune(database, [TICKETS])[StreamTicket.__tablename__]


def jobs(settings: Settings, database: Database) -> list[PeriodicJob]:
    """The worker's periodic jobs, on the housekeeping's schedule (CRM_HOUSEKEEPING_SECONDS)."""
    every = float(settings.extra.get("CRM_HOUSEKEEPING_SECONDS", 3600))
    return [PeriodicJob("stream-tickets", every, lambda: prune_tickets(database))]
