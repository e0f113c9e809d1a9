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
    ok,
)

LONG_SOURCE = "x" * 101
PRODUCT = {"name": "p", "sku": "OK-1", "price": "1.00"}


def bad(url, headers):
    """A builder of BAD_BODIES rows: (method, url, caller, body, field named, word in message)."""
    return lambda body, field, says="": ("post", url, headers, body, field, says)


campaign = bad("/api/v1/campaigns", MARKETING)
lead = bad("/api/v1/leads", SDR)
product = bad("/api/v1/products", SALES_MANAGER)
deal = bad("/api/v1/opportunities", SDR)
BAD_BODIES = [
    campaign({"name": "x", "budget": "1e20"}, "budget"),
    campaign({"name": "x", "budget": "-1.00"}, "budget"),
    campaign({"name": "x", "start_date": "2026-13-01"}, "start_date"),
    campaign({"name": "", "type": "radio"}, "name"),
    campaign({"name": "x", "goal": "leads"}, "goal", "Unknown"),
    campaign(["not", "an", "object"], "_schema"),
    lead({"name": "x", "lead_score": 50.5}, "lead_score"),
    lead({"name": "x", "lead_score": "70"}, "lead_score"),
    lead({"name": "x", "email": "not-an-email"}, "email"),
    lead({"name": None}, "name"),
    lead({"name": ""}, "name"),
    lead({"name": "x" * 201}, "name"),
    lead({"name": 42}, "name"),
    lead({"email": "a@example.com"}, "name", "Missing"),
    lead({"name": "x", "lead_source": LONG_SOURCE}, "lead_source", "Longer"),
    lead({"name": "x", "lead_source": 7}, "lead_source"),
    lead({"name": "x", "phone_number": "1" * 51}, "phone_number"),
    lead({"name": "x", "owner_id": None}, "owner_id"),
    # The names from before the data model's: unknown now, never silently dropped.
    lead({"name": "x", "first_name": "Ada"}, "first_name", "Unknown"),
    lead({"name": "x", "last_name": "Lovelace"}, "last_name", "Unknown"),
    lead({"name": "x", "phone": "+44"}, "phone", "Unknown"),
    lead({"last_name": "Lovelace"}, "last_name", "Unknown"),
    product({**PRODUCT, "sku": "bad sku!"}, "sku"),
    product({**PRODUCT, "price": "1.234"}, "price"),
    product({"name": "p", "sku": "OK-1"}, "price", "Missing"),
    product({**PRODUCT, "type": "product"}, "type", "Must be one of"),
    product({**PRODUCT, "type": "goods"}, "type"),
    deal({"name": "x", "probability": 2}, "probability"),
    deal({"name": "x", "probability": "high"}, "probability"),
    deal({"name": "x", "deal_value": "-5.00"}, "deal_value"),
    deal({"name": "x", "stage": "won"}, "stage"),
    deal({"name": "x", "lead_id": "l"}, "lead_id", "Unknown"),
    deal({"name": "x", "closed_at": "2026-01-01T00:00:00Z"}, "closed_at", "Unknown"),
    deal({"name": "x", "source": LONG_SOURCE}, "source", "Longer"),
    deal({"name": "x", "source": ["web"]}, "source"),
    deal({"name": "x", "expected_close_date": 20260101}, "expected_close_date"),
]
BAD_QUERIES = [
    "/api/v1/leads?limit=abc",
    "/api/v1/leads?limit=0",
    "/api/v1/leads?limit=201",
    "/api/v1/leads?cursor=garbage",
    "/api/v1/leads?sort=-email",
    "/api/v1/opportunities?stage=won",
    "/api/v1/products?is_active=maybe",
    "/api/v1/products?type=product",
    "/api/v1/campaigns?status=dreaming",
]


def stored(database) -> dict:
    with database.sessions() as session:
        return {
            model.__name__: session.query(model).count()
            for model in (Campaign, Lead, Product, Opportunity, OutboxEvent)
        }


@pytest.mark.parametrize("method, url, headers, body, field, says", BAD_BODIES)
def test_a_bad_body_is_a_422_naming_the_field_and_changes_nothing(
    client, sales_db, method, url, headers, body, field, says
):
    before = stored(sales_db)
    response = getattr(client, method)(url, json=body, headers=headers)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    errors = response.get_json()["errors"]
    assert field in errors, errors
    assert says in " ".join(errors[field]), errors
    assert stored(sales_db) == before


@pytest.mark.parametrize("url", BAD_QUERIES)
def test_a_bad_query_is_a_422(client, url):
    response = client.get(url, headers=SDR)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"


def test_bad_changes_to_existing_records_are_4xx_naming_the_field_and_change_nothing(
    client, sales_db, contacts
):
    lead = make_lead(client)
    opportunity = make_opportunity(client)
    product = make_product(client)
    lead_url = f"/api/v1/leads/{lead['id']}"
    convert = f"{lead_url}/convert"
    deal_url = f"/api/v1/opportunities/{opportunity['id']}"
    lines = f"{deal_url}/products"
    company = {"name": "Analytical Engines"}
    before = stored(sales_db)
    cases = [
        ("patch", lead_url, {"status": "converted"}, 422, "status"),
        ("patch", lead_url, {"lead_score": "lots"}, 422, "lead_score"),
        ("patch", lead_url, {"campaign_id": "ghost"}, 422, "campaign_id"),
        ("patch", lead_url, {"name": None}, 422, "name"),
        ("patch", lead_url, {"first_name": "Augusta"}, 422, "first_name"),
        ("patch", lead_url, {"phone": "+44"}, 422, "phone"),
        # One bad field spoils the whole change: the good one is not applied either.
        ("patch", lead_url, {"name": "Augusta", "lead_source": LONG_SOURCE}, 422, "lead_source"),
        ("patch", lead_url, {"notes": "x", "last_name": "King"}, 422, "last_name"),
        ("post", convert, {"create_opportunity": "perhaps"}, 422, "create_opportunity"),
        ("post", convert, {"company": {"name": ""}}, 422, "company.name"),
        ("post", convert, {"company": {**company, "address": "1 Road"}}, 422, "company.address"),
        ("post", convert, {"company": {**company, "phone": "1"}}, 422, "company.phone"),
        ("post", convert, {"company": {**company, "street": "x" * 501}}, 422, "company.street"),
        ("post", convert, {"company": {**company, "state": "x" * 101}}, 422, "company.state"),
        (
            "post",
            convert,
            {"company": {**company, "postal_code": "x" * 21}},
            422,
            "company.postal_code",
        ),
        (
            "post",
            convert,
            {"company": {**company, "phone_number": "1" * 51}},
            422,
            "company.phone_number",
        ),
        ("post", convert, {"contact": {"owner_id": "x"}}, 422, "contact.owner_id"),
        ("post", convert, {"contact": {"first_name": "A"}}, 422, "contact.first_name"),
        ("post", convert, {"contact": {"last_name": "L"}}, 422, "contact.last_name"),
        ("post", convert, {"contact": {"phone": "1"}}, 422, "contact.phone"),
        ("post", convert, {"contact": {"name": ""}}, 422, "contact.name"),
        ("post", convert, {"contact": {"phone_number": 5}}, 422, "contact.phone_number"),
        ("post", convert, {"opportunity": {"source": LONG_SOURCE}}, 422, "opportunity.source"),
        ("post", "/api/v1/leads/ghost/convert", {}, 404, None),
        ("patch", deal_url, {"stage": None}, 422, "stage"),
        ("patch", deal_url, {"lost_reason": "x"}, 422, "lost_reason"),
        ("patch", deal_url, {"name": "y", "source": LONG_SOURCE}, 422, "source"),
        ("post", lines, {"product_id": product["id"], "quantity": -1}, 422, "quantity"),
        ("post", lines, {"product_id": None}, 422, "product_id"),
        ("post", lines, {"quantity": 1}, 422, "product_id"),
        ("patch", f"{lines}/{product['id']}", {"quantity": 2}, 404, None),
        ("get", f"{lines}/{product['id']}", None, 404, None),
        ("patch", "/api/v1/opportunities/ghost", {"name": "x"}, 404, None),
        ("delete", "/api/v1/products/ghost", None, 403, None),  # the role is checked first
    ]
    for method, url, body, status, field in cases:
        response = getattr(client, method)(url, json=body, headers=SDR)
        assert response.status_code == status, (method, url, body, response.get_data(as_text=True))
        assert response.content_type == "application/problem+json"
        if field is not None:
            assert field in response.get_json()["errors"], (body, response.get_json())
    product_url = f"/api/v1/products/{product['id']}"
    for url, original in ((lead_url, lead), (deal_url, opportunity), (product_url, product)):
        assert ok(client.get(url, headers=SDR)) == original  # nothing half-applied
    bad_product = {"type": "product", "price": "1.00"}
    response = client.patch(product_url, json=bad_product, headers=SALES_MANAGER)
    assert response.status_code == 422 and "type" in response.get_json()["errors"]
    assert ok(client.get(product_url, headers=SDR)) == product
    assert stored(sales_db) == before
    assert contacts.calls == []  # a bad conversion body never reaches the contacts service


def test_malformed_json_is_a_400(client):
    response = client.post(
        "/api/v1/leads", data="{oops", headers={**SDR, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/v1/leads?status=unqualified&email=%00x", "email"),
        ("/api/v1/reports/pipeline?owner_id=a%00b", "owner_id"),
        ("/api/v1/opportunities?source=%00", "source"),
    ],
)
def test_a_nul_in_a_query_is_a_422_naming_it_not_a_database_error(client, url, field):
    response = client.get(url, headers=SDR)
    assert response.status_code == 422, response.json
    assert response.json["errors"] == {field: ["Must not contain NUL characters."]}
