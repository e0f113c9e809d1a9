"""Small helpers for tests: polling, tokens, unique names, a queue that listens to crm.events."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import pika

from shared.auth import SERVICE, Identity
from shared.events import EXCHANGE
from shared.topology import RETRY_DELAYS_MS, declare_exchange, dlq_name, retry_name

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 15.0, interval: float = 0.1) -> T:
    """Call `check` until it returns something truthy without raising; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError as exc:
            last_error = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s") from last_error
        time.sleep(interval)


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


#: Test tokens outlive the whole suite: modules make theirs at import, and a full run on a
#: loaded CI machine takes well over ten minutes.
TEST_TOKEN_TTL = 24 * 3600


#: What `token_for("service")` may do: read every service's records (docs/access.md).
READER_SCOPES = frozenset(
    f"{name}:read" for name in ("users", "contacts", "sales", "support", "billing", "notifications")
)


def token_for(role: str, user_id: str | None = None, ttl: int = TEST_TOKEN_TTL) -> str:
    """A user's token, or for `service` a reader service's, signed with the development key."""
    from shared.testing.tokens import issue_token

    if role == SERVICE:
        name = user_id or "service:reader"
        return issue_token(Identity(name, SERVICE, name=name, scopes=READER_SCOPES), ttl)
    return issue_token(Identity(user_id or unique(role), role, f"{role}@example.test", role), ttl)


def auth(role: str, user_id: str | None = None) -> dict:
    return {"Authorization": f"Bearer {token_for(role, user_id)}"}


class EventTap:
    """An exclusive queue bound to crm.events: what a downstream module would receive."""

    def __init__(self, amqp_url: str, keys: tuple[str, ...] = ("#",)) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        self.channel = self.connection.channel()
        declare_exchange(self.channel)
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        for key in keys:
            self.channel.queue_bind(self.queue, EXCHANGE, routing_key=key)
        self.received: list[dict] = []

    def drain(self) -> list[dict]:
        while True:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return self.received
            self.received.append(
                {"routing_key": method.routing_key, "properties": properties, **json.loads(body)}
            )

    def of_subject(self, subject: str) -> list[dict]:
        return [e for e in self.drain() if e.get("subject") == subject]

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


def publish_event(amqp_url: str, body: bytes) -> None:
    """Publish a CloudEvent to crm.events as a service's relay does: persistent, confirmed."""
    event = json.loads(body)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        declare_exchange(channel)
        channel.basic_publish(
            EXCHANGE,
            event["type"],
            body,
            pika.BasicProperties(
                content_type="application/cloudevents+json",
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=event["id"],
                type=event["type"],
            ),
            mandatory=True,
        )
    finally:
        connection.close()


def delete_consumer_queues(amqp_url: str, queue: str, tiers: int = len(RETRY_DELAYS_MS)) -> None:
    """Remove a consumer's queue, its dead-letter queue and its retry tiers (test clean-up)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        for name in (queue, dlq_name(queue), *(retry_name(queue, t) for t in range(1, tiers + 1))):
            channel.queue_delete(name)
    finally:
        connection.close()


def has_consumer(amqp_url: str, queue: str) -> bool:
    """The queue exists (so it is bound) and someone consumes from it."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.consumer_count > 0
    except pika.exceptions.ChannelClosedByBroker:  # not declared yet
        return False
    finally:
        if connection.is_open:
            connection.close()
