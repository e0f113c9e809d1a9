"""The broker permissions of the prod overlay let each service's worker do its work, and no more.

The `Permission` objects the Messaging Topology Operator applies in production are set, as
they render, on a user of the real broker (in a virtual host of its own, removed afterwards);
that user then runs what the service's worker runs: the relay's publisher (it declares the
exchanges), the consumer's topology (queue, retry tiers, dead-letter queue), a confirmed
publish, a delivery forwarded to a retry tier and to the dead-letter queue, a replay. Another
service's queue stays out of its reach.
"""

from __future__ import annotations

import importlib
import secrets
import shutil
import subprocess
from urllib.parse import quote, urlparse

import pika
import pytest
from pika.exceptions import ChannelClosedByBroker

from shared import dlq
from shared.consumer import Consumer
from shared.publisher import Message
from shared.relay import PikaPublisher
from shared.topology import declare_consumer_queue, dlq_name, retry_name
from tests.deploy.test_manifests import SERVICES, of_kind, rendered

pytestmark = pytest.mark.integration

ACCESS_REFUSED = 403
ROUTING_KEY = "permission.checked"


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def consumer_queue(service: str) -> str:
    return importlib.import_module(f"services.{service}.handlers").QUEUE


@pytest.fixture(scope="module")
def broker_user(amqp_url):
    """A user and a virtual host of their own on the test broker: (vhost, username, url)."""
    parsed = urlparse(amqp_url)
    if parsed.hostname not in {"127.0.0.1", "localhost"} or not shutil.which("rabbitmqctl"):
        pytest.skip("needs the local broker's rabbitmqctl to create a user and a virtual host")
    token = secrets.token_hex(4)
    vhost, username, password = f"crm-permissions-{token}", f"crm-{token}", secrets.token_hex(16)
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("add_user", username, password)
    url = f"amqp://{username}:{password}@{parsed.hostname}:{parsed.port or 5672}/{quote(vhost, '')}"
    try:
        yield vhost, username, url
    finally:
        rabbitmqctl("delete_vhost", vhost)
        rabbitmqctl("delete_user", username)


def refused(action) -> bool:
    try:
        action()
    except ChannelClosedByBroker as exc:
        return exc.reply_code == ACCESS_REFUSED
    return False


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_services_broker_user_runs_its_worker_and_reaches_no_other_queue(broker_user, service):
    vhost, username, url = broker_user
    (permission,) = [
        p
        for p in of_kind(rendered("prod"), "Permission").values()
        if p["spec"]["userReference"]["name"] == service
    ]
    allowed = permission["spec"]["permissions"]
    rabbitmqctl(
        "set_permissions", "-p", vhost, username,
        allowed["configure"], allowed["write"], allowed["read"],
    )  # fmt: skip
    queue = consumer_queue(service)
    assert queue.startswith(f"{service}.")

    publisher = PikaPublisher(url)  # declares crm.events and its alternate exchange
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = declare_consumer_queue(connection.channel(), queue, [ROUTING_KEY])
        channel.confirm_delivery()
        sent = publisher.publish_batch(
            [Message(routing_key=ROUTING_KEY, body=b"{}", message_id=f"m-{service}")]
        )
        assert sent == 1
        method, properties, body = next(channel.consume(queue, inactivity_timeout=30))
        assert method is not None and properties.message_id == f"m-{service}"
        channel.cancel()
        Consumer._forward(channel, retry_name(queue, 1), properties, body, {})
        Consumer._forward(channel, dlq_name(queue), properties, body, {})
        channel.basic_ack(method.delivery_tag)
        assert channel.queue_declare(dlq_name(queue), passive=True).method.message_count == 1
        assert dlq.replay(url, queue) == 1

        other = next(consumer_queue(s) for s in sorted(SERVICES) if s != service)
        assert refused(lambda: connection.channel().queue_declare(other, durable=True))
        assert refused(lambda: connection.channel().basic_get(other))
        assert refused(lambda: connection.channel().exchange_declare(f"{other}.events"))
    finally:
        publisher.close()
        if connection.is_open:
            connection.close()
