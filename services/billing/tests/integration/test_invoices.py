"""Invoices as an account manager sees them: drafts from won deals, exact totals, the flow."""

from decimal import Decimal

import pytest

from services.billing.tests.integration.helpers import (
    ADMIN,
    AM,
    draft_for,
    events,
    line,
    ok,
)


def test_a_won_opportunity_becomes_a_draft_with_its_lines_at_the_won_prices(client, billing_db):
    lines = [line(3, "199.99", "Tracker"), line(100, "2.50", "Label")]
    draft = draft_for(client, billing_db, lines=lines, company_id="co-1", contact_id="c-1")
    assert draft["status"] == "draft" and draft["number"] is None
    assert draft["total"] == "849.97"
    assert [
        (i["product_id"], i["quantity"], i["price"], i["description"]) for i in draft["items"]
    ] == [
        (lines[0]["product_id"], 3, "199.99", "Tracker"),
        (lines[1]["product_id"], 100, "2.50", "Label"),
    ]
    assert [i["line_total"] for i in draft["items"]] == ["599.97", "250.00"]
    assert (draft["owner_id"], draft["company_id"], draft["contact_id"]) == ("am-1", "co-1", "c-1")
    assert draft["origin"] == "won"
    created = events(billing_db, draft["id"], "invoice.created")
    assert len(created) == 1 and created[0]["total"] == "849.97"
    assert created[0]["actor_id"] is None and len(created[0]["items"]) == 2


def test_a_won_opportunity_without_lines_is_invoiced_at_its_deal_value(client, billing_db):
    draft = draft_for(client, billing_db, deal_value="12500.50")
    assert draft["total"] == "12500.50"
    [item] = draft["items"]
    assert (item["product_id"], item["quantity"], item["price"]) == (None, 1, "12500.50")


def test_the_draft_is_due_after_the_payment_terms(client, billing_db, clock, monkeypatch):
    monkeypatch.setenv("CRM_PAYMENT_TERMS_DAYS", "14")
    draft = draft_for(client, billing_db, deal_value="10.00")
    assert (draft["issue_date"], draft["due_date"]) == ("2026-01-15", "2026-01-29")


def test_totals_are_exact_for_awkward_decimals_on_manual_invoices(client, sales):
    sales.opportunities["opp-1"] = {"id": "opp-1", "owner_id": "am-1", "company_id": "co-1"}
    sales.products["p-1"] = {"id": "p-1", "name": "Tracker", "price": "199.99"}
    body = {
        "opportunity_id": "opp-1",
        "items": [
            {"product_id": "p-1", "quantity": 3},
            {"description": "Labels", "quantity": 100, "price": "2.50"},
        ],
    }
    invoice = ok(client.post("/api/v1/invoices", json=body, headers=AM), 201)
    assert invoice["total"] == "849.97"
    assert Decimal(invoice["total"]) == Decimal("3") * Decimal("199.99") + 100 * Decimal("2.50")
    assert (invoice["owner_id"], invoice["company_id"], invoice["origin"]) == (
        "am-1",
        "co-1",
        "manual",
    )
    assert invoice["items"][0]["description"] == "Tracker"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"opportunity_id": "nope", "items": []}, "opportunity_id"),
        ({"opportunity_id": "opp-1", "items": [{"product_id": "nope"}]}, "items.0.product_id"),
        ({"opportunity_id": "opp-1", "total": "1.00"}, "total"),
        ({"opportunity_id": "opp-1", "status": "paid"}, "status"),
        ({"opportunity_id": "opp-1", "items": [{"quantity": 1}]}, "items.0.price"),
        (
            {"opportunity_id": "opp-1", "items": [{"description": "x", "price": "1.505"}]},
            "items.0.price",
        ),
    ],
)
def test_bad_manual_invoices_are_422s_that_make_nothing(client, sales, billing_db, body, field):
    sales.opportunities["opp-1"] = {"id": "opp-1", "owner_id": "am-1"}
    response = client.post("/api/v1/invoices", json=body, headers=AM)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    assert ok(client.get("/api/v1/invoices", headers=AM))["items"] == []
    assert events(billing_db) == []


def test_a_client_cannot_set_the_total_of_an_item_or_change_a_sent_invoice(client, billing_db):
    draft = draft_for(client, billing_db, deal_value="100.00")
    url = f"/api/v1/invoices/{draft['id']}/items"
    bad = client.post(
        url, json={"description": "x", "price": "1.00", "line_total": "9"}, headers=AM
    )
    assert bad.status_code == 422 and "line_total" in bad.json["errors"]
    added = ok(
        client.post(url, json={"description": "Setup", "quantity": 2, "price": "0.05"}, headers=AM),
        201,
    )
    assert ok(client.get(f"/api/v1/invoices/{draft['id']}", headers=AM))["total"] == "100.10"
    ok(client.patch(f"{url}/{added['id']}", json={"quantity": 3}, headers=AM))
    assert ok(client.get(f"/api/v1/invoices/{draft['id']}", headers=AM))["total"] == "100.15"
    ok(client.post(f"/api/v1/invoices/{draft['id']}/send", headers=AM))
    refused = client.post(url, json={"description": "late", "price": "1.00"}, headers=AM)
    assert refused.status_code == 409 and "sent" in refused.json["detail"]
    assert client.delete(f"{url}/{added['id']}", headers=AM).status_code == 409
    assert ok(client.get(f"/api/v1/invoices/{draft['id']}", headers=AM))["total"] == "100.15"


def test_an_item_edit_with_a_stale_if_match_is_a_412(client, billing_db):
    draft = draft_for(client, billing_db, deal_value="100.00")
    url = f"/api/v1/invoices/{draft['id']}"
    etag = client.get(url, headers=AM).headers["ETag"]
    item_url = f"{url}/items/{draft['items'][0]['id']}"
    ok(client.patch(item_url, json={"quantity": 2}, headers={**AM, "If-Match": etag}))
    stale = client.patch(item_url, json={"quantity": 5}, headers={**AM, "If-Match": etag})
    assert stale.status_code == 412
    assert ok(client.get(url, headers=AM))["total"] == "200.00"


def test_lists_filter_by_status_and_owner_in_cursor_pages(client, billing_db):
    first = draft_for(client, billing_db, deal_value="1.00", owner_id="am-7")
    draft_for(client, billing_db, deal_value="2.00", owner_id="am-7")
    draft_for(client, billing_db, deal_value="3.00", owner_id="am-8")
    page = ok(client.get("/api/v1/invoices?owner_id=am-7&limit=1", headers=ADMIN))
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = ok(
        client.get(
            f"/api/v1/invoices?owner_id=am-7&limit=1&cursor={page['next_cursor']}", headers=ADMIN
        )
    )
    assert {page["items"][0]["id"], rest["items"][0]["id"]} >= {first["id"]}
    assert ok(client.get("/api/v1/invoices?status=sent", headers=ADMIN))["items"] == []
    assert client.get("/api/v1/invoices?status=bogus", headers=ADMIN).status_code == 422
