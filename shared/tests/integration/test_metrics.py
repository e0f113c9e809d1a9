"""Metrics move where things happen: web requests, a consumer's deliveries, the relay."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from services.contacts.models import Company, InboxEvent, OutboxEvent
from shared import consumer as consumer_module
from shared.consumer import Consumer, PermanentError
from shared.events import envelope
from shared.health import serve_health
from shared.leader import leader_lock
from shared.metrics import OutboxCollector
from shared.relay import PikaPublisher, Relay
from shared.testing.helpers import auth, delete_consumer_queues, eventually, publish_event, unique
from shared.testing.metrics import parsed, scrape, total
from shared.testing.postgres import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]
ROUTE = "/api/v1/contacts/<contact_id>"


def requests_to(client, route: str, **labels: str) -> float:
    response = client.get("/metrics")
    assert response.status_code == 200
    return total(
        response.get_data(as_text=True),
        "crm_http_requests_total",
        service="contacts",
        route=route,
        **labels,
    )


def test_a_request_is_counted_under_its_route_template_not_its_path(client):
    contact_id = unique("no-such-contact")
    before = requests_to(client, ROUTE, method="GET", status="404")
    assert client.get(f"/api/v1/contacts/{contact_id}", headers=auth("sdr")).status_code == 404
    text = client.get("/metrics").get_data(as_text=True)
    assert parsed(text)
    assert requests_to(client, ROUTE, method="GET", status="404") == before + 1
    assert (
        total(text, "crm_http_request_duration_seconds_count", service="contacts", route=ROUTE) >= 1
    )
    assert contact_id not in text


def test_a_path_without_a_rule_is_unmatched(client):
    before = requests_to(client, "unmatched", status="404")
    path = f"/{unique('nowhere')}"
    assert client.get(path).status_code == 404
    assert requests_to(client, "unmatched", status="404") == before + 1
    assert path not in client.get("/metrics").get_data(as_text=True)


def test_metrics_need_no_token_and_are_not_under_the_api(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert client.get("/api/v1/metrics", headers=auth("sdr")).status_code == 404


@pytest.fixture
def queue(amqp_url):
    name = unique("metrics") + ".inbox"
    yield name
    delete_consumer_queues(amqp_url, name)


@pytest.fixture
def health_port():
    port = free_port()
    server = serve_health("127.0.0.1", port, alive=lambda: True, ready={})
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def test_a_workers_probe_port_serves_consumer_metrics(
    contacts_db, amqp_url, queue, health_port, background, monkeypatch
):
    monkeypatch.setattr(consumer_module, "DLQ_POLL_SECONDS", 0.5)
    stop, start = background
    key, refused = unique("test") + ".pinged", unique("test") + ".refused"

    def create_company(session, event):
        session.add(Company(name=event.data["name"], owner_id="system"))

    def refuse(_session, _event):
        raise PermanentError("never")

    consumer = Consumer(
        queue=queue,
        bindings=[key, refused],
        handlers={key: create_company, refused: refuse},
        database=contacts_db,
        inbox_model=InboxEvent,
        amqp_url=amqp_url,
        stop=stop,
        retry_delays_ms=(200,),
    )
    start(consumer.run)
    eventually(lambda: consumer.connected)
    body = envelope(event_type=key, source="/crm/test", subject="s", data={"name": unique("co")})
    publish_event(amqp_url, body)
    publish_event(amqp_url, body)
    publish_event(
        amqp_url, envelope(event_type=refused, source="/crm/test", subject="s", data={"name": "x"})
    )

    def counted(event_type: str, outcome: str) -> float:
        return total(
            scrape(health_port),
            "crm_consumer_events_total",
            queue=queue,
            event_type=event_type,
            outcome=outcome,
        )

    eventually(lambda: counted(key, "handled") == 1)
    eventually(lambda: counted(key, "duplicate") == 1)
    eventually(lambda: counted(refused, "dead_lettered") == 1)
    text = scrape(health_port)
    assert parsed(text)
    assert (
        total(text, "crm_consumer_handler_duration_seconds_count", queue=queue, event_type=key) == 2
    )
    eventually(
        lambda: total(scrape(health_port), "crm_dead_letter_queue_messages", queue=queue) == 1
    )


def test_outbox_metrics_follow_what_the_relay_publishes(client, contacts_db, amqp_url, background):
    stop, start = background
    service = unique("svc")
    registry = CollectorRegistry()
    registry.register(OutboxCollector(contacts_db, OutboxEvent, service, min_interval=0))

    def outbox(name: str) -> float:
        return total(generate_latest(registry).decode(), name, service=service)

    marker = unique("outbox")
    for i in range(3):
        response = client.post(
            "/api/v1/contacts", json={"name": f"{marker}-{i}"}, headers=auth("sdr")
        )
        assert response.status_code == 201
    assert outbox("crm_outbox_unpublished_rows") == 3
    assert outbox("crm_outbox_oldest_unpublished_age_seconds") >= 0
    relay = Relay(
        database=contacts_db,
        model=OutboxEvent,
        stop=stop,
        poll_seconds=0.05,
        lock=leader_lock(contacts_db, unique("relay")),
        connect=lambda: PikaPublisher(amqp_url),
        service=service,
    )
    start(relay.run)
    eventually(lambda: outbox("crm_outbox_unpublished_rows") == 0)
    assert outbox("crm_outbox_oldest_unpublished_age_seconds") == 0
    text = client.get("/metrics").get_data(as_text=True)
    assert total(text, "crm_outbox_published_total", service=service) == 3
    # The three rows were waiting when the relay started: one batch, one confirm wait.
    assert total(text, "crm_outbox_confirm_duration_seconds_count", service=service) == 1
