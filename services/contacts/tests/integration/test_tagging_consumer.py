"""Records deleted in their owning service lose their tags here (real RabbitMQ, PostgreSQL)."""

import threading

import pytest
from sqlalchemy import select

from services.contacts.handlers import consumers
from services.contacts.models import RecordRef, Tagging
from shared.config import Settings
from shared.ids import new_id
from shared.testing.events import event_body
from shared.testing.helpers import (
    auth,
    delete_consumer_queues,
    eventually,
    has_consumer,
    publish_event,
    unique,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]
AM = auth("account_manager", "am-consumer")


def sales_event(event_type: str, record_id: str) -> bytes:
    data = {"id": record_id, "name": "Gone", "actor_id": "sdr-9"}
    return event_body(
        event_type=event_type, source="/crm/sales", subject=record_id, data=data, event_id=new_id()
    )


@pytest.fixture
def running_consumer(contacts_db, amqp_url):
    queue = unique("test-contacts") + ".references"
    settings = Settings(
        service="contacts",
        database_url=contacts_db.url,
        amqp_url=amqp_url,
        extra={"CRM_CONTACTS_QUEUE": queue},
    )
    consumer = consumers(settings, contacts_db)[0]
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    eventually(lambda: has_consumer(amqp_url, queue), timeout=30)
    yield consumer
    consumer.stop.set()
    thread.join(timeout=30)
    delete_consumer_queues(amqp_url, queue)


def tagged(contacts_db, record_type: str, record_id: str) -> list[str]:
    with contacts_db.sessions() as session:
        return list(
            session.scalars(
                select(Tagging.id).where(
                    Tagging.record_type == record_type, Tagging.record_id == record_id
                )
            )
        )


def test_a_deleted_lead_loses_its_tags_and_leaves_the_replica(
    client, contacts_db, records, amqp_url, running_consumer
):
    assert "lead.deleted" in running_consumer.bindings
    lead_id, other_lead = unique("lead"), unique("lead")
    publish_event(amqp_url, sales_event("lead.created", lead_id))
    eventually(lambda: _in_replica(contacts_db, lead_id), timeout=30)
    tag_id = client.post("/api/v1/tags", json={"name": unique("tag")}, headers=AM).json["id"]
    records.records.add(("lead", other_lead))
    for record_id in (lead_id, other_lead):
        body = {"tag_id": tag_id, "record_type": "lead", "record_id": record_id}
        assert client.post("/api/v1/taggings", json=body, headers=AM).status_code == 201
    assert records.calls == [("lead", other_lead)]  # the replica answered for lead_id

    publish_event(amqp_url, sales_event("lead.deleted", lead_id))
    eventually(lambda: tagged(contacts_db, "lead", lead_id) == [], timeout=30)
    assert not _in_replica(contacts_db, lead_id)
    assert len(tagged(contacts_db, "lead", other_lead)) == 1
    body = {"tag_id": tag_id, "record_type": "lead", "record_id": lead_id}
    assert client.post("/api/v1/taggings", json=body, headers=AM).status_code == 422


def test_the_queue_is_bound_to_exactly_the_types_contacts_handles(running_consumer):
    bindings = set(running_consumer.bindings)
    deleted = {"lead.deleted", "opportunity.deleted", "campaign.deleted", "product.deleted"}
    created = {f"{t}.created" for t in ("lead", "opportunity", "campaign", "product", "invoice")}
    assert deleted | created <= bindings
    assert {b for b in bindings if not b.startswith("case.")} == deleted | created
    assert not any(b.startswith(("contact.", "company.", "interaction.")) for b in bindings)


def _in_replica(contacts_db, lead_id: str) -> bool:
    with contacts_db.sessions() as session:
        return session.get(RecordRef, ("lead", lead_id)) is not None
