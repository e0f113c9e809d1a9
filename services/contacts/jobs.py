"""The contacts worker's periodic job: deleting the files of removed attachments."""

from __future__ import annotations

from services.contacts.domain.attachments import sweep_discarded_files
from services.contacts.storage import Storage, storage_from_settings
from shared.config import Settings
from shared.db import Database
from shared.jobs import PeriodicJob


def sweep_files(database: Database, storage: Storage) -> int:
    """Delete every discarded file, a batch per transaction; how many."""
    swept = 0
    while True:
        with database.transaction() as session:
            count = sweep_discarded_files(session=session, storage=storage)
        swept += count
        if count == 0:
            return swept


def jobs(settings: Settings, database: Database) -> list[PeriodicJob]:
    """The worker's periodic jobs."""
    storage = storage_from_settings(settings.extra, settings.extra.get("CRM_VAR_DIR", "var"))
    every = float(settings.extra.get("CRM_FILE_SWEEP_SECONDS", "5"))
    return [PeriodicJob("files", every, lambda: sweep_files(database, storage))]
