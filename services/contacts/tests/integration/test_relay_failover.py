"""Two contacts workers on one database: SIGKILL the active relay, the standby finishes the job.

Every event reaches the broker, at least once; re-sends carry the same event id, which
consumers dedupe.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from shared.testing.helpers import EventTap, auth, delete_consumer_queues, eventually, unique
from shared.testing.metrics import scrape, total
from shared.testing.postgres import free_port

ROOT = Path(__file__).resolve().parents[4]
pytestmark = pytest.mark.integration
EVENTS = 300


@pytest.fixture
def backend():
    return "postgresql"  # the leader lock is a PostgreSQL advisory lock


def start_worker(database_url, amqp_url, queue, log_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "services.contacts", "worker"],
        cwd=ROOT,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "AMQP_URL": amqp_url,
            "HEALTH_PORT": str(port),
            "CRM_ENV": "test",
            "CRM_CONTACTS_QUEUE": queue,
        },
    )
    return process, f"http://127.0.0.1:{port}"


def ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/readyz", timeout=2).ok
    except requests.RequestException:
        return False


def published_by(url: str) -> float:
    return total(scrape(url), "crm_outbox_published_total")


def test_killing_the_active_relay_loses_no_event(client, contacts_db, amqp_url, tmp_path):
    queue = unique("failover") + ".references"
    tap = EventTap(amqp_url, keys=("company.created",))
    workers = [
        start_worker(contacts_db.url, amqp_url, queue, tmp_path / f"worker-{n}.log")
        for n in range(2)
    ]
    headers = auth("account_manager")
    created: set[str] = set()

    def create(count):
        for _ in range(count):
            response = client.post(
                "/api/v1/companies", json={"name": unique("co")}, headers=headers
            )
            assert response.status_code == 201, response.json
            created.add(response.json["id"])

    def received() -> set[str]:
        return {event["subject"] for event in tap.drain()}

    try:
        for _, url in workers:
            eventually(lambda url=url: ready(url), timeout=60)
        create(EVENTS // 3)
        eventually(lambda: received() >= created, timeout=60)
        counts = [published_by(url) for _, url in workers]
        publishing = [w for w, count in zip(workers, counts, strict=True) if count > 0]
        assert len(publishing) == 1, counts  # one active relay, one standby
        active = publishing[0]
        active[0].kill()  # SIGKILL: no clean release of the lock, a connection that just dies
        active[0].wait(30)
        create(EVENTS - len(created))
        eventually(lambda: received() >= created, timeout=90)
        [(standby, url)] = [w for w in workers if w is not active]
        assert standby.poll() is None and published_by(url) > 0
        events = tap.received
        assert len({e["id"] for e in events}) == EVENTS  # one id per event, re-sent or not
        assert len(events) - EVENTS <= 100  # at most the batch in flight was sent again
    finally:
        for process, _ in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        tap.close()
        delete_consumer_queues(amqp_url, queue)
