"""The consumer runner: one durable quorum queue per consuming service, inbox-deduplicated."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pika
from pika.exceptions import AMQPError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from shared.db import Database
from shared.events import Event, InvalidEvent, parse
from shared.inbox import claim
from shared.logs import causation_id_var, correlation_id_var, get_logger
from shared.metrics import CONSUMER_DURATION, CONSUMER_EVENTS, DEAD_LETTERS, delivery_outcome
from shared.schemas import PublishedSchemas
from shared.topology import RETRY_DELAYS_MS, declare_consumer_queue, dlq_name, retry_name
from shared.tracing import mark_failed, processing

log = get_logger(__name__)

Handler = Callable[[Session, Event], None]
ACK, RETRY, DEAD, DUPLICATE, IGNORED = "ack", "retry", "dead", "duplicate", "ignored"
#: Unacknowledged deliveries the broker sends ahead (basic.qos); CRM_CONSUMER_PREFETCH. Those
#: already received when one is taken are handled with it in one transaction.
PREFETCH = 50
#: How often a consumer looks at its dead-letter queue's depth (crm_dead_letter_queue_messages).
DLQ_POLL_SECONDS = 15.0


class PermanentError(Exception):
    """The message can never be handled (bad payload, broken invariant): dead-letter it now."""


@dataclass(frozen=True)
class Outcome:
    kind: str
    error: str | None = None


class Consumer:
    """Turns deliveries into handler calls, each inside one transaction with its inbox row."""

    def __init__(
        self,
        *,
        queue: str,
        bindings: list[str],
        handlers: dict[str, Handler],
        database: Database,
        inbox_model: type,
        amqp_url: str = "",
        stop: threading.Event | None = None,
        ignore_unknown: bool = False,
        retry_delays_ms: tuple[int, ...] = RETRY_DELAYS_MS,
        prefetch: int = PREFETCH,
        schemas: PublishedSchemas | None = None,
    ) -> None:
        self.queue = queue
        self.bindings = bindings
        self.handlers = handlers
        self.database = database
        self.inbox_model = inbox_model
        self.amqp_url = amqp_url
        self.stop = stop or threading.Event()
        self.ignore_unknown = ignore_unknown
        self.retry_delays_ms = retry_delays_ms
        self.prefetch = prefetch
        #: The published schemas an event is checked against before its handler sees it.
        self.schemas = schemas
        self.connected = False

    # -- the part without a broker: unit-testable -------------------------------------------
    def handle(self, body: bytes) -> Outcome:
        """Run the handler for one message body and say what to do with the message."""
        try:
            event = parse(body)
        except InvalidEvent as exc:
            return Outcome(DEAD, str(exc))
        handler = self.handlers.get(event.type)
        if handler is None:
            if self.ignore_unknown:
                return Outcome(IGNORED)
            return Outcome(DEAD, f"no handler for event type '{event.type}'")
        errors = self.schemas.errors(json.loads(body)) if self.schemas is not None else []
        if errors:
            return Outcome(DEAD, f"not a valid {event.type}: " + "; ".join(errors))
        correlation = correlation_id_var.set(event.correlation_id or event.id)
        causation = causation_id_var.set(event.id)
        started = time.perf_counter()
        try:
            return self._run(handler, event)
        finally:
            CONSUMER_DURATION.labels(self.queue, event.type).observe(time.perf_counter() - started)
            correlation_id_var.reset(correlation)
            causation_id_var.reset(causation)

    def _run(self, handler: Handler, event: Event) -> Outcome:
        key = {"consumer": self.queue, "event_id": event.id}
        try:
            with self.database.transaction() as session:
                if not claim(session, self.inbox_model, self.queue, [event]):
                    return Outcome(DUPLICATE)
                handler(session, event)
        except (PermanentError, InvalidEvent, KeyError, TypeError, ValueError) as exc:
            return Outcome(DEAD, f"{type(exc).__name__}: {exc}")
        except (IntegrityError, OperationalError) as exc:
            if self._already_handled(key):
                return Outcome(DUPLICATE)  # a concurrent delivery of the same event won
            return Outcome(RETRY, f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            log.warning("handler_failed", event_id=event.id, event_type=event.type, error=repr(exc))
            return Outcome(RETRY, f"{type(exc).__name__}: {exc}")
        return Outcome(ACK)

    def handle_batch(self, deliveries: list) -> list[Outcome] | None:
        """Handle (method, properties, body) deliveries in one transaction: their inbox rows
        in one statement, then each new one's handler.

        None, with nothing committed, when any of them cannot simply be handled (not an
        event, no handler, a schema error, a handler that raises): the caller then takes them
        one by one, each with its own outcome.
        """
        prepared = []
        for _method, properties, body in deliveries:
            try:
                event = parse(body)
            except InvalidEvent:
                return None
            handler = self.handlers.get(event.type)
            if handler is None or (self.schemas and self.schemas.errors(json.loads(body))):
                return None
            prepared.append((handler, event, properties, body))
        outcomes = []
        try:
            with self.database.transaction() as session:
                new = claim(session, self.inbox_model, self.queue, [p[1] for p in prepared])
                for handler, event, properties, body in prepared:
                    if event.id not in new:  # handled before, or earlier in this batch
                        outcomes.append(Outcome(DUPLICATE))
                        continue
                    new.discard(event.id)
                    with processing(event.type, properties.message_id, properties.headers, body):
                        self._handle_in(session, handler, event)
                    outcomes.append(Outcome(ACK))
        except Exception as exc:
            log.info("consumer_batch_split", queue=self.queue, error=repr(exc))
            return None
        return outcomes

    def _handle_in(self, session: Session, handler: Handler, event: Event) -> None:
        correlation = correlation_id_var.set(event.correlation_id or event.id)
        causation = causation_id_var.set(event.id)
        started = time.perf_counter()
        try:
            handler(session, event)
            session.flush()  # a failing statement shows here, inside this event's span
        finally:
            CONSUMER_DURATION.labels(self.queue, event.type).observe(time.perf_counter() - started)
            correlation_id_var.reset(correlation)
            causation_id_var.reset(causation)

    def _already_handled(self, key: dict) -> bool:
        try:
            with self.database.sessions() as session:
                return session.get(self.inbox_model, key) is not None
        except Exception:
            return False

    # -- the broker part ---------------------------------------------------------------------
    def run(self) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            connection = None
            try:
                params = pika.URLParameters(self.amqp_url)
                params.heartbeat = params.heartbeat or 30
                params.connection_attempts = 1
                # Named, so the broker's connection list says whose it is.
                params.client_properties = {"connection_name": f"consumer {self.queue}"}
                connection = pika.BlockingConnection(params)
                channel = declare_consumer_queue(
                    connection.channel(), self.queue, self.bindings, self.retry_delays_ms
                )
                channel.confirm_delivery()
                channel.basic_qos(prefetch_count=self.prefetch)
                self.connected, backoff = True, 0.5
                log.info("consumer_started", queue=self.queue, bindings=self.bindings)
                self._consume(channel)
            except (AMQPError, OSError) as exc:
                log.warning("consumer_broker_unavailable", queue=self.queue, error=repr(exc))
            finally:
                self.connected = False
                if connection is not None and connection.is_open:
                    with contextlib.suppress(AMQPError):
                        connection.close()
            if not self.stop.is_set():
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 30)
        log.info("consumer_stopped", queue=self.queue)

    def _consume(self, channel) -> None:
        polled = float("-inf")
        consumed = channel.consume(self.queue, inactivity_timeout=1)
        for method, properties, body in consumed:
            if method is not None:
                batch = [(method, properties, body)]
                while len(batch) < self.prefetch and channel.get_waiting_message_count():
                    batch.append(next(consumed))
                self.deliver_all(channel, batch)
            if self.stop.is_set():
                break
            if time.monotonic() - polled >= DLQ_POLL_SECONDS:
                polled = time.monotonic()
                self.poll_dead_letters(channel)
        channel.cancel()  # returns prefetched, unhandled messages to the queue

    def deliver_all(self, channel, deliveries: list) -> None:
        """Several deliveries in one transaction, acked together after it commits; when that
        cannot be, one by one."""
        outcomes = self.handle_batch(deliveries) if len(deliveries) > 1 else None
        if outcomes is None:
            for delivery in deliveries:
                self.deliver(channel, *delivery)
            return
        channel.basic_ack(deliveries[-1][0].delivery_tag, multiple=True)
        for (method, properties, _body), outcome in zip(deliveries, outcomes, strict=True):
            headers = properties.headers or {}
            self.count(headers.get("x-original-routing-key", method.routing_key), outcome)

    def deliver(self, channel, method, properties, body: bytes) -> Outcome:
        """Handle one delivery in a span that continues the trace the event was made in."""
        event_type = properties.type or method.routing_key
        with processing(event_type, properties.message_id, properties.headers, body) as span:
            outcome = self._deliver(channel, method, properties, body)
            if outcome.kind in (RETRY, DEAD):
                mark_failed(span, outcome.error or outcome.kind)
            return outcome

    def _deliver(self, channel, method, properties, body: bytes) -> Outcome:
        outcome = self.handle(body)
        headers = dict(properties.headers or {})
        # The event's routing key (its type), kept from the first delivery: a message back from
        # a retry tier arrives with the queue's name as its routing key.
        headers.setdefault("x-original-routing-key", method.routing_key)
        if outcome.kind == RETRY:
            attempt = int(headers.get("x-retry-count", 0)) + 1
            if attempt <= len(self.retry_delays_ms):
                headers.update(
                    {"x-retry-count": attempt, "x-last-error": (outcome.error or "")[:1000]}
                )
                self._forward(channel, retry_name(self.queue, attempt), properties, body, headers)
            else:
                outcome = Outcome(DEAD, f"gave up after {attempt - 1} retries: {outcome.error}")
        if outcome.kind == DEAD:
            headers.update(
                {
                    "x-error": (outcome.error or "")[:1000],
                    "x-failed-at": datetime.now(UTC).isoformat(),
                    "x-original-queue": self.queue,
                }
            )
            log.error(
                "event_dead_lettered",
                queue=self.queue,
                error=outcome.error,
                message_id=properties.message_id,
            )
            self._forward(channel, dlq_name(self.queue), properties, body, headers)
        channel.basic_ack(method.delivery_tag)  # only after the commit or the confirmed forward
        self.count(headers["x-original-routing-key"], outcome)
        return outcome

    def count(self, event_type: str, outcome: Outcome) -> None:
        label = delivery_outcome(outcome.kind)
        if label is not None:
            # Only types this consumer handles name a series: a message cannot invent one.
            known = event_type if event_type in self.handlers else "other"
            CONSUMER_EVENTS.labels(self.queue, known, label).inc()

    def poll_dead_letters(self, channel) -> None:
        """crm_dead_letter_queue_messages from a passive declare, on the consuming channel."""
        depth = channel.queue_declare(dlq_name(self.queue), passive=True).method.message_count
        DEAD_LETTERS.labels(self.queue).set(depth)

    @staticmethod
    def _forward(channel, queue: str, properties, body: bytes, headers: dict) -> None:
        channel.basic_publish(
            exchange="",
            routing_key=queue,
            body=body,
            properties=pika.BasicProperties(
                content_type=properties.content_type,
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=properties.message_id,
                correlation_id=properties.correlation_id,
                type=properties.type,
                headers=headers,
            ),
            mandatory=True,
        )
