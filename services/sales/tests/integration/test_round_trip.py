"""Every field of the data model, by its name, round-trips on every sales resource.

For campaigns, leads, opportunities, products and opportunity products: what is sent comes
back exactly from the create, from GET one and from the list (money as strings, to the
cent), and the record's event carries the same values. On SQLite and PostgreSQL.
"""

from services.sales.tests.integration.helpers import (
    MARKETING,
    SALES_MANAGER,
    SDR,
    events,
    make_campaign,
    make_product,
    ok,
)

#: The data model's fields (DATA_MODEL.md), by resource; extras may come on top.
MODEL_FIELDS = {
    "campaigns": ("id", "name", "budget", "start_date", "end_date", "created_at", "updated_at"),
    "leads": (
        "id",
        "name",
        "email",
        "lead_source",
        "status",
        "lead_score",
        "owner_id",
        "campaign_id",
        "converted_at",
        "converted_contact_id",
        "converted_company_id",
        "converted_opportunity_id",
        "created_at",
        "updated_at",
    ),
    "opportunities": (
        "id",
        "name",
        "stage",
        "deal_value",
        "probability",
        "expected_close_date",
        "lost_reason",
        "source",
        "owner_id",
        "contact_id",
        "company_id",
        "campaign_id",
        "created_at",
        "updated_at",
    ),
    "products": ("id", "name", "sku", "price", "type", "description", "created_at", "updated_at"),
    "opportunity_products": ("opportunity_id", "product_id", "quantity"),
}


def listed(client, query: str, record_id: str, key: str = "id") -> dict:
    page = ok(client.get(f"/api/v1/{query}", headers=SDR))
    [item] = [item for item in page["items"] if item[key] == record_id]
    return item


def assert_round_trip(resource: str, sent: dict, created: dict, *reads: dict) -> None:
    """Every model field is there by name; what was sent comes back exact, everywhere."""
    missing = set(MODEL_FIELDS[resource]) - set(created)
    assert not missing, f"{resource} lacks model fields {missing}"
    for name, value in sent.items():
        assert created[name] == value, (resource, name, created[name], value)
    for read in reads:
        assert read == created, resource


def assert_event_carries(resource: str, event: dict, record: dict) -> None:
    for name in MODEL_FIELDS[resource]:
        assert event[name] == record[name], (event["event_type"], name)


def test_a_campaign_round_trips_every_model_field(client, sales_db):
    sent = {
        "name": "Spring fair",
        "budget": "1250000.50",
        "start_date": "2026-03-01",
        "end_date": "2026-03-31",
        "type": "event",
        "status": "active",
        "description": "Hall 4, stand 12",
    }
    created = ok(client.post("/api/v1/campaigns", json=sent, headers=MARKETING), 201)
    got = ok(client.get(f"/api/v1/campaigns/{created['id']}", headers=SDR))
    assert_round_trip("campaigns", sent, created, got, listed(client, "campaigns", created["id"]))
    [event] = events(sales_db, created["id"])
    assert_event_carries("campaigns", event, created)


def test_a_lead_round_trips_every_model_field_including_its_conversion(client, sales_db, users):
    users.user_ids.add("sdr-2")
    campaign = make_campaign(client)
    sent = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "lead_source": "partner: Harbour Logistics",  # free text, not a closed list
        "status": "qualified",
        "lead_score": 70,
        "owner_id": "sdr-2",
        "campaign_id": campaign["id"],
        "phone_number": "+44 20 7946 0000",
        "company_name": "Analytical Engines",
        "job_title": "Countess",
        "notes": "Met at the fair.",
    }
    created = ok(client.post("/api/v1/leads", json=sent, headers=SALES_MANAGER), 201)
    assert {k: created[k] for k in MODEL_FIELDS["leads"] if k.startswith("converted_")} == {
        "converted_at": None,
        "converted_contact_id": None,
        "converted_company_id": None,
        "converted_opportunity_id": None,
    }
    got = ok(client.get(f"/api/v1/leads/{created['id']}", headers=SDR))
    query = "leads?lead_source=partner: Harbour Logistics"
    assert_round_trip("leads", sent, created, got, listed(client, query, created["id"]))
    [event] = events(sales_db, created["id"], "lead.created")
    assert_event_carries("leads", event, created)

    url = f"/api/v1/leads/{created['id']}/convert"
    body = {"company": {"name": "Analytical Engines", "postal_code": "SW1Y 4JH"}}
    result = ok(client.post(url, json=body, headers=SALES_MANAGER), 201)
    converted = ok(client.get(f"/api/v1/leads/{created['id']}", headers=SDR))
    assert converted == result["lead"] == listed(client, "leads?status=converted", created["id"])
    assert converted["status"] == "converted"
    assert converted["converted_at"] == result["converted_at"]
    assert (
        converted["converted_contact_id"],
        converted["converted_company_id"],
        converted["converted_opportunity_id"],
    ) == (result["contact_id"], result["company_id"], result["opportunity_id"])
    unchanged = set(sent) - {"status"}
    assert {k: converted[k] for k in unchanged} == {k: sent[k] for k in unchanged}


def test_an_opportunity_round_trips_every_model_field(client, sales_db, contacts):
    contacts.contacts["ct-1"] = {"id": "ct-1", "name": "Ada Lovelace"}
    contacts.companies["co-1"] = {"id": "co-1", "name": "Analytical Engines"}
    campaign = make_campaign(client)
    sent = {
        "name": "Analytical Engines freight",
        "stage": "negotiation",
        "deal_value": "1250000.50",
        "probability": 0.75,
        "expected_close_date": "2026-06-30",
        "source": "referral",
        "owner_id": "sdr-1",
        "contact_id": "ct-1",
        "company_id": "co-1",
        "campaign_id": campaign["id"],
        "description": "Two lanes, weekly",
    }
    created = ok(client.post("/api/v1/opportunities", json=sent, headers=SDR), 201)
    assert created["lost_reason"] is None
    got = ok(client.get(f"/api/v1/opportunities/{created['id']}", headers=SDR))
    found = listed(client, "opportunities?source=referral", created["id"])
    assert_round_trip("opportunities", sent, created, got, found)
    assert ok(client.get("/api/v1/opportunities?source=Referral", headers=SDR))["items"] == []

    url = f"/api/v1/opportunities/{created['id']}"
    change = {"stage": "closed_lost", "lost_reason": "Chose a cheaper carrier"}
    lost = ok(client.patch(url, json=change, headers=SDR))
    assert (lost["stage"], lost["lost_reason"], lost["probability"]) == (
        "closed_lost",
        "Chose a cheaper carrier",
        0.0,
    )
    assert ok(client.get(url, headers=SDR)) == lost == listed(client, "opportunities", lost["id"])
    kept = set(sent) - {"stage", "probability"}
    assert {k: lost[k] for k in kept} == {k: sent[k] for k in kept}
    assert_event_carries("opportunities", events(sales_db, lost["id"])[-1], lost)


def test_a_product_round_trips_every_model_field(client, sales_db):
    for kind in ("good", "service", "subscription"):
        sent = {
            "name": f"Cold storage ({kind})",
            "sku": f"CS-{kind}",
            "price": "1250000.50",
            "type": kind,
            "description": "Per pallet, per month",
            "is_active": True,
        }
        created = ok(client.post("/api/v1/products", json=sent, headers=SALES_MANAGER), 201)
        got = ok(client.get(f"/api/v1/products/{created['id']}", headers=SDR))
        found = listed(client, f"products?type={kind}", created["id"])
        assert_round_trip("products", sent, created, got, found)
        [event] = events(sales_db, created["id"])
        assert_event_carries("products", event, created)
    default = make_product(client, sku="DEFAULT-1")
    assert default["type"] == "good"


def test_an_opportunity_product_round_trips_every_model_field(client, sales_db):
    product = make_product(client, price="416666.83")
    deal = ok(client.post("/api/v1/opportunities", json={"name": "Lines"}, headers=SDR), 201)
    lines = f"/api/v1/opportunities/{deal['id']}/products"
    sent = {"product_id": product["id"], "quantity": 3, "unit_price": "416666.84"}
    response = client.post(lines, json=sent, headers=SDR)
    created = ok(response, 201)
    assert response.headers["Location"] == f"{lines}/{product['id']}"
    got = ok(client.get(response.headers["Location"], headers=SDR))
    [found] = ok(client.get(lines, headers=SDR))["items"]
    assert_round_trip(
        "opportunity_products", {**sent, "opportunity_id": deal["id"]}, created, got, found
    )
    assert (created["name"], created["sku"], created["line_total"]) == (
        product["name"],
        product["sku"],
        "1250000.52",
    )
    opportunity = ok(client.get(f"/api/v1/opportunities/{deal['id']}", headers=SDR))
    assert opportunity["deal_value"] == "1250000.52"
    [line_item] = events(sales_db, deal["id"])[-1]["line_items"]
    assert line_item == {
        "product_id": product["id"],
        "name": product["name"],
        "sku": product["sku"],
        "quantity": 3,
        "unit_price": "416666.84",
        "line_total": "1250000.52",
    }
