"""The broker topology every process agrees on, declared idempotently."""

from __future__ import annotations

from pika.exceptions import ChannelClosedByBroker

from shared.events import EXCHANGE
from shared.logs import get_logger

log = get_logger(__name__)

#: Messages no queue is bound for land here instead of being dropped.
UNROUTED_EXCHANGE = "crm.events.unrouted"
UNROUTED_QUEUE = "crm.events.unrouted"
UNROUTED_TTL_MS = 7 * 24 * 3600 * 1000
DELIVERY_LIMIT = 10
#: Delayed retry tiers for transient failures, in milliseconds.
RETRY_DELAYS_MS = (1_000, 10_000, 60_000)
#: Dead-lettering that cannot lose a message: the broker keeps it in the source queue until the
#: target queue has confirmed it (a quorum-queue feature, which needs reject-publish overflow).
AT_LEAST_ONCE = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
PRECONDITION_FAILED = 406


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


def declare_queue(channel, queue: str, arguments: dict):
    """Declare `queue`; the channel to go on with.

    A queue an older release declared with other arguments (before at-least-once
    dead-lettering, say) is kept as it is, with a warning: the broker refuses to change a
    queue's arguments, and deleting it would lose its messages. docs/ops.md says how to move
    it over.
    """
    try:
        channel.queue_declare(queue, durable=True, arguments=arguments)
    except ChannelClosedByBroker as exc:
        if exc.reply_code != PRECONDITION_FAILED:
            raise
        log.warning("queue_arguments_differ", queue=queue, broker_says=exc.reply_text)
        channel = channel.connection.channel()
        channel.queue_declare(queue, passive=True)
    return channel


def declare_consumer_queue(
    channel, queue: str, bindings: list[str], retry_delays_ms: tuple[int, ...] = RETRY_DELAYS_MS
):
    """A quorum queue with a delivery limit, its dead-letter queue and its TTL retry tiers.

    Every dead-lettering hop (a retry tier's expiry back to the queue, the queue's delivery
    limit into its DLQ) is at-least-once. Returns the channel to go on with (see
    `declare_queue`).
    """
    declare_exchange(channel)
    channel = declare_queue(channel, dlq_name(queue), {"x-queue-type": "quorum"})
    channel = declare_queue(
        channel,
        queue,
        {
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dlq_name(queue),
            **AT_LEAST_ONCE,
        },
    )
    for tier, delay in enumerate(retry_delays_ms, start=1):
        channel = declare_queue(
            channel,
            retry_name(queue, tier),
            {
                "x-queue-type": "quorum",
                "x-message-ttl": delay,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": queue,
                **AT_LEAST_ONCE,
            },
        )
    for key in bindings:
        channel.queue_bind(queue, EXCHANGE, routing_key=key)
    return channel
