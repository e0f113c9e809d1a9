"""Bad input gets a clear 4xx problem and changes nothing; never a 500."""

import pytest

from services.sales.models import Campaign, Lead, Opportunity, OutboxEvent, Product
from services.sales.tests.integration.helpers import (
    MARKETING,
    SALES_MANAGER,
    SDR,
    make_lead,
    make_opportunity,
    make_product,
)

BAD_BODIES = [
    ("post", "/api/v1/campaigns", MARKETING, {"name": "x", "budget": "1e20"}),
    ("post", "/api/v1/campaigns", MARKETING, {"name": "x", "budget": "-1.00"}),
    ("post", "/api/v1/campaigns", MARKETING, {"name": "x", "start_date": "2026-13-01"}),
    ("post", "/api/v1/campaigns", MARKETING, {"name": "", "type": "radio"}),
    ("post", "/api/v1/campaigns", MARKETING, ["not", "an", "object"]),
    ("post", "/api/v1/leads", SDR, {"last_name": "x", "lead_score": 50.5}),
    ("post", "/api/v1/leads", SDR, {"last_name": "x", "email": "not-an-email"}),
    ("post", "/api/v1/leads", SDR, {"last_name": None}),
    ("post", "/api/v1/leads", SDR, {"last_name": "x", "lead_source": "pigeon"}),
    ("post", "/api/v1/leads", SDR, {"last_name": "x", "owner_id": None}),
    ("post", "/api/v1/products", SALES_MANAGER, {"name": "p", "sku": "bad sku!", "price": "1"}),
    ("post", "/api/v1/products", SALES_MANAGER, {"name": "p", "sku": "OK-1", "price": "1.234"}),
    ("post", "/api/v1/products", SALES_MANAGER, {"name": "p", "sku": "OK-1"}),
    ("post", "/api/v1/opportunities", SDR, {"name": "x", "probability": 2}),
    ("post", "/api/v1/opportunities", SDR, {"name": "x", "probability": "high"}),
    ("post", "/api/v1/opportunities", SDR, {"name": "x", "deal_value": "-5.00"}),
    ("post", "/api/v1/opportunities", SDR, {"name": "x", "stage": "won"}),
    ("post", "/api/v1/opportunities", SDR, {"name": "x", "lead_id": "l"}),
    ("post", "/api/v1/opportunities", SDR, {"name": "x", "closed_at": "2026-01-01T00:00:00Z"}),
]
BAD_QUERIES = [
    "/api/v1/leads?limit=abc",
    "/api/v1/leads?limit=0",
    "/api/v1/leads?limit=201",
    "/api/v1/leads?cursor=garbage",
    "/api/v1/leads?sort=-email",
    "/api/v1/opportunities?stage=won",
    "/api/v1/products?is_active=maybe",
    "/api/v1/campaigns?status=dreaming",
]


def stored(database) -> dict:
    with database.sessions() as session:
        return {
            model.__name__: session.query(model).count()
            for model in (Campaign, Lead, Product, Opportunity, OutboxEvent)
        }


@pytest.mark.parametrize("method, url, headers, body", BAD_BODIES)
def test_a_bad_body_is_a_422_and_changes_nothing(client, sales_db, method, url, headers, body):
    before = stored(sales_db)
    response = getattr(client, method)(url, json=body, headers=headers)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    assert response.get_json()["errors"]
    assert stored(sales_db) == before


@pytest.mark.parametrize("url", BAD_QUERIES)
def test_a_bad_query_is_a_422(client, url):
    response = client.get(url, headers=SDR)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"


def test_bad_changes_to_existing_records_are_4xx_and_change_nothing(client, sales_db):
    lead = make_lead(client)
    opportunity = make_opportunity(client)
    product = make_product(client)
    lines = f"/api/v1/opportunities/{opportunity['id']}/products"
    before = stored(sales_db)
    cases = [
        ("patch", f"/api/v1/leads/{lead['id']}", {"status": "converted"}, 422),
        ("patch", f"/api/v1/leads/{lead['id']}", {"lead_score": "lots"}, 422),
        ("patch", f"/api/v1/leads/{lead['id']}", {"campaign_id": "ghost"}, 422),
        ("post", f"/api/v1/leads/{lead['id']}/convert", {"create_opportunity": "perhaps"}, 422),
        ("post", f"/api/v1/leads/{lead['id']}/convert", {"company": {"name": ""}}, 422),
        ("post", f"/api/v1/leads/{lead['id']}/convert", {"contact": {"owner_id": "x"}}, 422),
        ("post", "/api/v1/leads/ghost/convert", {}, 404),
        ("patch", f"/api/v1/opportunities/{opportunity['id']}", {"stage": None}, 422),
        ("patch", f"/api/v1/opportunities/{opportunity['id']}", {"lost_reason": "x"}, 422),
        ("post", lines, {"product_id": product["id"], "quantity": -1}, 422),
        ("post", lines, {"product_id": None}, 422),
        ("post", lines, {"quantity": 1}, 422),
        ("patch", f"{lines}/{product['id']}", {"quantity": 2}, 404),
        ("patch", "/api/v1/opportunities/ghost", {"name": "x"}, 404),
        ("delete", "/api/v1/products/ghost", None, 403),  # the role is checked first
    ]
    for method, url, body, status in cases:
        response = getattr(client, method)(url, json=body, headers=SDR)
        assert response.status_code == status, (method, url, body, response.get_data(as_text=True))
        assert response.content_type == "application/problem+json"
    assert stored(sales_db) == before


def test_malformed_json_is_a_400(client):
    response = client.post(
        "/api/v1/leads", data="{oops", headers={**SDR, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
