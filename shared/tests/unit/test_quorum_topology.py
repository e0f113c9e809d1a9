"""Every queue the workers declare is a quorum queue, with arguments quorum queues take.

Production's three-node RabbitMQ keeps a queue only if it is replicated, so no queue may fall
back to the classic type, and none may carry an argument quorum queues refuse (the broker
would close the channel and the worker would never become ready). Per-queue message TTL
(the retry tiers), at-least-once dead-lettering and the delivery limit are all quorum-queue
features (RabbitMQ 3.10 or later).
"""

from shared.topology import DELIVERY_LIMIT, RETRY_DELAYS_MS, declare_consumer_queue

# Arguments quorum queues reject (classic-only features).
CLASSIC_ONLY = {
    "x-max-priority",
    "x-queue-mode",
    "x-queue-version",
    "x-queue-master-locator",
    "exclusive",
}
QUORUM_ARGUMENTS = {
    "x-queue-type",
    "x-delivery-limit",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-dead-letter-strategy",
    "x-overflow",
    "x-message-ttl",
}


class RecordingChannel:
    """Records declarations the way pika's BlockingChannel takes them."""

    def __init__(self) -> None:
        self.queues: dict[str, dict] = {}
        self.connection = self

    def exchange_declare(self, *args, **kwargs) -> None:
        pass

    def queue_declare(self, queue, durable=False, exclusive=False, arguments=None, passive=False):
        assert durable and not exclusive, queue
        self.queues[queue] = dict(arguments or {})

    def queue_bind(self, *args, **kwargs) -> None:
        pass


def test_every_declared_queue_is_a_durable_quorum_queue_with_quorum_arguments():
    channel = RecordingChannel()
    declare_consumer_queue(channel, "billing.invoicing", ["opportunity.won"])
    expected = {
        "crm.events.unrouted",
        "billing.invoicing",
        "billing.invoicing.dlq",
        *(f"billing.invoicing.retry.{tier}" for tier in range(1, len(RETRY_DELAYS_MS) + 1)),
    }
    assert set(channel.queues) == expected
    for queue, arguments in channel.queues.items():
        assert arguments["x-queue-type"] == "quorum", queue
        assert set(arguments) <= QUORUM_ARGUMENTS, queue
        assert not set(arguments) & CLASSIC_ONLY, queue
    main = channel.queues["billing.invoicing"]
    assert main["x-delivery-limit"] == DELIVERY_LIMIT
    assert main["x-dead-letter-strategy"] == "at-least-once"
    assert main["x-overflow"] == "reject-publish"
    for tier, delay in enumerate(RETRY_DELAYS_MS, start=1):
        retry = channel.queues[f"billing.invoicing.retry.{tier}"]
        assert retry["x-message-ttl"] == delay
        assert retry["x-dead-letter-routing-key"] == "billing.invoicing"
