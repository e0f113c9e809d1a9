"""The broker topology every process agrees on, declared idempotently."""

from __future__ import annotations

from shared.events import EXCHANGE

#: Messages no queue is bound for land here instead of being dropped.
UNROUTED_EXCHANGE = "crm.events.unrouted"
UNROUTED_QUEUE = "crm.events.unrouted"
UNROUTED_TTL_MS = 7 * 24 * 3600 * 1000
DELIVERY_LIMIT = 10
#: Delayed retry tiers for transient failures, in milliseconds.
RETRY_DELAYS_MS = (1_000, 10_000, 60_000)


def dlq_name(queue: str) -> str:
    return f"{queue}.dlq"


def retry_name(queue: str, tier: int) -> str:
    return f"{queue}.retry.{tier}"


def declare_exchange(channel) -> None:
    """`crm.events`: durable topic exchange, with an alternate exchange for unrouted events."""
    channel.exchange_declare(UNROUTED_EXCHANGE, "fanout", durable=True)
    channel.queue_declare(
        UNROUTED_QUEUE,
        durable=True,
        arguments={"x-queue-type": "quorum", "x-message-ttl": UNROUTED_TTL_MS},
    )
    channel.queue_bind(UNROUTED_QUEUE, UNROUTED_EXCHANGE)
    channel.exchange_declare(
        EXCHANGE, "topic", durable=True, arguments={"alternate-exchange": UNROUTED_EXCHANGE}
    )


def declare_consumer_queue(
    channel, queue: str, bindings: list[str], retry_delays_ms: tuple[int, ...] = RETRY_DELAYS_MS
) -> None:
    """A quorum queue with a delivery limit, its dead-letter queue and its TTL retry tiers."""
    declare_exchange(channel)
    channel.queue_declare(dlq_name(queue), durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_declare(
        queue,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dlq_name(queue),
        },
    )
    for tier, delay in enumerate(retry_delays_ms, start=1):
        channel.queue_declare(
            retry_name(queue, tier),
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-message-ttl": delay,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": queue,
            },
        )
    for key in bindings:
        channel.queue_bind(queue, EXCHANGE, routing_key=key)
