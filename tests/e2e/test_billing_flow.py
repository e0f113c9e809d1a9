"""The billing flow through the gateway: a won deal's draft, sent, paid, its PDF, receivables."""

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from shared.testing.helpers import eventually, unique

pytestmark = pytest.mark.e2e
WAIT = 60  # CI runs on a loaded 2-core machine


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def outstanding(system, headers, company_id) -> Decimal:
    report = ok(system.api("GET", f"/reports/receivables?company_id={company_id}", headers))
    return Decimal(report["total_outstanding"])


def test_a_won_deal_is_invoiced_sent_paid_and_leaves_the_receivables(system, admin):
    _, manager = system.new_user(admin, "sales_manager")
    account_manager, rep = system.new_user(admin, "account_manager")
    company_name = unique("Analytical Engines")
    company = ok(system.api("POST", "/companies", rep, json={"name": company_name}), 201)
    products = [
        ok(
            system.api(
                "POST",
                "/products",
                manager,
                json={"name": name, "sku": unique("sku"), "price": price},
            ),
            201,
        )
        for name, price in (("Tracker", "199.99"), ("Label", "2.50"))
    ]
    opportunity = ok(
        system.api(
            "POST",
            "/opportunities",
            rep,
            json={"name": unique("Freight deal"), "company_id": company["id"]},
        ),
        201,
    )
    lines = f"/opportunities/{opportunity['id']}/products"
    for product, quantity in zip(products, (3, 100), strict=True):
        body = {"product_id": product["id"], "quantity": quantity}
        ok(system.api("POST", lines, rep, json=body), 201)
    ok(
        system.api(
            "PATCH", f"/opportunities/{opportunity['id']}", rep, json={"stage": "closed_won"}
        )
    )

    def the_draft():
        page = ok(system.api("GET", f"/invoices?opportunity_id={opportunity['id']}", rep))
        return page["items"][0] if page["items"] else None

    draft = eventually(the_draft, timeout=WAIT, interval=0.5)
    assert (draft["status"], draft["total"], draft["number"]) == ("draft", "849.97", None)
    assert (draft["owner_id"], draft["company_id"]) == (account_manager["id"], company["id"])
    assert sorted(i["price"] for i in draft["items"]) == ["199.99", "2.50"]
    assert outstanding(system, rep, company["id"]) == Decimal("0.00")

    url = f"/invoices/{draft['id']}"
    sent = ok(system.api("POST", f"{url}/send", rep))
    assert sent["number"].startswith("INV-") and sent["sent_at"]
    assert outstanding(system, rep, company["id"]) == Decimal("849.97")

    def pdf_text() -> str:
        response = system.api("GET", f"{url}/pdf", rep)
        assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
        assert f'filename="{sent["number"]}.pdf"' in response.headers["Content-Disposition"]
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
        assert company_name in text, text  # the replica heard company.created
        return text

    text = eventually(pdf_text, timeout=WAIT, interval=0.5)
    assert sent["number"] in text and "849.97" in text

    refused = system.api("POST", f"{url}/pay", rep, json={})
    assert refused.status_code == 422
    paid = ok(system.api("POST", f"{url}/pay", rep, json={"payment_method": "bank_transfer"}))
    assert (paid["status"], paid["payment_method"]) == ("paid", "bank_transfer")
    assert outstanding(system, rep, company["id"]) == Decimal("0.00")
    again = system.api("POST", f"{url}/void", rep)
    assert again.status_code == 409 and "paid" in again.json()["detail"]
