"""`python -m gateway migrate | seed-admin`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gateway.users import ensure_admin
from shared.config import DEFAULT_ADMIN_PASSWORD, Settings
from shared.db import Database
from shared.logs import configure_logging, get_logger
from shared.migrations import revision, upgrade

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_ADMIN_EMAIL = "admin@crm.local"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply the gateway's migrations")
    sub.add_parser("seed-admin", help="create the admin from CRM_ADMIN_EMAIL/CRM_ADMIN_PASSWORD")
    sub.add_parser("revision", help="autogenerate a migration").add_argument("-m", required=True)
    args = parser.parse_args(argv)
    settings = Settings.from_env("gateway")
    configure_logging("gateway", settings.log_level)
    if args.command == "migrate":
        Database(settings.database_url).dispose()
        upgrade(MIGRATIONS, settings.database_url)
    elif args.command == "revision":
        revision(MIGRATIONS, settings.database_url, args.m)
    else:
        email = os.environ.get("CRM_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL)
        password = os.environ.get("CRM_ADMIN_PASSWORD", DEFAULT_ADMIN_PASSWORD)
        if settings.is_production and "CRM_ADMIN_PASSWORD" not in os.environ:
            print(
                "refusing to seed an admin with the default password in production: "
                "set CRM_ADMIN_PASSWORD",
                file=sys.stderr,
            )
            return 2
        with Database(settings.database_url).transaction() as session:
            made = ensure_admin(session=session, email=email, password=password)
        get_logger("seed").info("admin_seeded" if made else "admin_exists", email=email)
    return 0


if __name__ == "__main__":
    sys.exit(main())
