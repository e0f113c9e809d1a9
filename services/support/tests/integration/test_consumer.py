"""What support does with other services' events: the contact replica and first responses."""

from datetime import datetime, timedelta

from services.support.handlers import consumers
from services.support.tests.integration.helpers import AGENT, events, make_case, ok
from shared.config import Settings
from shared.consumer import ACK, DEAD, DUPLICATE
from shared.events import envelope
from shared.ids import new_id
from shared.testing.events import event_body
from shared.testing.helpers import unique


def event(event_type: str, data: dict, source: str = "/crm/contacts") -> bytes:
    return event_body(
        event_type=event_type, source=source, subject=data.get("id"), data=data, event_id=new_id()
    )


def consumer_for(database):
    settings = Settings(service="support", env="test", database_url=database.url)
    return consumers(settings, database)[0]


def test_the_first_interaction_logged_on_a_case_sets_first_responded_at_once(
    client, contacts, support_db, clock
):
    case = make_case(client, contacts)
    consumer = consumer_for(support_db)
    logged_at = clock.now + timedelta(minutes=20)
    first = event(
        "interaction.logged",
        {
            "id": new_id(),
            "case_id": case["id"],
            "created_at": logged_at.isoformat(),
            "actor_id": "agent-1",
        },
    )
    assert consumer.handle(first).kind == ACK
    assert consumer.handle(first).kind == DUPLICATE
    later = {
        "id": new_id(),
        "case_id": case["id"],
        "created_at": (logged_at + timedelta(hours=1)).isoformat(),
    }
    assert consumer.handle(event("interaction.logged", later)).kind == ACK
    shown = ok(client.get(f"/api/v1/cases/{case['id']}", headers=AGENT))
    assert datetime.fromisoformat(shown["first_responded_at"]) == logged_at
    (update,) = events(support_db, subject=case["id"], event_type="case.updated")
    assert update["changed"] == ["first_responded_at"] and update["actor_id"] == "agent-1"


def test_an_interaction_without_a_case_changes_nothing(client, contacts, support_db):
    case = make_case(client, contacts)
    consumer = consumer_for(support_db)
    assert (
        consumer.handle(event("interaction.logged", {"id": new_id(), "case_id": None})).kind == ACK
    )
    assert (
        ok(client.get(f"/api/v1/cases/{case['id']}", headers=AGENT))["first_responded_at"] is None
    )


def test_the_contact_replica_follows_contact_events(client, contacts, support_db):
    consumer = consumer_for(support_db)
    contact_id = unique("contact")
    assert consumer.handle(event("contact.created", {"id": contact_id, "name": "Ada"})).kind == ACK
    ok(client.post("/api/v1/cases", json={"contact_id": contact_id}, headers=AGENT), 201)
    assert consumer.handle(event("contact.deleted", {"id": contact_id})).kind == ACK
    contacts.contacts.add(contact_id)  # even were contacts to say yes, the replica knows better
    response = client.post("/api/v1/cases", json={"contact_id": contact_id}, headers=AGENT)
    assert response.status_code == 422
    nameless = envelope(
        event_type="contact.updated", source="/crm/contacts", subject=None, data={"name": "no id"}
    )
    assert consumer.handle(nameless).kind == DEAD
