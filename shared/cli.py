"""Each service's command line: `python -m services.<name> migrate | worker | revision`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from shared.config import Settings
from shared.consumer import Consumer
from shared.db import Database
from shared.housekeeping import retentions
from shared.jobs import PeriodicJob
from shared.logs import configure_logging
from shared.migrations import revision, upgrade
from shared.worker import run_worker


def service_main(
    *,
    service: str,
    migrations_dir: Path,
    outbox_model: type,
    consumers: Callable[[Settings, Database], list[Consumer]] = lambda s, d: [],
    jobs: Callable[[Settings, Database], list[PeriodicJob]] = lambda s, d: [],
    inbox_model: type | None = None,
    idempotency_model: type | None = None,
    argv: list[str] | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m services.{service}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply the database migrations")
    sub.add_parser("worker", help="run the outbox relay and the event consumers")
    rev = sub.add_parser("revision", help="autogenerate a migration from the models")
    rev.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)

    settings = Settings.from_env(service)
    configure_logging(service, settings.log_level)
    if args.command == "migrate":
        Database(settings.database_url).dispose()  # creates the SQLite folder when needed
        upgrade(migrations_dir, settings.database_url)
        return 0
    if args.command == "revision":
        revision(migrations_dir, settings.database_url, args.message)
        return 0
    database = Database(settings.database_url)
    return run_worker(
        settings=settings,
        database=database,
        outbox_model=outbox_model,
        consumers=consumers(settings, database),
        jobs=jobs(settings, database),
        retentions=retentions(
            idempotency_model=idempotency_model, inbox_model=inbox_model, extra=settings.extra
        ),
    )


def run(main: Callable[[], int]) -> None:
    sys.exit(main())
