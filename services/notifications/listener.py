"""One LISTEN connection per web process, waking that process's open streams (PostgreSQL).

`deliver` NOTIFYs `CHANNEL` with the user's id in the transaction that stores a notification;
the listener, a thread (a greenlet under gunicorn's gevent worker: psycopg waits with the
`select` module gevent patches), hears it on its own autocommit connection, outside the pool,
and calls the fan-out for the users it heard of. A lost connection is opened again (after 1 s,
then up to 15 s apart); once it listens again every waiting stream is woken, since a NOTIFY
sent meanwhile went to nobody. The thread starts with the first stream of the process.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from services.notifications.domain.delivery import CHANNEL
from services.notifications.domain.inbox import newer_than_each
from services.notifications.fanout import Fanout, Fetch, Offer
from services.notifications.stream import frame
from shared import lifecycle
from shared.db import Database
from shared.logs import get_logger

log = get_logger(__name__)
#: How the LISTEN connection shows in pg_stat_activity.
APPLICATION_NAME = "crm notifications listener"
#: An idle connection whose server vanished without a word (a cut network) is noticed by
#: TCP keepalives within about a minute, and then opened again like any lost one.
CONNECTION = {
    "autocommit": True,
    "connect_timeout": 5,
    "application_name": APPLICATION_NAME,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def fetch_from(database: Database) -> Fetch:
    """The fan-out's one query per wake, in a short session of its own."""

    def fetch(floors: Mapping[str, str], limit: int) -> list[Offer]:
        with database.sessions() as session:
            rows = newer_than_each(session=session, floors=floors, limit=limit)
            return [Offer(row.id, row.user_id, frame(row._asdict())) for row in rows]

    return fetch


def conninfo_of(url: str | URL) -> str:
    """A libpq URL (no SQLAlchemy driver name) for psycopg.connect."""
    plain = make_url(url).set(drivername="postgresql")
    return plain.render_as_string(hide_password=False)


class Listener:
    """LISTENs on `CHANNEL` and wakes the fan-out; the `Feeder` of a PostgreSQL process."""

    def __init__(
        self,
        conninfo: str,
        fanout: Fanout,
        *,
        slice_seconds: float = 1.0,
        retry_seconds: tuple[float, float] = (1.0, 15.0),
    ) -> None:
        self.conninfo = conninfo
        self.fanout = fanout
        self.slice_seconds = slice_seconds  # how often it looks whether the process stops
        self.retry_seconds = retry_seconds
        self.connection: psycopg.Connection | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def listening(self) -> bool:
        return self.connection is not None

    def start(self) -> None:
        """Run the listener, unless it runs already (or ended: then again)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self.run, name="stream-listener", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def run(self) -> None:
        delay = self.retry_seconds[0]
        while not self._ending():
            if self.connect():
                delay = self.retry_seconds[0]
                self.fanout.wake_all()  # a notification may have come while nobody listened
                self.listen()
            self._pause(delay)
            delay = min(delay * 2, self.retry_seconds[1])
        self.close()
        self.fanout.close()

    def connect(self) -> bool:
        try:
            connection = psycopg.connect(self.conninfo, **CONNECTION)
        except psycopg.Error as exc:
            log.warning("stream_listen_failed", error=repr(exc))
            return False
        try:
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
        except psycopg.Error as exc:
            log.warning("stream_listen_failed", error=repr(exc))
            connection.close()
            return False
        self.connection = connection
        log.info("stream_listening", channel=CHANNEL)
        return True

    def listen(self) -> None:
        """Wake the fan-out for the users each NOTIFY names, until the connection is lost."""
        connection = self.connection
        assert connection is not None
        try:
            while not self._ending():
                heard = list(connection.notifies(timeout=self.slice_seconds, stop_after=1))
                if heard:  # and whatever else has queued up meanwhile: one query for them all
                    heard += connection.notifies(timeout=0)
                    self.fanout.wake(n.payload for n in heard)
        except psycopg.Error as exc:
            log.warning("stream_listen_lost", error=repr(exc))
        except Exception as exc:  # a bug must not stop the process's streams for good
            log.error("stream_listener_error", error=repr(exc))
        self.close()

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()

    def _pause(self, seconds: float) -> None:
        """Sleep, looking every slice whether the process stops."""
        until = time.monotonic() + seconds
        while not self._ending() and (left := until - time.monotonic()) > 0:
            self._stop.wait(min(left, self.slice_seconds))

    def _ending(self) -> bool:
        return self._stop.is_set() or lifecycle.stopping()


def live_streams(database: Database, listen_url: str | None = None) -> Fanout | None:
    """The process's fan-out fed by a listener on PostgreSQL; None (streams poll) on SQLite.

    `listen_url` is a direct connection to the same database, for when `database` goes
    through a pooler in transaction mode (PgBouncer), where LISTEN does not work.
    """
    if not database.is_postgres:
        return None
    fanout = Fanout(fetch_from(database))
    fanout.feeder = Listener(conninfo_of(listen_url or database.engine.url), fanout)
    return fanout
