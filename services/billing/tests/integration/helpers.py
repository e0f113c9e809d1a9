"""Small builders the billing integration tests share."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select

from services.billing.handlers import consumers
from services.billing.models import OutboxEvent
from shared.config import Settings
from shared.ids import new_id
from shared.testing.events import event_body
from shared.testing.helpers import auth

AM = auth("account_manager", "am-1")
OTHER_AM = auth("account_manager", "am-2")
SALES_MANAGER = auth("sales_manager", "sm-1")
ADMIN = auth("admin", "admin-1")
SDR = auth("sdr", "sdr-1")


def ok(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return json.loads(response.get_data()) if response.get_data() else None


def won_event(
    opportunity_id: str | None = None,
    *,
    owner_id: str = "am-1",
    lines: list[dict] | None = None,
    deal_value: str = "0.00",
    company_id: str | None = None,
    contact_id: str | None = None,
    event_id: str | None = None,
) -> bytes:
    """An opportunity.won CloudEvent as the sales relay publishes it."""
    opportunity_id = opportunity_id or new_id()
    data = {
        "id": opportunity_id,
        "name": "Acme freight",
        "owner_id": owner_id,
        "stage": "closed_won",
        "deal_value": deal_value,
        "company_id": company_id,
        "contact_id": contact_id,
        "line_items": lines or [],
        "actor_id": owner_id,
    }
    return event_body(
        event_type="opportunity.won",
        source="/crm/sales",
        subject=opportunity_id,
        data=data,
        event_id=event_id or new_id(),
    )


def line(quantity: int, unit_price: str, name: str = "Pallet tracking") -> dict:
    return {
        "product_id": new_id(),
        "sku": "SKU-" + new_id()[-6:],
        "name": name,
        "quantity": quantity,
        "unit_price": unit_price,
        "line_total": str(quantity * Decimal(unit_price)),
    }


def consumer_for(database, queue: str | None = None, amqp_url: str = ""):
    extra = {"CRM_BILLING_QUEUE": queue} if queue else {}
    settings = Settings(
        service="billing", env="test", database_url=database.url, amqp_url=amqp_url, extra=extra
    )
    return consumers(settings, database)[0]


def draft_for(client, database, **kwargs) -> dict:
    """The draft invoice opportunity.won makes, as the API shows it."""
    body = won_event(**kwargs)
    consumer_for(database).handle(body)
    opportunity_id = json.loads(body)["data"]["id"]
    page = ok(client.get(f"/api/v1/invoices?opportunity_id={opportunity_id}", headers=ADMIN))
    assert len(page["items"]) == 1, page
    return page["items"][0]


def events(database, subject=None, event_type=None) -> list[dict]:
    """The outbox's events (data + event_type), oldest first."""
    stmt = select(OutboxEvent).order_by(OutboxEvent.seq)
    if subject is not None:
        stmt = stmt.where(OutboxEvent.subject == subject)
    if event_type is not None:
        stmt = stmt.where(OutboxEvent.event_type == event_type)
    with database.sessions() as session:
        rows = session.scalars(stmt).all()
    return [{**json.loads(row.body)["data"], "event_type": row.event_type} for row in rows]
