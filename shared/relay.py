"""The outbox relay: publishes committed outbox rows to RabbitMQ, in order, with confirms."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol

from pika.exceptions import AMQPError
from sqlalchemy import BigInteger, any_, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shared.db import Database, utcnow
from shared.logs import get_logger
from shared.metrics import OUTBOX_CONFIRM_DURATION, OUTBOX_PUBLISHED
from shared.publisher import Message, NotConfirmed, PikaPublisher
from shared.wakeup import OutboxListener

__all__ = ["FakePublisher", "Message", "PikaPublisher", "Publisher", "Relay"]

log = get_logger(__name__)
#: Batches one pass of the relay sends back to back, each overlapping the last one's UPDATE.
PIPELINE = 10


class Publisher(Protocol):
    def send(self, messages: Sequence[Message]) -> None:
        """Publish a batch in order, without waiting for its confirms."""
        ...

    def collect(self) -> int:
        """Wait for the sent batch's confirms; how many, from the first, the broker took."""
        ...

    def sleep(self, seconds: float) -> None: ...
    def close(self) -> None: ...


class FakePublisher:
    """Collects what would be published.

    `confirm_at_most` has the next batch confirmed only that far (a nack, a return or a lost
    link after that many); `fail_next` makes the next batches confirm nothing.
    """

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.batches: list[int] = []
        self.sending: list[Message] = []
        self.confirm_at_most: int | None = None
        self.fail_next = 0

    def send(self, messages: Sequence[Message]) -> None:
        self.batches.append(len(messages))
        self.sending = list(messages)

    def collect(self) -> int:
        messages, self.sending = self.sending, []
        if self.fail_next:
            self.fail_next -= 1
            return 0
        confirmed = len(messages)
        if self.confirm_at_most is not None:
            confirmed, self.confirm_at_most = min(confirmed, self.confirm_at_most), None
        self.messages.extend(messages[:confirmed])
        return confirmed

    def sleep(self, seconds: float) -> None:
        pass

    def close(self) -> None:
        pass


class Relay:
    """Moves outbox rows to the broker; at-least-once, in `seq` order, one active per service.

    When the outbox is empty it waits: on PostgreSQL for the NOTIFY a commit of an outbox
    row sends (`Outbox.record`), or at most `safety_poll_seconds`; on SQLite, or while the
    LISTEN connection is down, `poll_seconds`.
    """

    def __init__(
        self,
        *,
        database: Database,
        model: Any,
        connect,
        lock,
        stop: threading.Event,
        batch_size: int = 500,
        poll_seconds: float = 0.2,
        safety_poll_seconds: float = 5.0,
        retention: timedelta = timedelta(days=3),
        service: str = "unknown",
    ) -> None:
        self.database = database
        self.model = model
        self.connect = connect
        self.lock = lock
        self.stop = stop
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.safety_poll_seconds = safety_poll_seconds
        self.retention = retention
        self.connected = False
        self.listen_retry_at = 0.0
        self.listener = (
            OutboxListener(database, model.__table__.name) if database.is_postgres else None
        )
        self.published = OUTBOX_PUBLISHED.labels(service)
        self.confirm_duration = OUTBOX_CONFIRM_DURATION.labels(service)

    def publish_pending(self, publisher: Publisher, batches: int = 1) -> int:
        """Publish up to `batches` batches; mark each confirmed prefix; raise NotConfirmed for
        the rest. How many were confirmed: fewer than `batches` x `batch_size` when the outbox
        ran out.

        Each batch goes out before the one before it is marked, so the UPDATE overlaps the
        broker's work. A batch reads past the last `seq` of the one before; the next call
        starts from the lowest unpublished row again (one that committed late included).
        """
        total, after = 0, None
        marking: list[int] = []  # the confirmed seqs of the batch before, not marked yet
        # One session for the pass: one connection checkout; a batch's read and the UPDATE
        # that marks it commit together.
        with self.database.sessions() as session:
            try:
                for number in range(batches):
                    if number and not self.lock.held():
                        break
                    rows = self.read(session, after)
                    if not rows:
                        break
                    started = time.perf_counter()
                    publisher.send([self.message(row) for row in rows])
                    if marking:
                        self.mark_published(marking, session)
                        marking = []
                    confirmed = publisher.collect()
                    self.confirm_duration.observe(time.perf_counter() - started)
                    marking, total = [row.seq for row in rows[:confirmed]], total + confirmed
                    self.published.inc(confirmed)
                    if confirmed < len(rows):
                        raise NotConfirmed(f"{confirmed} of {len(rows)} events confirmed")
                    if len(rows) < self.batch_size:
                        break
                    after = rows[-1].seq
            finally:
                if marking:
                    self.mark_published(marking, session)
        return total

    def read(self, session: Session, after: int | None) -> list:
        """The next batch of unpublished rows in `seq` order, past `after` when given."""
        m = self.model
        query = select(m.seq, m.event_id, m.event_type, m.body, m.correlation_id).where(
            m.published_at.is_(None)
        )
        if after is not None:
            query = query.where(m.seq > after)
        return list(session.execute(query.order_by(m.seq).limit(self.batch_size)).all())

    @staticmethod
    def message(row) -> Message:
        return Message(
            routing_key=row.event_type,
            body=row.body.encode(),
            message_id=row.event_id,
            correlation_id=row.correlation_id,
        )

    def mark_published(self, seqs: list[int], session: Session) -> None:
        """One UPDATE for a batch, committed. By `seq`, not a range: a row with a lower `seq`
        may commit after the batch was read, and it has not been published."""
        table = self.model.__table__
        if self.database.is_postgres:  # one array parameter, not one parameter per row
            matches = table.c.seq == any_(bindparam("seqs", type_=ARRAY(BigInteger)))
        else:
            matches = table.c.seq.in_(bindparam("seqs", expanding=True))
        statement = update(table).where(matches).values(published_at=bindparam("now"))
        session.connection().execute(statement, {"seqs": seqs, "now": utcnow()})
        session.commit()

    def prune(self) -> None:
        cutoff = utcnow() - self.retention
        with self.database.transaction() as session:
            session.execute(delete(self.model).where(self.model.published_at < cutoff))

    def run(self) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            try:
                leader = self.lock.acquire()
            except Exception as exc:  # the database is unreachable: stay up and try again
                log.warning("relay_lock_unavailable", error=repr(exc), retry_in=backoff)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 30)
                continue
            if not leader:
                self.stop.wait(2)  # hot standby: another relay holds the lock
                continue
            publisher = None
            try:
                publisher = self.connect()
                self.connected, backoff = True, 0.5
                log.info("relay_connected")
                if self.listener is not None:
                    self.listener.connect()  # before the first look, so no commit goes unheard
                self._pump(publisher)
            except (AMQPError, OSError) as exc:
                log.warning("relay_broker_unavailable", error=repr(exc), retry_in=backoff)
            except Exception:
                log.exception("relay_error", retry_in=backoff)
            finally:
                self.connected = False
                if publisher is not None:
                    publisher.close()
                if self.listener is not None:
                    self.listener.close()
            self.stop.wait(backoff)
            backoff = min(backoff * 2, 30)
        self.lock.release()

    def _pump(self, publisher: Publisher) -> None:
        loops = 0
        while not self.stop.is_set():
            if not self.lock.held():
                log.warning("relay_lost_leadership")
                return
            if self.publish_pending(publisher, PIPELINE) < PIPELINE * self.batch_size:
                self.wait_for_commit(publisher)
            loops += 1
            if loops % 3000 == 0:
                self.prune()

    def wait_for_commit(self, publisher: Publisher) -> None:
        """Until a NOTIFY or the safety-net poll; `poll_seconds` without a LISTEN connection.

        The wait goes in slices of at most a second, each followed by a turn of the
        publisher's I/O loop, so its heartbeats keep flowing.
        """
        listener = self.listener
        reconnect = time.monotonic() >= self.listen_retry_at  # at most that often
        if listener is not None and not listener.listening and reconnect:
            self.listen_retry_at = time.monotonic() + self.safety_poll_seconds
            if listener.connect():
                return  # a commit may have come while nobody listened: look once more
        if listener is None or not listener.listening:
            publisher.sleep(self.poll_seconds)
            return
        deadline = time.monotonic() + self.safety_poll_seconds
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                listener.check()
                return
            if listener.wait(min(left, 1.0)):
                return
            publisher.sleep(0)
