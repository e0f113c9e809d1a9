"""The status flow: draft → sent → paid, void from draft or sent, every other move a 409."""

import threading

import pytest

from services.billing.domain.numbering import next_number
from services.billing.tests.integration.helpers import AM, draft_for, events, ok


def act(client, invoice_id, action, body=None, headers=AM):
    return client.post(f"/api/v1/invoices/{invoice_id}/{action}", json=body, headers=headers)


def test_sending_numbers_the_invoice_and_paying_records_how(client, billing_db, clock):
    draft = draft_for(client, billing_db, deal_value="100.00")
    sent = ok(act(client, draft["id"], "send"))
    assert sent["status"] == "sent" and sent["number"] == "INV-2026-000001"
    assert sent["sent_at"].startswith("2026-01-15T09:00")
    paid = ok(act(client, draft["id"], "pay", {"payment_method": "bank_transfer"}))
    assert (paid["status"], paid["payment_method"]) == ("paid", "bank_transfer")
    assert paid["paid_at"] is not None
    kinds = [e["event_type"] for e in events(billing_db, draft["id"])]
    assert kinds == ["invoice.created", "invoice.sent", "invoice.paid"]
    paid_event = events(billing_db, draft["id"], "invoice.paid")[0]
    assert (paid_event["number"], paid_event["total"], paid_event["owner_id"]) == (
        "INV-2026-000001",
        "100.00",
        "am-1",
    )
    assert paid_event["actor_id"] == "am-1"


def test_paying_without_a_payment_method_is_a_422_that_changes_nothing(client, billing_db):
    draft = draft_for(client, billing_db, deal_value="100.00")
    ok(act(client, draft["id"], "send"))
    for body in (None, {}, {"payment_method": "beads"}):
        response = act(client, draft["id"], "pay", body)
        assert response.status_code == 422, response.json
        assert "payment_method" in response.json["errors"]
    assert ok(client.get(f"/api/v1/invoices/{draft['id']}", headers=AM))["status"] == "sent"


@pytest.mark.parametrize(
    "path, action, body",
    [
        ((), "pay", {"payment_method": "card"}),  # a draft is not payable
        (("send",), "send", None),  # sent twice
        (("send", "pay"), "void", None),  # a paid invoice cannot be voided
        (("send", "pay"), "pay", {"payment_method": "card"}),
        (("void",), "send", None),
        (("void",), "void", None),
        (("send", "void"), "pay", {"payment_method": "card"}),
    ],
)
def test_illegal_transitions_are_409s_naming_the_status(client, billing_db, path, action, body):
    draft = draft_for(client, billing_db, deal_value="100.00")
    for step in path:
        ok(act(client, draft["id"], step, {"payment_method": "cash"} if step == "pay" else None))
    before = ok(client.get(f"/api/v1/invoices/{draft['id']}", headers=AM))
    response = act(client, draft["id"], action, body)
    assert response.status_code == 409, response.json
    assert before["status"] in response.json["detail"]
    assert response.json["current_status"] == before["status"]
    assert ok(client.get(f"/api/v1/invoices/{draft['id']}", headers=AM)) == before


def test_a_voided_draft_keeps_no_number_and_the_next_send_takes_the_next(client, billing_db):
    first = draft_for(client, billing_db, deal_value="1.00")
    second = draft_for(client, billing_db, deal_value="2.00")
    voided = ok(act(client, first["id"], "void"))
    assert (voided["status"], voided["number"]) == ("void", None)
    assert ok(act(client, second["id"], "send"))["number"] == "INV-2026-000001"
    assert events(billing_db, first["id"], "invoice.voided")[0]["status"] == "void"


def test_numbers_start_again_each_year(billing_db):
    with billing_db.transaction() as session:
        assert next_number(session, 2026) == "INV-2026-000001"
        assert next_number(session, 2027) == "INV-2027-000001"
        assert next_number(session, 2026) == "INV-2026-000002"


def test_a_rolled_back_send_gives_its_number_back(billing_db):
    with pytest.raises(RuntimeError), billing_db.transaction() as session:
        assert next_number(session, 2026) == "INV-2026-000001"
        raise RuntimeError("the send failed after numbering")
    with billing_db.transaction() as session:
        assert next_number(session, 2026) == "INV-2026-000001"


@pytest.mark.parametrize("backend", ["postgresql"])
def test_twenty_concurrent_sends_get_twenty_consecutive_numbers(app, client, billing_db, backend):
    drafts = [draft_for(client, billing_db, deal_value="5.00") for _ in range(20)]
    barrier = threading.Barrier(20)
    answers: dict[str, int] = {}

    def send(invoice_id: str) -> None:
        with app.test_client() as own:
            barrier.wait()
            response = act(own, invoice_id, "send")
            answers[invoice_id] = response.status_code

    threads = [threading.Thread(target=send, args=(d["id"],)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(answers.values()) == [200] * 20
    numbers = sorted(
        ok(client.get(f"/api/v1/invoices/{d['id']}", headers=AM))["number"] for d in drafts
    )
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 21)]


def test_notifications_tell_the_opportunity_owner_of_a_payment_by_someone_else(client, billing_db):
    from services.billing.tests.integration.helpers import SALES_MANAGER
    from services.notifications.rules import notifications_for

    draft = draft_for(client, billing_db, deal_value="1250.50", owner_id="am-1")
    ok(act(client, draft["id"], "send", headers=SALES_MANAGER))
    ok(act(client, draft["id"], "pay", {"payment_method": "card"}, headers=SALES_MANAGER))
    [paid] = events(billing_db, draft["id"], "invoice.paid")
    [note] = notifications_for("invoice.paid", paid)
    assert note.user_id == "am-1"
    assert note.message == "Invoice INV-2026-000001 (1250.50) was paid"
    assert note.link == f"/invoices/{draft['id']}"
