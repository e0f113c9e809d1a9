"""opportunity.won makes exactly one draft, however often it arrives and however many consume it.

Real RabbitMQ and PostgreSQL: two consumers (as two worker replicas) share the billing queue.
"""

import json
import threading

import pytest
from sqlalchemy import func, select

from services.billing.models import Company, Contact, Invoice
from services.billing.tests.integration.helpers import consumer_for, line, won_event
from shared.consumer import ACK, DEAD, DUPLICATE, IGNORED
from shared.events import envelope
from shared.ids import new_id
from shared.testing.events import event_body
from shared.testing.helpers import delete_consumer_queues, eventually, publish_event, unique

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]


def invoices_for(database, opportunity_id) -> int:
    with database.sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(Invoice)
            .where(Invoice.opportunity_id == opportunity_id)
        )


def handled(database, queue) -> int:
    from services.billing.models import InboxEvent

    with database.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.consumer == queue)
        )


@pytest.fixture
def queue(amqp_url):
    name = unique("test-billing") + ".invoicing"
    yield name
    delete_consumer_queues(amqp_url, name)


def test_one_won_event_delivered_three_times_to_two_replicas_makes_one_invoice(
    billing_db, amqp_url, queue
):
    stop = threading.Event()
    replicas = [consumer_for(billing_db, queue, amqp_url) for _ in range(2)]
    threads = []
    for replica in replicas:
        replica.stop = stop
        threads.append(threading.Thread(target=replica.run, daemon=True))
        threads[-1].start()
    try:
        eventually(lambda: all(r.connected for r in replicas), timeout=60)
        body = won_event(lines=[line(3, "199.99"), line(100, "2.50")])
        opportunity_id = json.loads(body)["data"]["id"]
        for _ in range(3):
            publish_event(amqp_url, body)
        # The same opportunity won again under another event id (a replay made anew).
        publish_event(amqp_url, won_event(opportunity_id, lines=[line(1, "1.00")]))
        eventually(lambda: handled(billing_db, queue) == 2, timeout=60)
        assert invoices_for(billing_db, opportunity_id) == 1
        with billing_db.sessions() as session:
            invoice = session.scalars(
                select(Invoice).where(Invoice.opportunity_id == opportunity_id)
            ).one()
            assert str(invoice.total) == "849.97"
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


def test_two_consumers_handling_the_same_event_at_once_make_one_invoice(billing_db):
    body = won_event(deal_value="10.00")
    opportunity_id = json.loads(body)["data"]["id"]
    replicas = [consumer_for(billing_db) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes = []

    def handle(replica):
        barrier.wait()
        outcomes.append(replica.handle(body).kind)

    threads = [threading.Thread(target=handle, args=(r,)) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert invoices_for(billing_db, opportunity_id) == 1
    assert sorted(outcomes) in ([ACK, DUPLICATE], [ACK, "retry"]), outcomes


def test_two_won_events_for_one_opportunity_at_once_make_one_invoice(billing_db):
    opportunity_id = new_id()
    bodies = [won_event(opportunity_id, deal_value="10.00") for _ in range(2)]
    replicas = [consumer_for(billing_db) for _ in range(2)]
    barrier = threading.Barrier(2)

    def handle(replica, body):
        barrier.wait()
        replica.handle(body)

    threads = [
        threading.Thread(target=handle, args=pair) for pair in zip(replicas, bodies, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for body in bodies:  # the retry of the loser (if any) finds the draft and stops
        replicas[0].handle(body)
    assert invoices_for(billing_db, opportunity_id) == 1


def test_the_customer_replica_follows_company_and_contact_events(billing_db):
    consumer = consumer_for(billing_db)

    def event(event_type, data):
        return event_body(
            event_type=event_type, source="/crm/contacts", subject=data["id"], data=data
        )

    assert consumer.handle(event("company.created", {"id": "co-9", "name": "Acme"})).kind == ACK
    assert (
        consumer.handle(
            event("company.updated", {"id": "co-9", "name": "Acme GmbH", "city": "Kiel"})
        ).kind
        == ACK
    )
    assert (
        consumer.handle(
            event("contact.created", {"id": "c-9", "name": "Ada", "email": "a@x.io"})
        ).kind
        == ACK
    )
    with billing_db.sessions() as session:
        company = session.get(Company, "co-9")
        assert (company.name, company.city) == ("Acme GmbH", "Kiel")
        assert session.get(Contact, "c-9").email == "a@x.io"
    assert consumer.handle(event("contact.deleted", {"id": "c-9"})).kind == ACK
    with billing_db.sessions() as session:
        assert session.get(Contact, "c-9") is None
    assert consumer.handle(event("lead.created", {"id": "l-1"})).kind == IGNORED
    ownerless = envelope(
        event_type="opportunity.won", source="/crm/sales", subject="o-1", data={"id": "o-1"}
    )
    outcome = consumer.handle(ownerless)
    assert outcome.kind == DEAD and "not a valid opportunity.won" in outcome.error
