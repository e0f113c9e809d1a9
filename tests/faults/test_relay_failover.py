"""SIGKILL of the active relay mid-traffic: the standby takes over and no event is lost."""

from __future__ import annotations

import threading

import pytest

from services.contacts.models import OutboxEvent
from shared.ids import new_id
from shared.outbox import Outbox
from shared.testing.events import complete
from shared.testing.helpers import EventTap, delete_consumer_queues, eventually, unique
from shared.testing.processes import base_env, start_worker
from tests.faults.conftest import unpublished

pytestmark = pytest.mark.integration
EVENTS = 400
#: What a relay reads and publishes at a time (shared/relay.py): a killed relay may have
#: had that many confirmed by the broker and not yet marked, and the standby sends them again.
RELAY_BATCH = 500


def write_events(database, count: int, ids: list[str]) -> None:
    """Commit `count` company.created events, a few per transaction, as the web process does."""
    outbox = Outbox(OutboxEvent, "contacts")
    for _ in range(count // 10):
        with database.transaction() as session:
            for _ in range(10):
                data = complete("company.created", {"id": new_id(), "name": unique("co")})
                ids.append(outbox.record(session, "company.created", data))


def test_the_standby_relay_takes_over_from_a_killed_one_and_no_event_is_lost(
    service_db, amqp_url, processes, tmp_path
):
    database = service_db("contacts")
    queue = unique("faults-contacts") + ".references"
    env = base_env(database.url, amqp_url, CRM_CONTACTS_QUEUE=queue)
    tap = EventTap(amqp_url, keys=("company.created",))
    ids: list[str] = []
    try:
        workers = [start_worker("contacts", env, tmp_path, f"contacts-worker-{n}") for n in (1, 2)]
        processes.extend(workers)
        for worker in workers:
            worker.wait_ready()

        def delivered() -> set[str]:
            return {event["id"] for event in tap.drain()}

        write_events(database, EVENTS // 4, ids)
        eventually(lambda: delivered() >= set(ids), timeout=60)
        counts = [w.metric("crm_outbox_published_total") for w in workers]
        assert sorted(c > 0 for c in counts) == [False, True], counts  # one active, one standby
        active, standby = workers if counts[0] > 0 else workers[::-1]

        writer = threading.Thread(target=write_events, args=(database, EVENTS * 3 // 4, ids))
        writer.start()
        eventually(lambda: len(ids) > EVENTS // 2, timeout=30, interval=0.01)
        active.kill()  # mid-traffic, with no chance to release its lock
        writer.join(60)

        eventually(lambda: delivered() >= set(ids), timeout=60)  # the takeover's bound
        assert len(ids) == EVENTS and standby.alive()
        assert standby.metric("crm_outbox_published_total") > 0
        assert unpublished(database, OutboxEvent) == 0
        mine = [event for event in tap.received if event["id"] in set(ids)]
        assert len(mine) - EVENTS <= RELAY_BATCH, "more re-sends than one unmarked batch"
    finally:
        tap.close()
        delete_consumer_queues(amqp_url, queue)
