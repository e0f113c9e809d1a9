"""Every sales event, as the API really records it, matches its published JSON Schema."""

import json

import pytest
from sqlalchemy import select

from services.sales.events import CATALOG
from services.sales.models import OutboxEvent
from services.sales.tests.integration.helpers import (
    MARKETING,
    SALES_MANAGER,
    SDR,
    make_campaign,
    make_lead,
    make_opportunity,
    make_product,
    ok,
)
from shared.schemas import errors_of


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def outbox_bodies(client, sales_db, users) -> list[dict]:
    users.user_ids.add("sdr-2")
    campaign = make_campaign(client, start_date="2026-01-01", end_date=None)
    ok(
        client.patch(
            f"/api/v1/campaigns/{campaign['id']}", json={"budget": None}, headers=MARKETING
        )
    )
    spare = make_campaign(client, name="Spare")
    assert client.delete(f"/api/v1/campaigns/{spare['id']}", headers=MARKETING).status_code == 204

    lead = make_lead(
        client, headers=SALES_MANAGER, email="a@example.com", campaign_id=campaign["id"]
    )
    ok(
        client.patch(
            f"/api/v1/leads/{lead['id']}", json={"owner_id": "sdr-2"}, headers=SALES_MANAGER
        )
    )
    ok(client.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=SALES_MANAGER), 201)
    dropped = make_lead(client)
    assert client.delete(f"/api/v1/leads/{dropped['id']}", headers=SDR).status_code == 204

    product = make_product(client)
    ok(
        client.patch(
            f"/api/v1/products/{product['id']}", json={"price": "99.99"}, headers=SALES_MANAGER
        )
    )
    unused = make_product(client, sku="UNUSED-1")
    assert (
        client.delete(f"/api/v1/products/{unused['id']}", headers=SALES_MANAGER).status_code == 204
    )

    deal = make_opportunity(client, expected_close_date="2026-09-30")
    url = f"/api/v1/opportunities/{deal['id']}"
    ok(
        client.post(
            f"{url}/products", json={"product_id": product["id"], "quantity": 2}, headers=SDR
        ),
        201,
    )
    ok(client.patch(url, json={"stage": "proposal"}, headers=SDR))
    ok(client.patch(url, json={"stage": "closed_won"}, headers=SDR))
    lost = make_opportunity(client)
    ok(
        client.patch(
            f"/api/v1/opportunities/{lost['id']}",
            json={"stage": "closed_lost", "lost_reason": "Price"},
            headers=SDR,
        )
    )
    gone = make_opportunity(client)
    assert client.delete(f"/api/v1/opportunities/{gone['id']}", headers=SDR).status_code == 204

    with sales_db.sessions() as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq)).all()
        return [json.loads(row.body) for row in rows]


def test_every_sales_event_type_is_exercised_and_matches_its_schema(outbox_bodies):
    assert {body["type"] for body in outbox_bodies} == set(CATALOG)
    failures = {f"{b['type']} {b['id']}": errors_of(b) for b in outbox_bodies}
    failures = {event: errors for event, errors in failures.items() if errors}
    assert not failures, json.dumps(failures, indent=2)
    assert all(body["source"] == "/crm/sales" for body in outbox_bodies)


def test_a_won_event_without_its_line_items_fails_validation(outbox_bodies):
    won = next(body for body in outbox_bodies if body["type"] == "opportunity.won")
    assert errors_of(won) == []
    won["data"].pop("line_items")
    assert any("line_items" in error for error in errors_of(won))
