"""Alembic, per service: `python -m services.<name> migrate` applies that service's migrations."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData

from shared.db import make_engine


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(migrations_dir: Path, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(migrations_dir, database_url), revision)


def revision(migrations_dir: Path, database_url: str, message: str) -> None:
    command.revision(
        alembic_config(migrations_dir, database_url), message=message, autogenerate=True
    )


def run_migrations(target_metadata: MetaData) -> None:
    """The body of every service's migrations/env.py."""
    url = context.config.get_main_option("sqlalchemy.url") or os.environ["DATABASE_URL"]
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
