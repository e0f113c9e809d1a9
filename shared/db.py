"""SQLAlchemy 2 plumbing: engine, sessions, timestamps, ids, exact money."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    Numeric,
    String,
    TypeDecorator,
    create_engine,
    event,
    exc,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, sessionmaker

from shared.ids import new_id

#: A pooled connection idle longer than this is pinged before it is handed out (see ping_when_idle).
PING_AFTER_IDLE_SECONDS = 1.0
MONEY = Numeric(14, 2, asdecimal=True)
#: An auto-incrementing 64-bit key that SQLite also accepts as its rowid.
BIG_ID = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class RecordMixin:
    """id, created_at, updated_at and an optimistic-lock version for every record."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}


def money(value: Decimal | str | int | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def make_engine(url: str) -> Engine:
    """An engine tuned per backend: WAL and a busy timeout for SQLite, pooled for PostgreSQL."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, pool_size=5, max_overflow=10)
    ping_when_idle(engine)
    return engine


def ping_when_idle(
    engine: Engine,
    seconds: float = PING_AFTER_IDLE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """pool_pre_ping, but only for a connection that sat in the pool longer than `seconds`.

    A connection that idled may have been closed by the server (a restart, a failover, an idle
    timeout): a failed ping makes the pool replace it before anyone sees the error. Under load
    connections come back within milliseconds, and pinging each checkout cost a round trip per
    request; a connection that breaks while in use is handled as SQLAlchemy handles any
    disconnect (the pool drops every connection of that age).
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record):
        record.info["returned_at"] = clock()

    @event.listens_for(engine, "checkout")
    def _maybe_ping(dbapi_connection, record, _proxy):
        returned = record.info.get("returned_at")
        if returned is None or clock() - returned <= seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(str(error)) from error
        if not alive:
            raise exc.DisconnectionError("the connection did not answer a ping")


class Database:
    """One engine and session factory per process, built from the service's settings."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def ping(self) -> bool:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    def dispose(self) -> None:
        self.engine.dispose()
