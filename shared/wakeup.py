"""The relay's wake-up on PostgreSQL: LISTEN for the NOTIFY that an outbox row's commit sends."""

from __future__ import annotations

import contextlib

import psycopg
from psycopg import sql

from shared.db import Database
from shared.logs import get_logger

log = get_logger(__name__)
#: How the LISTEN connection shows in pg_stat_activity.
APPLICATION_NAME = "crm relay listener"


def notify_channel(table: str) -> str:
    """The channel `Outbox.record` notifies on and the relay listens to, one per outbox table."""
    return f"crm_{table}_committed"


class OutboxListener:
    """A dedicated autocommit connection LISTENing on one outbox table's channel."""

    def __init__(self, database: Database, table: str) -> None:
        url = database.engine.url.set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        self.channel = notify_channel(table)
        self.connection: psycopg.Connection | None = None

    @property
    def listening(self) -> bool:
        return self.connection is not None

    def connect(self) -> bool:
        """Start listening; False (and the relay polls) when the database cannot be reached."""
        self.close()
        try:
            connection = psycopg.connect(
                self.conninfo,
                autocommit=True,
                connect_timeout=5,
                application_name=APPLICATION_NAME,
            )
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        except psycopg.Error as exc:
            log.warning("relay_listen_failed", channel=self.channel, error=repr(exc))
            return False
        self.connection = connection
        return True

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds` for a commit; True when one came or the connection dropped.

        Notifications that queued up meanwhile are consumed too: one pass of the relay
        covers every row committed before it.
        """
        if self.connection is None:
            return False
        try:
            woke = any(True for _ in self.connection.notifies(timeout=seconds, stop_after=1))
            if woke:
                for _ in self.connection.notifies(timeout=0):
                    pass
            return woke
        except psycopg.Error as exc:
            self._lost(exc)
            return True  # look at the outbox now: a commit may have gone unheard

    def check(self) -> None:
        """A round trip on the connection, so a silently dead one is noticed and dropped."""
        if self.connection is None:
            return
        try:
            self.connection.execute("SELECT 1")
        except psycopg.Error as exc:
            self._lost(exc)

    def _lost(self, exc: Exception) -> None:
        log.warning("relay_listen_lost", channel=self.channel, error=repr(exc))
        self.close()

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(psycopg.Error):
                self.connection.close()
            self.connection = None
