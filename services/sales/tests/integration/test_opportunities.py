from services.sales.tests.integration.helpers import (
    OTHER_SDR,
    SALES_MANAGER,
    SDR,
    events,
    make_opportunity,
    make_product,
    ok,
)


def patch(client, opportunity_id, body, headers=SDR):
    return client.patch(f"/api/v1/opportunities/{opportunity_id}", json=body, headers=headers)


def add_line(client, opportunity_id, headers=SDR, **body):
    return client.post(
        f"/api/v1/opportunities/{opportunity_id}/products", json=body, headers=headers
    )


def test_probability_defaults_by_stage_and_every_move_is_history(client):
    opportunity = make_opportunity(client, deal_value="1000.00")
    assert (opportunity["stage"], opportunity["probability"]) == ("prospecting", 0.1)
    moved = ok(patch(client, opportunity["id"], {"stage": "negotiation"}))
    assert moved["probability"] == 0.8
    custom = ok(patch(client, opportunity["id"], {"stage": "proposal", "probability": 0.65}))
    assert custom["probability"] == 0.65
    history = ok(client.get(f"/api/v1/opportunities/{opportunity['id']}/history", headers=SDR))
    assert [(h["from_stage"], h["to_stage"]) for h in history["items"]] == [
        (None, "prospecting"),
        ("prospecting", "negotiation"),
        ("negotiation", "proposal"),
    ]
    assert {h["changed_by"] for h in history["items"]} == {"sdr-1"}


def test_closed_lost_needs_a_reason_and_may_be_reopened(client, sales_db):
    opportunity = make_opportunity(client)
    response = patch(client, opportunity["id"], {"stage": "closed_lost"})
    assert response.status_code == 422
    assert "lost_reason" in response.get_json()["errors"]
    lost = ok(patch(client, opportunity["id"], {"stage": "closed_lost", "lost_reason": "Price"}))
    assert (lost["probability"], lost["lost_reason"]) == (0.0, "Price")
    assert lost["closed_at"]
    [event] = events(sales_db, opportunity["id"], "opportunity.lost")
    assert (event["lost_reason"], event["from_stage"], event["to_stage"]) == (
        "Price",
        "prospecting",
        "closed_lost",
    )
    reopened = ok(patch(client, opportunity["id"], {"stage": "qualification"}))
    assert reopened["lost_reason"] is None
    assert reopened["closed_at"] is None
    assert reopened["probability"] == 0.2


def test_a_new_opportunity_starts_open(client):
    response = client.post(
        "/api/v1/opportunities", json={"name": "x", "stage": "closed_won"}, headers=SDR
    )
    assert response.status_code == 422
    assert "stage" in response.get_json()["errors"]


def test_winning_emits_won_with_the_lines_and_is_final(client, sales_db):
    product = make_product(client, sku="PT-9", price="100.00")
    opportunity = make_opportunity(client, contact_id=None)
    ok(add_line(client, opportunity["id"], product_id=product["id"], quantity=3), 201)
    won = ok(patch(client, opportunity["id"], {"stage": "closed_won"}))
    assert (won["probability"], won["deal_value"]) == (1.0, "300.00")

    [event] = events(sales_db, opportunity["id"], "opportunity.won")
    assert event["line_items"] == [
        {
            "product_id": product["id"],
            "name": "Pallet tracking",
            "sku": "PT-9",
            "quantity": 3,
            "unit_price": "100.00",
            "line_total": "300.00",
        }
    ]
    assert (event["owner_id"], event["actor_id"], event["deal_value"]) == (
        "sdr-1",
        "sdr-1",
        "300.00",
    )
    kinds = [e["event_type"] for e in events(sales_db, opportunity["id"])]
    assert kinds[-2:] == ["opportunity.stage_changed", "opportunity.won"]

    response = patch(client, opportunity["id"], {"stage": "negotiation"})
    assert response.status_code == 409
    assert add_line(client, opportunity["id"], product_id=product["id"]).status_code == 409
    assert (
        client.delete(f"/api/v1/opportunities/{opportunity['id']}", headers=SDR).status_code == 409
    )
    ok(patch(client, opportunity["id"], {"description": "signed"}))  # other fields may change


def test_lines_are_one_per_product_and_deal_value_follows_them(client):
    first = make_product(client, sku="A-1", price="10.00")
    second = make_product(client, sku="B-1", price="2.50")
    opportunity = make_opportunity(client, deal_value="999.00")
    line = ok(add_line(client, opportunity["id"], product_id=first["id"], quantity=2), 201)
    assert (line["unit_price"], line["line_total"], line["sku"]) == ("10.00", "20.00", "A-1")
    ok(add_line(client, opportunity["id"], product_id=second["id"], unit_price="3.00"), 201)
    read = ok(client.get(f"/api/v1/opportunities/{opportunity['id']}", headers=SDR))
    assert read["deal_value"] == "23.00"

    assert add_line(client, opportunity["id"], product_id=first["id"]).status_code == 409
    assert (
        add_line(client, opportunity["id"], product_id=second["id"], quantity=0).status_code == 422
    )
    assert add_line(client, opportunity["id"], product_id="ghost").status_code == 422

    url = f"/api/v1/opportunities/{opportunity['id']}/products/{first['id']}"
    ok(client.patch(url, json={"quantity": 5}, headers=SDR))
    assert (
        ok(client.get(f"/api/v1/opportunities/{opportunity['id']}", headers=SDR))["deal_value"]
        == "53.00"
    )
    assert client.patch(url, json={"quantity": 0}, headers=SDR).status_code == 422
    response = patch(client, opportunity["id"], {"deal_value": "1.00"})
    assert response.status_code == 422
    assert "deal_value" in response.get_json()["errors"]

    assert client.delete(url, headers=SDR).status_code == 204
    lines = ok(client.get(f"/api/v1/opportunities/{opportunity['id']}/products", headers=SDR))
    assert [item["sku"] for item in lines["items"]] == ["B-1"]
    assert (
        ok(client.get(f"/api/v1/opportunities/{opportunity['id']}", headers=SDR))["deal_value"]
        == "3.00"
    )


def test_references_are_checked_in_the_contacts_service_and_here(client, contacts):
    for field in ("contact_id", "company_id", "campaign_id"):
        response = client.post(
            "/api/v1/opportunities", json={"name": "x", field: "ghost"}, headers=SDR
        )
        assert response.status_code == 422
        assert field in response.get_json()["errors"]
    contacts.contacts["c-1"] = {"id": "c-1"}
    contacts.companies["co-1"] = {"id": "co-1"}
    made = make_opportunity(client, contact_id="c-1", company_id="co-1")
    assert (made["contact_id"], made["company_id"]) == ("c-1", "co-1")


def test_the_contacts_service_down_is_a_503_for_a_reference_check(client, contacts):
    contacts.down = True
    response = client.post(
        "/api/v1/opportunities", json={"name": "x", "contact_id": "c-1"}, headers=SDR
    )
    assert response.status_code == 503


def test_only_the_owner_or_a_manager_changes_an_opportunity(client):
    opportunity = make_opportunity(client)
    assert patch(client, opportunity["id"], {"name": "y"}, headers=OTHER_SDR).status_code == 403
    ok(patch(client, opportunity["id"], {"name": "y"}, headers=SALES_MANAGER))


def test_skus_are_unique(client):
    make_product(client, sku="DUP-1")
    response = client.post(
        "/api/v1/products",
        json={"name": "x", "sku": "DUP-1", "price": "1.00"},
        headers=SALES_MANAGER,
    )
    assert response.status_code == 409
    assert (
        client.post(
            "/api/v1/products", json={"name": "x", "sku": "Z", "price": "1.00"}, headers=SDR
        ).status_code
        == 403
    )


def test_a_product_in_use_cannot_be_deleted(client):
    product = make_product(client)
    opportunity = make_opportunity(client)
    ok(add_line(client, opportunity["id"], product_id=product["id"]), 201)
    url = f"/api/v1/products/{product['id']}"
    assert client.delete(url, headers=SALES_MANAGER).status_code == 409
    ok(client.patch(url, json={"is_active": False}, headers=SALES_MANAGER))
    other = make_opportunity(client)
    assert add_line(client, other["id"], product_id=product["id"]).status_code == 422
