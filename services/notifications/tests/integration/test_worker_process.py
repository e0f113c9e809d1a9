"""The notifications worker as a real process on a real broker: events in, notifications out."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from services.notifications.models import InboxEvent, Notification
from services.notifications.tests.conftest import lead_event
from shared.testing.fixtures import migrated
from shared.testing.helpers import (
    EventTap,
    delete_consumer_queues,
    eventually,
    has_consumer,
    publish_event,
    unique,
)
from shared.testing.postgres import free_port

ROOT = Path(__file__).resolve().parents[4]
pytestmark = pytest.mark.integration


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def queue(amqp_url):
    name = unique("notifications") + ".inbox"  # not the real queue: a system may be running
    yield name
    delete_consumer_queues(amqp_url, name)


def notifications(database):
    with database.sessions() as session:
        return list(session.scalars(select(Notification)))


def test_the_worker_turns_published_events_into_one_notification_each(
    database_url, amqp_url, queue, tmp_path
):
    database = migrated(database_url, ROOT / "services/notifications/migrations")
    port = free_port()
    log = (tmp_path / "worker.log").open("w+")
    tap = EventTap(amqp_url, keys=("notification.created",))
    process = subprocess.Popen(
        [sys.executable, "-m", "services.notifications", "worker"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "AMQP_URL": amqp_url,
            "HEALTH_PORT": str(port),
            "CRM_ENV": "test",
            "CRM_NOTIFICATIONS_QUEUE": queue,
        },
    )
    try:
        ready = eventually(lambda: _ready(port), timeout=30)
        assert ready["checks"] == {"database": "ok", "broker": "ok"}
        eventually(lambda: has_consumer(amqp_url, queue), timeout=15)
        body = lead_event(unique("sdr"), unique("mgr"))
        for _ in range(2):  # a redelivery, as after a relay crash
            publish_event(amqp_url, body)
        sdr = unique("sdr")
        nobody = lead_event(sdr, sdr, event_type="lead.created")  # an own action: no notification
        publish_event(amqp_url, nobody)  # handled after the others: one queue, in order
        [made] = eventually(lambda: notifications(database), timeout=15)
        assert made.event_id == json.loads(body)["id"]
        published = eventually(lambda: tap.of_subject(made.id), timeout=15)
        assert published[0]["data"]["user_id"] == made.user_id
        eventually(lambda: _handled(database, json.loads(nobody)["id"]), timeout=15)
        assert len(notifications(database)) == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        tap.close()
        if process.poll() is None:
            process.kill()
        database.dispose()


def _ready(port):
    try:
        body = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).json()
    except requests.RequestException:
        return None
    return body if body.get("status") == "ok" else None


def _handled(database, event_id) -> bool:
    with database.sessions() as session:
        return session.scalar(select(InboxEvent).where(InboxEvent.event_id == event_id)) is not None
