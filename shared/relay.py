"""The outbox relay: publishes committed outbox rows to RabbitMQ, in order, with confirms."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import timedelta
from typing import Any, Protocol

import pika
from pika.exceptions import AMQPError
from sqlalchemy import delete, select

from shared.db import Database, utcnow
from shared.events import EXCHANGE
from shared.logs import get_logger
from shared.metrics import OUTBOX_CONFIRM_DURATION, OUTBOX_PUBLISHED
from shared.topology import declare_exchange
from shared.tracing import publishing, trace_headers

log = get_logger(__name__)


class Publisher(Protocol):
    def publish(
        self, *, routing_key: str, body: bytes, message_id: str, correlation_id: str | None
    ) -> None: ...
    def sleep(self, seconds: float) -> None: ...
    def close(self) -> None: ...


class PikaPublisher:
    """A confirming channel: `publish` returns only once the broker has taken the message."""

    def __init__(self, amqp_url: str) -> None:
        params = pika.URLParameters(amqp_url)
        params.heartbeat = params.heartbeat or 30
        params.blocked_connection_timeout = 60
        params.connection_attempts = 1
        params.socket_timeout = 5
        self.connection = pika.BlockingConnection(params)
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        declare_exchange(self.channel)

    def publish(
        self, *, routing_key: str, body: bytes, message_id: str, correlation_id: str | None
    ) -> None:
        # Raises NackError / UnroutableError when the broker does not take it.
        self.channel.basic_publish(
            exchange=EXCHANGE,
            routing_key=routing_key,
            body=body,
            properties=pika.BasicProperties(
                content_type="application/cloudevents+json",
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=message_id,
                correlation_id=correlation_id,
                type=routing_key,
                headers=trace_headers(body) or None,
            ),
            mandatory=True,
        )

    def sleep(self, seconds: float) -> None:
        self.connection.sleep(seconds)  # keeps heartbeats flowing, unlike time.sleep

    def close(self) -> None:
        if self.connection.is_open:
            with contextlib.suppress(AMQPError):
                self.connection.close()


class FakePublisher:
    """Collects what would be published; `fail_next` makes the next publishes raise."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.fail_next = 0

    def publish(self, *, routing_key, body, message_id, correlation_id) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise AMQPError("broker unavailable (fake)")
        self.messages.append(
            {
                "routing_key": routing_key,
                "body": body,
                "message_id": message_id,
                "correlation_id": correlation_id,
            }
        )

    def sleep(self, seconds: float) -> None:
        pass

    def close(self) -> None:
        pass


class Relay:
    """Moves outbox rows to the broker; at-least-once, in `seq` order, one active per service."""

    def __init__(
        self,
        *,
        database: Database,
        model: Any,
        connect,
        lock,
        stop: threading.Event,
        batch_size: int = 100,
        poll_seconds: float = 0.2,
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
        self.retention = retention
        self.connected = False
        self.published = OUTBOX_PUBLISHED.labels(service)
        self.confirm_duration = OUTBOX_CONFIRM_DURATION.labels(service)

    def publish_pending(self, publisher: Publisher) -> int:
        """Publish one batch; rows confirmed before a failure stay marked published."""
        published, failure = 0, None
        with self.database.transaction() as session:
            rows = session.scalars(
                select(self.model)
                .where(self.model.published_at.is_(None))
                .order_by(self.model.seq)
                .limit(self.batch_size)
            ).all()
            for row in rows:
                started = time.perf_counter()
                try:
                    with publishing(row.event_type, row.event_id, row.body.encode()):
                        publisher.publish(
                            routing_key=row.event_type,
                            body=row.body.encode(),
                            message_id=row.event_id,
                            correlation_id=row.correlation_id,
                        )
                except Exception as exc:  # commit what was confirmed, then report the failure
                    failure = exc
                    break
                self.confirm_duration.observe(time.perf_counter() - started)
                self.published.inc()
                row.published_at = utcnow()
                published += 1
        if failure is not None:
            raise failure
        return published

    def prune(self) -> None:
        cutoff = utcnow() - self.retention
        with self.database.transaction() as session:
            session.execute(delete(self.model).where(self.model.published_at < cutoff))

    def run(self) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            if not self.lock.acquire():
                self.stop.wait(2)  # hot standby: another relay holds the lock
                continue
            publisher = None
            try:
                publisher = self.connect()
                self.connected, backoff = True, 0.5
                log.info("relay_connected")
                self._pump(publisher)
            except (AMQPError, OSError) as exc:
                log.warning("relay_broker_unavailable", error=repr(exc), retry_in=backoff)
            except Exception:
                log.exception("relay_error", retry_in=backoff)
            finally:
                self.connected = False
                if publisher is not None:
                    publisher.close()
            self.stop.wait(backoff)
            backoff = min(backoff * 2, 30)
        self.lock.release()

    def _pump(self, publisher: Publisher) -> None:
        loops = 0
        while not self.stop.is_set():
            if not self.lock.held():
                log.warning("relay_lost_leadership")
                return
            if self.publish_pending(publisher) == 0:
                publisher.sleep(self.poll_seconds)
            loops += 1
            if loops % 3000 == 0:
                self.prune()
