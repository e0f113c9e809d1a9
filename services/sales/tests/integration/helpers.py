"""Small builders the sales integration tests share."""

from __future__ import annotations

import json

from sqlalchemy import select

from services.sales.models import OutboxEvent
from shared.testing.helpers import auth

MARKETING = auth("marketing_manager", "mm-1")
SALES_MANAGER = auth("sales_manager", "sm-1")
SDR = auth("sdr", "sdr-1")
OTHER_SDR = auth("sdr", "sdr-2")
ADMIN = auth("admin", "admin-1")


def ok(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return json.loads(response.get_data()) if response.get_data() else None  # plain floats


def make_campaign(client, headers=MARKETING, **fields):
    body = {"name": "Spring fair", "budget": "1000.00", **fields}
    return ok(client.post("/api/v1/campaigns", json=body, headers=headers), 201)


def make_lead(client, headers=SDR, **fields):
    body = {"name": "Ada Lovelace", **fields}
    return ok(client.post("/api/v1/leads", json=body, headers=headers), 201)


def make_product(client, headers=SALES_MANAGER, **fields):
    body = {"name": "Pallet tracking", "sku": "PT-1", "price": "120.50", **fields}
    return ok(client.post("/api/v1/products", json=body, headers=headers), 201)


def make_opportunity(client, headers=SDR, **fields):
    body = {"name": "Acme freight", **fields}
    return ok(client.post("/api/v1/opportunities", json=body, headers=headers), 201)


def events(database, subject=None, event_type=None) -> list[dict]:
    """The outbox's events (data + event_type), oldest first, optionally for one subject or type."""
    stmt = select(OutboxEvent).order_by(OutboxEvent.seq)
    if subject is not None:
        stmt = stmt.where(OutboxEvent.subject == subject)
    if event_type is not None:
        stmt = stmt.where(OutboxEvent.event_type == event_type)
    with database.sessions() as session:
        rows = session.scalars(stmt).all()
    return [{**json.loads(row.body)["data"], "event_type": row.event_type} for row in rows]
