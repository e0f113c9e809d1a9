"""Contacts deleted in the contacts service stop being named by opportunities here."""

from services.sales.handlers import consumers
from services.sales.tests.integration.helpers import SDR, events, make_opportunity, ok
from shared.config import Settings
from shared.consumer import ACK, DEAD, DUPLICATE, IGNORED
from shared.events import envelope
from shared.ids import new_id
from shared.testing.events import event_body


def deleted(event_type: str, record_id: str, event_id: str | None = None) -> bytes:
    return event_body(
        event_type=event_type,
        source="/crm/contacts",
        subject=record_id,
        data={"id": record_id, "name": "Gone", "actor_id": "am-9"},
        event_id=event_id or new_id(),
    )


def consumer_for(sales_db):
    settings = Settings(service="sales", env="test", database_url=sales_db.url)
    return consumers(settings, sales_db)[0]


def test_a_deleted_contact_or_company_is_dropped_from_opportunities_once(
    client, sales_db, contacts
):
    contacts.contacts["c-1"] = {"id": "c-1"}
    contacts.companies["co-1"] = {"id": "co-1"}
    opportunity = make_opportunity(client, contact_id="c-1", company_id="co-1")
    other = make_opportunity(client)
    consumer = consumer_for(sales_db)

    body = deleted("contact.deleted", "c-1")
    assert consumer.handle(body).kind == ACK
    assert consumer.handle(body).kind == DUPLICATE  # a redelivery changes nothing
    assert consumer.handle(deleted("company.deleted", "co-1")).kind == ACK

    url = f"/api/v1/opportunities/{opportunity['id']}"
    read = ok(client.get(url, headers=SDR))
    assert (read["contact_id"], read["company_id"]) == (None, None)
    updates = events(sales_db, opportunity["id"], "opportunity.updated")
    assert [(e["changed"], e["actor_id"]) for e in updates] == [
        (["contact_id"], "am-9"),
        (["company_id"], "am-9"),
    ]
    assert events(sales_db, other["id"], "opportunity.updated") == []


def test_other_events_are_ignored_and_a_deletion_without_an_id_is_dead_lettered(sales_db):
    consumer = consumer_for(sales_db)
    assert consumer.bindings == ["company.deleted", "contact.deleted"]
    assert consumer.handle(deleted("contact.updated", "c-1")).kind == IGNORED
    nameless = envelope(event_type="contact.deleted", source="/crm/contacts", subject=None, data={})
    assert consumer.handle(nameless).kind == DEAD
