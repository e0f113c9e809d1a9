"""docs/access.md's invoices and receivables rows, cell by cell, against the billing API."""

import pytest

from services.billing.tests.integration.helpers import consumer_for, won_event
from shared.ids import new_id
from shared.testing import access
from shared.testing.helpers import auth

RESOURCES = ("invoices", "receivables")


@pytest.fixture
def backend():
    return "sqlite"  # the rules live in the service layer; PostgreSQL adds nothing here


@pytest.mark.parametrize("resource, action, role, allowed", list(access.matrix_rows(RESOURCES)))
def test_the_access_matrix_holds(client, billing_db, sales, resource, action, role, allowed):
    me, someone = f"{role}-me", "am-someone"
    mine = auth(role, me)
    owner = me if action.endswith("own") else someone
    if resource == "receivables":
        response = client.get("/api/v1/reports/receivables", headers=mine)
        assert response.status_code == (200 if allowed else 403), response.json
        return
    if action.startswith("create"):
        opportunity_id = new_id()
        sales.opportunities[opportunity_id] = {"id": opportunity_id, "owner_id": owner}
        body = {"opportunity_id": opportunity_id, "items": [{"description": "x", "price": "1.00"}]}
        response = client.post("/api/v1/invoices", json=body, headers=mine)
        assert response.status_code == (201 if allowed else 403), response.json
        return
    opportunity_id = new_id()
    consumer_for(billing_db).handle(won_event(opportunity_id, owner_id=owner, deal_value="5.00"))
    listed = client.get(f"/api/v1/invoices?opportunity_id={opportunity_id}", headers=mine).json
    invoice = listed["items"][0]
    url = f"/api/v1/invoices/{invoice['id']}"
    if action == "read":
        responses = [client.get(url, headers=mine), client.get(f"{url}/pdf", headers=mine)]
    elif action.startswith("update"):
        item_url = f"{url}/items/{invoice['items'][0]['id']}"
        responses = [client.patch(item_url, json={"quantity": 2}, headers=mine)]
    elif action.startswith("send"):
        responses = [client.post(f"{url}/send", headers=mine)]
    elif action.startswith("pay"):
        client.post(f"{url}/send", headers=auth("admin"))
        responses = [client.post(f"{url}/pay", json={"payment_method": "card"}, headers=mine)]
    elif action.startswith("void"):
        responses = [client.post(f"{url}/void", headers=mine)]
    else:
        raise AssertionError(f"docs/access.md names an action the test does not know: {action}")
    for response in responses:
        assert response.status_code == (200 if allowed else 403), response.get_data(as_text=True)


def test_the_matrix_covers_every_billing_resource_and_role():
    rows = list(access.matrix_rows(RESOURCES))
    assert {p.values[0] for p in rows} == set(RESOURCES)
    assert len({p.values[2] for p in rows}) == 7  # six roles and service tokens
