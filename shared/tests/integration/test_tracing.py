"""One trace from a request to the consumer of its event: HTTP, outbox, AMQP header, logs."""

import io
import json
import logging
import random

import pytest
from opentelemetry.trace import SpanKind
from sqlalchemy import select
from structlog.stdlib import ProcessorFormatter

from services.contacts.models import InboxEvent, OutboxEvent
from shared.consumer import Consumer
from shared.relay import PikaPublisher, Relay
from shared.testing.helpers import EventTap, auth, eventually, unique
from shared.testing.tracing import parse_traceparent, traceparent

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]


class AlwaysLeader:
    def acquire(self) -> bool:
        return True

    def held(self) -> bool:
        return True

    def release(self) -> None:
        pass


def envelope_of(database, contact_id):
    with database.sessions() as session:
        row = session.scalars(select(OutboxEvent).where(OutboxEvent.subject == contact_id)).one()
        return json.loads(row.body)


def log_lines(output):
    lines = []
    for line in output.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return [line for line in lines if isinstance(line, dict)]


def test_a_request_its_event_the_relay_and_the_consumer_share_one_trace(
    client, contacts_db, amqp_url, background, spans
):
    written = io.StringIO()
    (handler,) = [  # the JSON handler create_base_app set up (pytest adds its own)
        h for h in logging.getLogger().handlers if isinstance(h.formatter, ProcessorFormatter)
    ]
    previous = handler.setStream(written)  # type: ignore[attr-defined]
    stop, start = background
    trace_id, client_span = random.getrandbits(128), random.getrandbits(64)
    handled = []
    consumer = Consumer(
        queue=unique("tracing") + ".inbox",
        bindings=["contact.created"],
        handlers={"contact.created": lambda _session, event: handled.append(event.id)},
        database=contacts_db,
        inbox_model=InboxEvent,
        amqp_url=amqp_url,
        stop=stop,
    )
    tap = EventTap(amqp_url, keys=("contact.created",))
    try:
        start(consumer.run)
        eventually(lambda: consumer.connected)
        response = client.post(
            "/api/v1/contacts",
            json={"name": unique("traced")},
            headers={**auth("sdr"), "traceparent": traceparent(trace_id, client_span)},
        )
        assert response.status_code == 201
        contact_id = response.json["id"]

        [server] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
        assert server.context.trace_id == trace_id
        assert server.parent is not None and server.parent.span_id == client_span

        envelope = envelope_of(contacts_db, contact_id)
        event_trace, event_span = parse_traceparent(envelope["traceparent"])
        assert event_trace == trace_id
        assert event_span != client_span

        relay = Relay(
            database=contacts_db,
            model=OutboxEvent,
            connect=lambda: PikaPublisher(amqp_url),
            lock=AlwaysLeader(),
            stop=stop,
        )
        publisher = PikaPublisher(amqp_url)
        try:
            assert relay.publish_pending(publisher) == 1
        finally:
            publisher.close()
        [message] = eventually(lambda: tap.of_subject(contact_id))
        assert message["properties"].headers["traceparent"] == envelope["traceparent"]

        eventually(lambda: envelope["id"] in handled)

        def processed():
            return [s for s in spans.get_finished_spans() if s.name == "contact.created process"]

        [process] = eventually(processed)
        assert process.kind == SpanKind.CONSUMER
        assert process.context.trace_id == trace_id
        assert process.parent is not None and process.parent.span_id == event_span
        assert process.attributes["messaging.system"] == "rabbitmq"
        assert process.attributes["messaging.message.id"] == envelope["id"]
        assert process.attributes["messaging.destination.name"] == "crm.events"

        [publish] = [s for s in spans.get_finished_spans() if s.name == "contact.created publish"]
        assert publish.kind == SpanKind.PRODUCER
        assert publish.context.trace_id == trace_id
        assert publish.parent is not None and publish.parent.span_id == event_span
    finally:
        tap.close()

    handler.setStream(previous)  # type: ignore[attr-defined]
    lines = log_lines(written.getvalue())
    [request_line] = [
        line
        for line in lines
        if line.get("event") == "request" and line.get("path") == "/api/v1/contacts"
    ]
    assert request_line["trace_id"] == f"{trace_id:032x}"
    assert request_line["span_id"] == f"{server.context.span_id:016x}"
