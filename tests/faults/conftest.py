"""Fixtures of the fault suite: a PostgreSQL of its own (it gets restarted), started processes.

The suite runs real service processes against real brokers and databases and breaks them:
see docs/ops.md, "Faults we test".
"""

from __future__ import annotations

import json
from pathlib import Path

import pika
import pytest
from sqlalchemy import func, select

from services.notifications.models import Notification
from shared.db import Database
from shared.ids import new_id
from shared.publisher import Message, PikaPublisher
from shared.testing.events import event_body
from shared.testing.fixtures import migrated
from shared.testing.postgres import PostgresCluster
from shared.testing.processes import Process, stop_all

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="package")
def fault_postgres():
    """Not the run's shared server: one test here stops and restarts it."""
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def service_db(fault_postgres):
    """`service_db("contacts")`: a fresh database with that service's migrations applied."""
    made: list[Database] = []

    def make(service: str) -> Database:
        url = fault_postgres.create_database(f"f_{service}_{new_id()[-12:]}")
        database = migrated(url, ROOT / "services" / service / "migrations")
        made.append(database)
        return database

    yield make
    for database in made:
        database.dispose()


@pytest.fixture
def processes():
    """Every process a test starts goes here; all are stopped when the test ends."""
    started: list[Process] = []
    yield started
    stop_all(started)


def unpublished(database: Database, model) -> int:
    with database.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(model).where(model.published_at.is_(None))
        )


def lead_assigned(owner_id: str) -> bytes:
    """A lead.assigned event as the sales relay publishes it: one notification for the owner."""
    lead_id = new_id()
    data = {"id": lead_id, "name": "Ada Lovelace", "owner_id": owner_id, "actor_id": "manager"}
    return event_body(event_type="lead.assigned", data=data, subject=lead_id)


def publish(amqp_url: str, bodies: list[bytes]) -> None:
    """Publish to crm.events as a relay does, confirmed; each body's id is its message id."""
    messages = [
        Message(routing_key=json.loads(b)["type"], body=b, message_id=json.loads(b)["id"])
        for b in bodies
    ]
    publisher = PikaPublisher(amqp_url)
    try:
        assert publisher.publish_batch(messages) == len(messages)
    finally:
        publisher.close()


def notifications_of(database: Database, user_id: str) -> list[str]:
    """The event ids of the user's notifications, one per notification row."""
    with database.sessions() as session:
        return list(
            session.scalars(select(Notification.event_id).where(Notification.user_id == user_id))
        )


def consumer_count(amqp_url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.consumer_count
    finally:
        connection.close()
