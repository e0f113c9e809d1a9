"""Small builders the support integration tests share."""

from __future__ import annotations

import json

from sqlalchemy import select

from services.support.models import OutboxEvent
from shared.testing.helpers import auth, unique

AGENT = auth("support_agent", "agent-1")
OTHER_AGENT = auth("support_agent", "agent-2")
MANAGER = auth("sales_manager", "sm-1")
ADMIN = auth("admin", "admin-1")


def ok(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return json.loads(response.get_data()) if response.get_data() else None


def known_contact(contacts) -> str:
    contact_id = unique("contact")
    contacts.contacts.add(contact_id)
    return contact_id


def make_case(client, contacts, headers=AGENT, **fields):
    body = {"contact_id": known_contact(contacts), "description": "Pallets lost", **fields}
    return ok(client.post("/api/v1/cases", json=body, headers=headers), 201)


def move(client, case, status, headers=AGENT):
    return client.patch(f"/api/v1/cases/{case['id']}", json={"status": status}, headers=headers)


def events(database, subject=None, event_type=None) -> list[dict]:
    """The outbox's events (data + event_type), oldest first, optionally for a subject or type."""
    stmt = select(OutboxEvent).order_by(OutboxEvent.seq)
    if subject is not None:
        stmt = stmt.where(OutboxEvent.subject == subject)
    if event_type is not None:
        stmt = stmt.where(OutboxEvent.event_type == event_type)
    with database.sessions() as session:
        rows = session.scalars(stmt).all()
    return [{**json.loads(row.body)["data"], "event_type": row.event_type} for row in rows]
