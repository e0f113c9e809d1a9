"""Publishing to crm.events in batches, with publisher confirms tracked per batch."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pika
from pika.exceptions import AMQPError

from shared.events import EXCHANGE
from shared.logs import get_logger
from shared.topology import declare_exchange
from shared.tracing import publishing, trace_headers

log = get_logger(__name__)


@dataclass(frozen=True)
class Message:
    """One outbox event as an AMQP message."""

    routing_key: str
    body: bytes
    message_id: str
    correlation_id: str | None = None


class NotConfirmed(AMQPError):
    """The broker did not take every message of a batch (nack, return, timeout, lost link)."""


class Confirms:
    """What the broker said about the messages of one batch, by delivery tag.

    In confirm mode the broker numbers a channel's publishes 1, 2, 3...; an ack or nack with
    `multiple` settles every tag up to its own. A mandatory message no queue takes comes back
    as a basic.return (before its ack), known by its message id.
    """

    def __init__(self) -> None:
        self.first = 1
        self.states: list[bool | None] = []  # True acked, False nacked or returned
        self.tags: dict[str, int] = {}
        self.low = 0  # index of the first unsettled tag, for `multiple`

    def start(self, first_tag: int, message_ids: Sequence[str]) -> None:
        self.first, self.low = first_tag, 0
        self.states = [None] * len(message_ids)
        self.tags = {message_id: first_tag + i for i, message_id in enumerate(message_ids)}

    def settle(self, tag: int, multiple: bool, ok: bool) -> None:
        index = tag - self.first
        if index < 0 or index >= len(self.states):
            return  # a tag of an earlier batch, given up on
        for i in range(self.low if multiple else index, index + 1):
            if self.states[i] is None:
                self.states[i] = ok
        while self.low < len(self.states) and self.states[self.low] is not None:
            self.low += 1

    def returned(self, message_id: str | None) -> None:
        tag = self.tags.get(message_id or "")
        if tag is not None:
            self.settle(tag, multiple=False, ok=False)

    def settled(self) -> bool:
        return self.low == len(self.states)

    def failed(self) -> bool:
        return False in self.states

    def confirmed_prefix(self) -> int:
        """How many messages, from the first, the broker took: the rest must be sent again."""
        for i, state in enumerate(self.states):
            if state is not True:
                return i
        return len(self.states)


class PikaPublisher:
    """One confirming channel; `send` publishes a batch, `collect` waits for its confirms.

    pika's BlockingChannel in confirm mode waits for each message's confirm before the next
    publish. Instead this drives the asynchronous `pika.channel.Channel` underneath it
    (`confirm_delivery(ack_nack_callback)`, `add_on_return_callback`, `basic_publish`) from
    the BlockingConnection's own I/O loop, so a batch goes out in one stream and its acks
    come back, usually several at once (`multiple`).
    """

    def __init__(self, amqp_url: str, confirm_timeout: float = 30.0) -> None:
        params = pika.URLParameters(amqp_url)
        params.heartbeat = params.heartbeat or 30
        params.blocked_connection_timeout = 60
        params.connection_attempts = 1
        params.socket_timeout = 5
        self.confirm_timeout = confirm_timeout
        self.connection = pika.BlockingConnection(params)
        blocking = self.connection.channel()
        declare_exchange(blocking)
        self.channel = blocking._impl  # the asynchronous channel the blocking one wraps
        self.confirms = Confirms()
        self.sent = 0  # the last delivery tag used on this channel
        self.interrupted = False  # the link went while the last batch was sent
        selected: list[object] = []

        def on_select_ok(frame) -> None:
            selected.append(frame)
            self._wake()

        self.channel.add_on_return_callback(self._on_return)
        self.channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=on_select_ok)
        self._wait(lambda: bool(selected), self.confirm_timeout)
        if not selected:
            raise NotConfirmed("the broker did not answer Confirm.Select")

    def publish_batch(self, messages: Sequence[Message]) -> int:
        """Publish `messages` in order; the number of them, from the first, that were confirmed."""
        self.send(messages)
        return self.collect()

    def send(self, messages: Sequence[Message]) -> None:
        """Publish a batch without waiting; `collect` then waits for its confirms."""
        self.confirms.start(self.sent + 1, [m.message_id for m in messages])
        self.interrupted = False
        try:
            for message in messages:
                self._send(message)
                self.sent += 1
            self.connection.process_data_events(time_limit=0)  # out now, while we do other work
        except (AMQPError, OSError) as exc:  # the link went: what was confirmed still counts
            log.warning("relay_publish_interrupted", error=repr(exc))
            self.interrupted = True

    def collect(self) -> int:
        """Wait for the sent batch's confirms; how many, from the first, the broker took."""
        try:
            if not self.interrupted and not self._wait(self.confirms.settled, self.confirm_timeout):
                log.warning("relay_confirm_timeout", seconds=self.confirm_timeout)
        except (AMQPError, OSError) as exc:
            log.warning("relay_publish_interrupted", error=repr(exc))
        confirmed = self.confirms.confirmed_prefix()
        if self.confirms.failed():
            log.warning(
                "relay_nacked_or_returned", batch=len(self.confirms.states), confirmed=confirmed
            )
        return confirmed

    def _send(self, message: Message) -> None:
        headers = trace_headers(message.body)
        with publishing(message.routing_key, message.message_id, headers):
            self.channel.basic_publish(
                exchange=EXCHANGE,
                routing_key=message.routing_key,
                body=message.body,
                properties=pika.BasicProperties(
                    content_type="application/cloudevents+json",
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=message.message_id,
                    correlation_id=message.correlation_id,
                    type=message.routing_key,
                    headers=headers or None,
                ),
                mandatory=True,
            )

    def _wait(self, done, timeout: float) -> bool:
        """Run the I/O loop until `done()` or `timeout`; whether `done()`."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            # Returns early when a confirm callback calls _wake().
            self.connection.process_data_events(time_limit=min(left, 1.0))
        return True

    def _wake(self) -> None:
        # A callback queued on the connection ends the process_data_events call in _wait.
        self.connection.add_callback_threadsafe(lambda: None)

    def _on_confirm(self, frame) -> None:
        method = frame.method
        ok = isinstance(method, pika.spec.Basic.Ack)
        self.confirms.settle(method.delivery_tag, bool(method.multiple), ok)
        if self.confirms.settled():
            self._wake()

    def _on_return(self, _channel, method, properties, _body) -> None:
        log.warning(
            "relay_message_returned",
            message_id=properties.message_id,
            reply_code=method.reply_code,
            reply_text=method.reply_text,
        )
        self.confirms.returned(properties.message_id)

    def sleep(self, seconds: float) -> None:
        self.connection.sleep(seconds)  # keeps heartbeats flowing, unlike time.sleep

    def close(self) -> None:
        if self.connection.is_open:
            with contextlib.suppress(AMQPError):
                self.connection.close()
