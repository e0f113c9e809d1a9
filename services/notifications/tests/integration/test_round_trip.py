"""The read side of the inbox shows every field of the data model's notification, exactly.

A notification made from an event reads the same from the list and from GET one, with
`id, user_id, message, is_read, link, created_at, updated_at` by those names and the values
the event made (and the row holds); marking it read round-trips `is_read`. On SQLite and
PostgreSQL.
"""

import json

from sqlalchemy import select

from services.notifications.models import Notification, OutboxEvent
from services.notifications.tests.conftest import lead_event
from shared.ids import new_id
from shared.testing.events import event_body
from shared.testing.helpers import auth

MODEL_FIELDS = ("id", "user_id", "message", "is_read", "link", "created_at", "updated_at")
OWNER = auth("account_manager", "am-1")


def contact_assigned(owner_id: str, actor_id: str) -> bytes:
    """contact.updated as the contacts service publishes it when a contact changes owner."""
    contact_id = new_id()
    data = {
        "id": contact_id,
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "phone_number": "+1 555 0100",
        "job_title": "Rear Admiral",
        "company_id": None,
        "owner_id": owner_id,
        "actor_id": actor_id,
        "changed": ["owner_id"],
    }
    return event_body(
        event_type="contact.updated", source="/crm/contacts", subject=contact_id, data=data
    )


def read(client, path: str) -> dict:
    response = client.get(f"/api/v1/notifications{path}", headers=OWNER)
    assert response.status_code == 200, response.json
    return json.loads(response.get_data())


def stored(database, notification_id: str) -> Notification:
    with database.sessions() as session:
        return session.get(Notification, notification_id)


def test_notifications_read_back_every_model_field_exactly(client, consumer, notifications_db):
    lead_body = lead_event("am-1", "mgr-1", name="Ada Lovelace", company_name="Engines")
    contact_body = contact_assigned("am-1", "mgr-1")
    consumer.handle(lead_body)
    consumer.handle(contact_body)
    expected = {
        json.loads(lead_body)["subject"]: (
            "lead",
            "Lead assigned to you: Ada Lovelace (Engines)",
            "/leads/",
        ),
        json.loads(contact_body)["subject"]: (
            "contact",
            "Contact assigned to you: Grace Hopper",
            "/contacts/",
        ),
    }
    page = read(client, "")["items"]
    assert len(page) == 2
    with notifications_db.sessions() as session:
        outbox = [json.loads(row.body)["data"] for row in session.scalars(select(OutboxEvent))]
    for item in page:
        assert set(MODEL_FIELDS) <= set(item)
        record_type, message, collection = expected[item["record_id"]]
        assert (item["user_id"], item["message"], item["is_read"]) == ("am-1", message, False)
        assert item["link"] == f"{collection}{item['record_id']}"
        assert item["record_type"] == record_type
        assert read(client, f"/{item['id']}") == item
        [filtered] = read(client, f"?record_type={record_type}")["items"]
        assert filtered == item
        row = stored(notifications_db, item["id"])
        assert (row.user_id, row.message, row.link, row.is_read) == (
            item["user_id"],
            item["message"],
            item["link"],
            item["is_read"],
        )
        assert (item["created_at"], item["updated_at"]) == (
            row.created_at.isoformat(),
            row.updated_at.isoformat(),
        )
        [published] = [data for data in outbox if data["id"] == item["id"]]
        assert {k: published[k] for k in MODEL_FIELDS} == {k: item[k] for k in MODEL_FIELDS}


def test_is_read_round_trips(client, consumer, notifications_db):
    consumer.handle(lead_event("am-1", "mgr-1"))
    [before] = read(client, "")["items"]
    url = f"/api/v1/notifications/{before['id']}"
    marked = client.patch(url, json={"is_read": True}, headers=OWNER)
    assert marked.status_code == 200, marked.json
    after = read(client, f"/{before['id']}")
    assert after == json.loads(marked.get_data()) == read(client, "?is_read=true")["items"][0]
    assert after["is_read"] is True and stored(notifications_db, after["id"]).is_read is True
    assert after["updated_at"] >= before["updated_at"]
    unchanged = ("id", "user_id", "message", "link", "created_at")
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert read(client, "?is_read=false")["items"] == []
