"""Two notifications workers on one queue, 1,000 events, some sent twice: one notification each."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from shared.testing.helpers import delete_consumer_queues, eventually, unique
from shared.testing.processes import base_env, start_worker
from tests.faults.conftest import consumer_count, lead_assigned, notifications_of, publish

pytestmark = pytest.mark.integration
EVENTS = 1000
DUPLICATES = 100


def test_two_consumers_of_one_queue_make_each_notification_exactly_once(
    service_db, amqp_url, processes, tmp_path
):
    database = service_db("notifications")
    queue = unique("faults-notifications") + ".inbox"
    env = base_env(database.url, amqp_url, CRM_NOTIFICATIONS_QUEUE=queue)
    owner = unique("sdr")
    try:
        workers = [
            start_worker("notifications", env, tmp_path, f"notifications-worker-{n}")
            for n in (1, 2)
        ]
        processes.extend(workers)
        for worker in workers:
            worker.wait_ready()
        eventually(lambda: consumer_count(amqp_url, queue) == 2, timeout=30)

        bodies = [lead_assigned(owner) for _ in range(EVENTS)]
        publish(amqp_url, bodies + bodies[:DUPLICATES])  # a re-send has the same event id

        sent = {json.loads(body)["id"] for body in bodies}
        eventually(lambda: set(notifications_of(database, owner)) >= sent, timeout=90)
        # Every re-send delivered and known for one by the inbox (of one worker or the other).
        eventually(lambda: _duplicates(workers, queue) >= DUPLICATES, timeout=60)
        made = Counter(notifications_of(database, owner))
        assert set(made) == sent and set(made.values()) == {1}, "a notification made twice"
        for worker in workers:  # both took a share of the queue
            assert worker.metric("crm_consumer_events_total", queue=queue, outcome="handled") > 0
        assert (
            sum(
                w.metric("crm_consumer_events_total", queue=queue, outcome="duplicate")
                for w in workers
            )
            >= DUPLICATES
        )
    finally:
        delete_consumer_queues(amqp_url, queue)


def _duplicates(workers, queue: str) -> float:
    return sum(
        w.metric("crm_consumer_events_total", queue=queue, outcome="duplicate") for w in workers
    )
