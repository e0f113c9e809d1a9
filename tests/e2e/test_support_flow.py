"""A support agent works a case through the gateway: open, respond, pend, resolve; escalation.

Every process is real: the interaction's case_id is checked by contacts against support, its
interaction.logged event reaches the support worker, and the escalation job's case.escalated
reaches the owner's inbox through the notifications worker. The e2e system's urgent target
is one second (tests/e2e/conftest.py), so a breach happens during the test.
"""

import pytest

from shared.testing.helpers import eventually, unique

pytestmark = pytest.mark.e2e


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def agent(system, admin):
    return system.new_user(admin, "support_agent")


def new_contact(system, headers) -> dict:
    return ok(system.api("POST", "/contacts", headers, json={"name": unique("Grace")}), 201)


def test_an_agent_opens_a_case_logs_a_call_and_works_it_to_resolved(system, agent):
    _user, headers = agent
    contact = new_contact(system, headers)
    body = {"contact_id": contact["id"], "priority": "low", "description": "Pallets missing"}
    case = ok(system.api("POST", "/cases", headers, json=body), 201)
    assert case["case_number"].startswith("CS-") and case["status"] == "new"
    url = f"/cases/{case['id']}"
    call = {"type": "call", "contact_id": contact["id"], "case_id": case["id"], "outcome": "ok"}
    ok(system.api("POST", "/interactions", headers, json=call), 201)
    unknown = {**call, "case_id": unique("no-such-case")}
    assert system.api("POST", "/interactions", headers, json=unknown).status_code == 422

    responded = eventually(
        lambda: ok(system.api("GET", url, headers))["first_responded_at"], timeout=60
    )
    assert responded
    for status in ("open", "pending", "open", "resolved"):
        moved = ok(system.api("PATCH", url, headers, json={"status": status}))
        assert moved["status"] == status
    assert moved["resolved_at"] and moved["first_responded_at"] == responded
    listed = ok(system.api("GET", f"/interactions?case_id={case['id']}", headers))["items"]
    assert [i["type"] for i in listed] == ["call"]
    illegal = system.api("PATCH", url, headers, json={"status": "pending"})
    assert illegal.status_code == 409


def test_the_owner_hears_when_an_urgent_case_misses_its_first_response(system, agent):
    _user, headers = agent
    contact = new_contact(system, headers)
    body = {"contact_id": contact["id"], "priority": "urgent"}
    case = ok(system.api("POST", "/cases", headers, json=body), 201)

    def escalation_notice():
        items = ok(system.api("GET", "/notifications", headers))["items"]
        return [n for n in items if n["link"] == f"/cases/{case['id']}"]

    (notice,) = eventually(escalation_notice, timeout=90, interval=0.5)
    assert case["case_number"] in notice["message"] and "escalated" in notice["message"]
    shown = ok(system.api("GET", f"/cases/{case['id']}", headers))
    assert [e["breach"] for e in shown["escalations"]] == ["first_response"]
    report = ok(system.api("GET", "/reports/cases", headers))
    assert report["breaches"]["first_response"] >= 1
