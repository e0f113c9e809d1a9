"""RabbitMQ restarted mid-traffic: the relay and the consumer reconnect and nothing is lost.

On a private node (shared/testing/rabbitmq.py), never the broker the rest of the run shares.
The restart is of RabbitMQ within its running Erlang VM (`rabbitmqctl stop_app`/`start_app`):
to the clients it is a full restart (every connection closed, no listener, queues recovered
from disk), at a third of the time a cold boot of the VM takes.
"""

from __future__ import annotations

import threading

import pytest

from services.sales.models import OutboxEvent
from shared.ids import new_id
from shared.outbox import Outbox
from shared.testing import rabbitmq
from shared.testing.events import complete
from shared.testing.helpers import eventually, unique
from shared.testing.processes import base_env, start_worker
from tests.faults.conftest import notifications_of, unpublished

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not rabbitmq.available(), reason="rabbitmq-server is not installed"),
]
EVENTS = 200


@pytest.fixture
def broker():
    node = rabbitmq.RabbitNode().launch()  # it boots while the test migrates its databases
    yield node
    node.close()


def assign_leads(database, owner: str, count: int, ids: list[str]) -> None:
    """Commit lead.assigned events to the sales outbox, a few per transaction."""
    outbox = Outbox(OutboxEvent, "sales")
    for _ in range(count // 10):
        with database.transaction() as session:
            for _ in range(10):
                data = complete("lead.assigned", {"id": new_id(), "owner_id": owner})
                ids.append(outbox.record(session, "lead.assigned", data))


def test_relay_and_consumer_reconnect_after_a_broker_restart_and_nothing_is_lost(
    broker, service_db, processes, tmp_path
):
    sales, notifications = service_db("sales"), service_db("notifications")
    broker.wait_up()
    sales_worker = start_worker("sales", base_env(sales.url, broker.url), tmp_path)
    consumer = start_worker("notifications", base_env(notifications.url, broker.url), tmp_path)
    processes.extend([sales_worker, consumer])
    for worker in (sales_worker, consumer):
        worker.wait_ready()
    owner, ids = unique("sdr"), []

    assign_leads(sales, owner, EVENTS // 2, ids)
    eventually(lambda: len(notifications_of(notifications, owner)) > 0, timeout=60)
    writer = threading.Thread(target=assign_leads, args=(sales, owner, EVENTS // 2, ids))
    writer.start()
    broker.stop_app()  # mid-traffic: events in flight, in queues and still in the outbox
    for worker in (sales_worker, consumer):  # it notices, and says so
        eventually(lambda worker=worker: not worker.ready(), timeout=60)
    writer.join(60)
    broker.start_app()

    for worker in (sales_worker, consumer):  # the same processes, reconnected
        worker.wait_ready()
    eventually(lambda: set(notifications_of(notifications, owner)) >= set(ids), timeout=90)
    assert len(ids) == EVENTS
    assert sorted(notifications_of(notifications, owner)) == sorted(ids)  # each one once
    assert unpublished(sales, OutboxEvent) == 0
