"""The relay and the consumer without a broker: FakePublisher and an SQLite file."""

import importlib
import threading

import pytest
from sqlalchemy import select

from services.contacts.models import Base, Company, InboxEvent, OutboxEvent
from shared.config import Settings
from shared.consumer import DEAD, DUPLICATE, IGNORED, RETRY, Consumer, PermanentError
from shared.db import Database
from shared.events import envelope, parse
from shared.leader import FileLeaderLock
from shared.outbox import Outbox
from shared.publisher import NotConfirmed
from shared.relay import FakePublisher, Relay
from shared.schemas import PublishedSchemas


@pytest.fixture
def database(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/unit.db")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def record(database, n):
    outbox = Outbox(OutboxEvent, "unit")
    with database.transaction() as session:
        return [outbox.record(session, "thing.happened", {"id": f"t{i}", "n": i}) for i in range(n)]


def relay_for(database, tmp_path):
    return Relay(
        database=database,
        model=OutboxEvent,
        connect=FakePublisher,
        lock=FileLeaderLock(f"{tmp_path}/lock"),
        stop=threading.Event(),
    )


def test_the_relay_publishes_in_order_and_marks_rows(database, tmp_path):
    ids = record(database, 5)
    publisher = FakePublisher()
    assert relay_for(database, tmp_path).publish_pending(publisher) == 5
    assert [m.message_id for m in publisher.messages] == ids
    assert relay_for(database, tmp_path).publish_pending(publisher) == 0


def test_rows_confirmed_before_a_broker_failure_stay_published(database, tmp_path):
    ids = record(database, 4)
    publisher = FakePublisher()
    relay = relay_for(database, tmp_path)
    publisher.confirm_at_most = 2  # the third was nacked, returned, or the link went
    with pytest.raises(NotConfirmed):
        relay.publish_pending(publisher)
    assert relay.publish_pending(publisher) == 2  # only the two unconfirmed ones again
    assert [m.message_id for m in publisher.messages] == ids


def test_an_outbox_row_is_a_cloudevent_with_the_context_ids(database):
    record(database, 1)
    with database.sessions() as session:
        row = session.scalars(select(OutboxEvent)).one()
    event = parse(row.body.encode())
    assert event.type == "thing.happened" and event.source == "/crm/unit"
    assert event.subject == "t0" and event.data == {"id": "t0", "n": 0}


def consumer(database, handlers, **kwargs):
    return Consumer(
        queue="unit.inbox",
        bindings=["#"],
        handlers=handlers,
        database=database,
        inbox_model=InboxEvent,
        **kwargs,
    )


def body(event_type="thing.happened", event_id="e1", name="Acme"):
    return envelope(
        event_type=event_type,
        source="/crm/unit",
        subject="s",
        data={"name": name},
        event_id=event_id,
    )


def add_company(session, event):
    session.add(Company(name=event.data["name"], owner_id="o"))


def test_a_redelivered_event_is_a_no_op(database):
    worker = consumer(database, {"thing.happened": add_company})
    assert worker.handle(body()).kind == "ack"
    assert worker.handle(body()).kind == DUPLICATE
    with database.sessions() as session:
        assert len(session.scalars(select(Company)).all()) == 1


def test_failures_are_classified(database):
    def transient(session, event):
        raise ConnectionError("try later")

    def permanent(session, event):
        raise PermanentError("never")

    assert consumer(database, {"thing.happened": transient}).handle(body()).kind == RETRY
    assert consumer(database, {"thing.happened": permanent}).handle(body()).kind == DEAD
    assert consumer(database, {}).handle(body()).kind == DEAD
    assert consumer(database, {}, ignore_unknown=True).handle(body()).kind == IGNORED
    assert consumer(database, {}).handle(b"{not json").kind == DEAD


def test_a_failed_handler_leaves_no_inbox_row_so_a_retry_can_succeed(database):
    calls = []

    def flaky(session, event):
        calls.append(1)
        add_company(session, event)
        if len(calls) == 1:
            raise TimeoutError("slow")

    worker = consumer(database, {"thing.happened": flaky})
    assert worker.handle(body()).kind == RETRY
    assert worker.handle(body()).kind == "ack"
    with database.sessions() as session:
        assert len(session.scalars(select(Company)).all()) == 1


def test_an_event_whose_data_breaks_its_published_schema_is_dead_lettered_unhandled():
    handled = []
    consumer = Consumer(
        queue="schema.check",
        bindings=["lead.assigned"],
        handlers={"lead.assigned": lambda session, event: handled.append(event.id)},
        database=None,  # never reached: the check comes first
        inbox_model=None,
        schemas=PublishedSchemas(["lead.assigned"]),
    )
    body = envelope(
        event_type="lead.assigned", source="/crm/sales", subject="lead-1", data={"id": "lead-1"}
    )
    outcome = consumer.handle(body)
    assert outcome.kind == DEAD and handled == []
    assert outcome.error.startswith("not a valid lead.assigned: ")
    assert "data: 'assigned_by' is a required property" in outcome.error


def test_published_schemas_are_required_for_every_handled_type(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no-such\.event"):
        PublishedSchemas(["lead.assigned", "no-such.event"])
    with pytest.raises(FileNotFoundError, match="CRM_EVENT_SCHEMAS"):
        PublishedSchemas(["lead.assigned"], folder=tmp_path)


def test_every_service_checks_the_events_it_handles_against_their_schemas():
    for service in ("contacts", "sales", "support", "billing", "notifications"):
        handlers = importlib.import_module(f"services.{service}.handlers")
        settings = Settings(service=service, database_url="sqlite://")
        for consumer in handlers.consumers(settings, None):
            assert consumer.schemas is not None, service
            assert set(consumer.handlers) <= {
                p.name.removesuffix(".schema.json") for p in consumer.schemas.folder.iterdir()
            }
