"""One active relay per service: whoever holds the lock publishes, the rest stand by."""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from pathlib import Path

from sqlalchemy import Connection, text

from shared.db import Database


def lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class PostgresLeaderLock:
    """A session-level advisory lock held on a dedicated connection.

    The connection is in autocommit, so holding the lock keeps no transaction open (an idle
    transaction would hold back vacuum on every table). Its methods may be called from
    several threads (the relay's, the health server's): one at a time uses the connection.
    """

    def __init__(self, database: Database, name: str) -> None:
        self.database = database
        self.key = lock_key(name)
        self.connection: Connection | None = None
        self.mutex = threading.Lock()

    def acquire(self) -> bool:
        with self.mutex:
            if self.connection is not None and self._held():
                return True
            self._release()
            connection = self.database.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            )
            try:
                got = connection.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}
                ).scalar()
            except Exception:
                connection.invalidate()
                connection.close()
                raise
            if got:
                self.connection = connection
                return True
            connection.close()
            return False

    def held(self) -> bool:
        with self.mutex:
            return self._held()

    def _held(self) -> bool:
        if self.connection is None:
            return False
        try:
            self.connection.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def release(self) -> None:
        with self.mutex:
            self._release()

    def _release(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self.connection.close()
        except Exception:
            self.connection.invalidate()
        self.connection = None


class FileLeaderLock:
    """For SQLite: an exclusive flock on a file beside the database."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self) -> bool:
        if self.fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def leader_lock(database: Database, name: str):
    if database.is_postgres:
        return PostgresLeaderLock(database, name)
    path = database.url.split("///", 1)[-1] or "var/relay"
    return FileLeaderLock(f"{path}.{name}.lock")
