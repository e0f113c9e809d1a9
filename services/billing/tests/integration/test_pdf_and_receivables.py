"""The invoice PDF, and the receivables report as invoices are sent, age and get paid."""

import io

import pytest
from pypdf import PdfReader

from services.billing.tests.integration.helpers import AM, consumer_for, draft_for, line, ok
from shared.testing.events import event_body

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def know_company(billing_db, company_id, name):
    body = event_body(
        event_type="company.created",
        source="/crm/contacts",
        subject=company_id,
        data={"id": company_id, "name": name, "city": "Hamburg", "country": "Germany"},
    )
    consumer_for(billing_db).handle(body)


def pdf_text(response) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


def test_the_pdf_names_the_number_the_total_and_the_company(client, billing_db, backend):
    know_company(billing_db, "co-pdf", "Analytical Engines Ltd")
    draft = draft_for(
        client, billing_db, company_id="co-pdf", lines=[line(3, "199.99"), line(100, "2.50")]
    )
    response = client.get(f"/api/v1/invoices/{draft['id']}/pdf", headers=AM)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="invoice-{draft["id"]}.pdf"'
    )
    assert "Draft invoice" in pdf_text(response)
    ok(client.post(f"/api/v1/invoices/{draft['id']}/send", headers=AM))
    response = client.get(f"/api/v1/invoices/{draft['id']}/pdf", headers=AM)
    text = pdf_text(response)
    assert response.headers["Content-Disposition"] == 'attachment; filename="INV-2026-000001.pdf"'
    for expected in ("INV-2026-000001", "849.97", "Analytical Engines Ltd", "CRM Logistics Ltd."):
        assert expected in text, text
    assert "Status: sent" in text


def test_an_unknown_invoice_has_no_pdf(client, backend):
    response = client.get("/api/v1/invoices/nope/pdf", headers=AM)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_receivables_age_by_days_past_due_and_group_by_company(client, billing_db, clock, backend):
    know_company(billing_db, "co-a", "Alpha")
    empty = ok(client.get("/api/v1/reports/receivables", headers=AM))
    assert [(b["bucket"], b["total"]) for b in empty["buckets"]] == [
        ("current", "0.00"),
        ("1-30", "0.00"),
        ("31-60", "0.00"),
        ("61-90", "0.00"),
        ("90+", "0.00"),
    ]
    a = draft_for(client, billing_db, company_id="co-a", deal_value="100.00")
    b = draft_for(client, billing_db, company_id="co-b", deal_value="0.10")
    draft_for(client, billing_db, company_id="co-a", deal_value="999.00")  # a draft: not owed
    for invoice in (a, b):
        ok(client.post(f"/api/v1/invoices/{invoice['id']}/send", headers=AM))
    report = ok(client.get("/api/v1/reports/receivables", headers=AM))
    assert (report["total_outstanding"], report["count"]) == ("100.10", 2)
    assert report["buckets"][0] == {"bucket": "current", "count": 2, "total": "100.10"}
    assert [(c["company_id"], c["company_name"], c["total"]) for c in report["companies"]] == [
        ("co-a", "Alpha", "100.00"),
        ("co-b", None, "0.10"),
    ]
    clock.advance(days=30 + 45)  # 45 days past due
    ok(client.post(f"/api/v1/invoices/{b['id']}/pay", json={"payment_method": "card"}, headers=AM))
    report = ok(client.get("/api/v1/reports/receivables", headers=AM))
    assert {x["bucket"]: x["total"] for x in report["buckets"]}["31-60"] == "100.00"
    assert report["total_outstanding"] == "100.00"
    assert report["companies"][0]["buckets"]["31-60"] == "100.00"
