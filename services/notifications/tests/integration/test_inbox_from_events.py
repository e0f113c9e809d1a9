"""Events become notifications in the right inbox, once, on SQLite and on a real PostgreSQL."""

import json

from sqlalchemy import delete, func, select

from services.notifications.models import InboxEvent, Notification, OutboxEvent
from services.notifications.tests.conftest import lead_event
from shared.consumer import ACK, DEAD, DUPLICATE, IGNORED
from shared.schemas import errors_of
from shared.testing.events import event_body
from shared.testing.helpers import auth


def count(database, model, **where):
    with database.sessions() as session:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return session.scalar(stmt)


def test_an_assigned_lead_lands_unread_in_the_new_owners_inbox(client, consumer):
    body = lead_event("sdr-1", "mgr-1")
    lead_id = json.loads(body)["subject"]
    assert consumer.handle(body).kind == ACK
    page = client.get("/api/v1/notifications", headers=auth("sdr", "sdr-1")).json
    [notification] = page["items"]
    assert notification["link"] == f"/leads/{lead_id}" and notification["is_read"] is False
    assert notification["type"] == "lead.assigned" and notification["actor_id"] == "mgr-1"
    assert "Ada Lovelace" in notification["message"]
    assert client.get("/api/v1/notifications", headers=auth("sdr", "sdr-2")).json["items"] == []


def test_a_redelivered_event_makes_no_second_notification(consumer, notifications_db):
    body = lead_event("sdr-1", "mgr-1")
    event_id = json.loads(body)["id"]
    assert consumer.handle(body).kind == ACK
    assert consumer.handle(body).kind == DUPLICATE
    assert count(notifications_db, Notification, event_id=event_id) == 1


def test_one_notification_per_event_and_user_even_when_the_inbox_forgot_the_event(
    consumer, notifications_db
):
    body = lead_event("sdr-1", "mgr-1")
    consumer.handle(body)
    with notifications_db.transaction() as session:
        session.execute(delete(InboxEvent))  # e.g. replayed into a fresh queue after a restore
    assert consumer.handle(body).kind == ACK
    assert count(notifications_db, Notification, user_id="sdr-1") == 1
    assert count(notifications_db, OutboxEvent) == 1


def test_each_notification_is_published_as_notification_created_in_the_same_transaction(
    consumer, notifications_db
):
    body = lead_event("sdr-1", "mgr-1")
    consumer.handle(body)
    with notifications_db.sessions() as session:
        notification = session.scalars(select(Notification)).one()
        row = session.scalars(select(OutboxEvent)).one()
    published = json.loads(row.body)
    assert (
        published["type"] == "notification.created" and published["source"] == "/crm/notifications"
    )
    assert published["subject"] == notification.id
    assert published["causationid"] == json.loads(body)["id"]
    assert published["correlationid"] == "req-lead-1"
    assert published["data"]["user_id"] == "sdr-1"
    assert published["data"]["link"] == notification.link
    assert errors_of(published) == []  # the documented contract, docs/events/


def test_unknown_event_types_are_ignored_not_dead_lettered(consumer, notifications_db):
    body = event_body(event_type="lead.teleported", source="/crm/sales", subject="x", data={})
    assert consumer.handle(body).kind == IGNORED
    assert count(notifications_db, InboxEvent) == 0


def test_an_event_without_a_recipient_breaks_its_schema_and_is_dead_lettered(
    consumer, notifications_db
):
    outcome = consumer.handle(lead_event(None, "mgr-1"))  # lead.assigned to nobody
    assert outcome.kind == DEAD
    assert "data/owner_id: None is not of type 'string'" in outcome.error
    assert count(notifications_db, Notification) == 0


def test_an_own_action_makes_nothing(consumer, notifications_db):
    assert consumer.handle(lead_event("sdr-1", "sdr-1", event_type="lead.created")).kind == ACK
    assert count(notifications_db, Notification) == 0


def test_a_body_that_is_not_a_cloudevent_is_dead_lettered(consumer):
    assert consumer.handle(b'{"hello": "world"}').kind == DEAD
