"""An interaction's case_id names a case of the support service, checked before it is logged."""

from services.contacts.handlers import consumers
from shared.config import Settings
from shared.consumer import ACK, DEAD
from shared.events import envelope
from shared.ids import new_id
from shared.testing.events import event_body
from shared.testing.helpers import auth, unique

AGENT = auth("support_agent", "agent-refs")


def contact(client) -> str:
    response = client.post("/api/v1/contacts", json={"name": "Grace"}, headers=AGENT)
    assert response.status_code == 201, response.json
    return response.json["id"]


def case_event(case_id: str, event_type: str = "case.opened") -> bytes:
    data = {"id": case_id, "case_number": "CS-000007", "status": "new"}
    return event_body(
        event_type=event_type, source="/crm/support", subject=case_id, data=data, event_id=new_id()
    )


def test_an_interaction_with_an_unknown_case_id_is_a_422_that_logs_nothing(client, support):
    contact_id = contact(client)
    body = {"type": "call", "contact_id": contact_id, "case_id": unique("no-case")}
    response = client.post("/api/v1/interactions", json=body, headers=AGENT)
    assert response.status_code == 422 and "case_id" in response.json["errors"]
    listed = client.get(f"/api/v1/interactions?contact_id={contact_id}", headers=AGENT)
    assert listed.json["items"] == []


def test_a_case_support_knows_is_accepted_while_the_replica_catches_up(client, support):
    case_id = unique("case")
    support.cases.add(case_id)
    body = {"type": "call", "contact_id": contact(client), "case_id": case_id}
    assert client.post("/api/v1/interactions", json=body, headers=AGENT).status_code == 201
    assert support.calls == [case_id]


def test_a_case_in_the_replica_needs_no_call_to_support(client, contacts_db, support):
    consumer = consumers(Settings(service="contacts", database_url=contacts_db.url), contacts_db)[0]
    case_id = unique("case")
    assert consumer.handle(case_event(case_id)).kind == ACK
    assert consumer.handle(case_event(case_id, "case.status_changed")).kind == ACK
    body = {"type": "call", "contact_id": contact(client), "case_id": case_id}
    assert client.post("/api/v1/interactions", json=body, headers=AGENT).status_code == 201
    assert support.calls == []
    nameless = envelope(event_type="case.opened", source="/crm/support", subject=None, data={})
    assert consumer.handle(nameless).kind == DEAD


def test_support_down_is_a_503_and_nothing_is_logged(client, support):
    support.down = True
    body = {"type": "call", "contact_id": contact(client), "case_id": unique("case")}
    assert client.post("/api/v1/interactions", json=body, headers=AGENT).status_code == 503


def test_moving_an_interaction_to_an_unknown_case_is_a_422(client, support):
    made = client.post(
        "/api/v1/interactions", json={"type": "note", "contact_id": contact(client)}, headers=AGENT
    ).json
    url = f"/api/v1/interactions/{made['id']}"
    response = client.patch(url, json={"case_id": unique("nope")}, headers=AGENT)
    assert response.status_code == 422
    assert client.get(url, headers=AGENT).json["case_id"] is None
