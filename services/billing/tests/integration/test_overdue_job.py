"""The worker's overdue job: sent invoices past due become overdue, once each."""

import pytest
from prometheus_client import REGISTRY

from services.billing.jobs import jobs, run_overdue
from services.billing.tests.integration.helpers import AM, draft_for, events, ok
from shared.config import Settings


def send(client, invoice_id):
    return ok(client.post(f"/api/v1/invoices/{invoice_id}/send", headers=AM))


def test_sent_invoices_past_due_become_overdue_once(client, billing_db, clock):
    late = draft_for(client, billing_db, deal_value="10.00")  # due 2026-02-14 (net 30)
    send(client, late["id"])
    draft = draft_for(client, billing_db, deal_value="20.00")  # never sent: never overdue
    assert run_overdue(billing_db, clock) == []  # not yet due
    clock.advance(days=30)  # 2026-02-14: the due date itself is not past due
    assert run_overdue(billing_db, clock) == []
    clock.advance(days=1)
    assert run_overdue(billing_db, clock) == [late["id"]]
    assert run_overdue(billing_db, clock) == []  # a second pass (or replica) changes nothing
    clock.advance(days=10)
    assert run_overdue(billing_db, clock) == []
    assert ok(client.get(f"/api/v1/invoices/{late['id']}", headers=AM))["status"] == "overdue"
    assert ok(client.get(f"/api/v1/invoices/{draft['id']}", headers=AM))["status"] == "draft"
    overdue = events(billing_db, late["id"], "invoice.overdue")
    assert len(overdue) == 1 and overdue[0]["actor_id"] is None
    assert overdue[0]["number"] == "INV-2026-000001"


def test_an_overdue_invoice_can_still_be_paid(client, billing_db, clock):
    invoice = draft_for(client, billing_db, deal_value="10.00")
    send(client, invoice["id"])
    clock.advance(days=45)
    run_overdue(billing_db, clock)
    paid = ok(
        client.post(
            f"/api/v1/invoices/{invoice['id']}/pay", json={"payment_method": "card"}, headers=AM
        )
    )
    assert paid["status"] == "paid"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_worker_runs_the_job_at_the_configured_interval(billing_db, clock, backend):
    settings = Settings(service="billing", env="test", extra={"CRM_OVERDUE_INTERVAL_SECONDS": "7"})
    [job] = jobs(settings, billing_db, clock)
    assert (job.name, job.every_seconds) == ("overdue", 7.0)
    assert job.tick() == []


@pytest.mark.parametrize("backend", ["sqlite"])
def test_each_invoice_marked_overdue_is_counted(client, billing_db, clock, backend):
    before = REGISTRY.get_sample_value("crm_invoices_overdue_total")
    for value in ("10.00", "20.00"):
        send(client, draft_for(client, billing_db, deal_value=value)["id"])
    clock.advance(days=31)
    assert len(run_overdue(billing_db, clock)) == 2
    run_overdue(billing_db, clock)
    assert REGISTRY.get_sample_value("crm_invoices_overdue_total") == before + 2
