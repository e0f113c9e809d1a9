"""Raw pika, the event rows' baselines: batched-confirm publish, consume and ack, nothing else."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable

import pika
from pika.exceptions import AMQPError

from shared.events import EXCHANGE
from shared.topology import declare_exchange

#: (message id, body)
Message = tuple[str, bytes]


def properties(message_id: str) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type="application/cloudevents+json",
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=message_id,
    )


def connect(amqp_url: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.URLParameters(amqp_url))


def declare_bound_queue(amqp_url: str, queue: str, routing_key: str) -> None:
    """A durable quorum queue bound to `routing_key` on crm.events (what consumers use)."""
    with contextlib.closing(connect(amqp_url)) as connection:
        channel = connection.channel()
        declare_exchange(channel)
        channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(queue, EXCHANGE, routing_key)


def delete_queues(amqp_url: str, *queues: str) -> None:
    with contextlib.closing(connect(amqp_url)) as connection:
        channel = connection.channel()
        for queue in queues:
            with contextlib.suppress(AMQPError):
                channel.queue_delete(queue)


def purge(amqp_url: str, queue: str) -> None:
    with contextlib.closing(connect(amqp_url)) as connection:
        connection.channel().queue_purge(queue)


class RawPublisher:
    """Publishes persistent messages in batches and waits for each batch's confirms."""

    def __init__(self, amqp_url: str) -> None:
        self.connection = connect(amqp_url)
        self.channel = self.connection.channel()._impl  # the asynchronous channel underneath
        self.sent = self.acked = 0
        selected: list[object] = []
        self.channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=selected.append)
        self._wait(lambda: bool(selected))

    def _on_confirm(self, frame) -> None:
        if not isinstance(frame.method, pika.spec.Basic.Ack):
            raise AMQPError("nacked")
        self.acked = frame.method.delivery_tag

    def _wait(self, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 60
        while not done():
            if time.monotonic() > deadline:
                raise AMQPError("no confirms within 60 s")
            self.connection.process_data_events(time_limit=0.05)

    def publish(
        self, routing_key: str, messages: Iterable[Message], exchange: str = EXCHANGE, batch=500
    ) -> None:
        pending = 0
        for message_id, body in messages:
            self.channel.basic_publish(
                exchange,
                routing_key,
                body,
                properties(message_id),
            )
            self.sent += 1
            pending += 1
            if pending == batch:
                self._wait(lambda: self.acked >= self.sent)
                pending = 0
        self._wait(lambda: self.acked >= self.sent)

    def close(self) -> None:
        with contextlib.suppress(AMQPError):
            self.connection.close()


def publish_all(
    amqp_url: str, routing_key: str, messages: list[Message], exchange: str = EXCHANGE
) -> float:
    """Publish `messages` with batched confirms; the seconds it took, connecting excluded."""
    publisher = RawPublisher(amqp_url)
    try:
        started = time.perf_counter()
        publisher.publish(routing_key, messages, exchange)
        return time.perf_counter() - started
    finally:
        publisher.close()


def consume_all(amqp_url: str, queue: str, count: int, prefetch: int) -> float:
    """Consume and ack `count` messages one by one; seconds from the first to the last."""
    with contextlib.closing(connect(amqp_url)) as connection:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=prefetch)
        first = None
        consumed = channel.consume(queue, inactivity_timeout=30)
        for seen, (method, _properties, _body) in enumerate(consumed, start=1):
            if method is None:
                raise AMQPError(f"queue {queue} ran dry after {seen - 1} of {count}")
            first = first or time.perf_counter()
            channel.basic_ack(method.delivery_tag)
            if seen == count:
                break
        elapsed = time.perf_counter() - first
        channel.cancel()
    return elapsed
