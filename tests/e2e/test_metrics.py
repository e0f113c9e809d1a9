"""Every process of the running system serves Prometheus metrics, and traffic moves them."""

import pytest

from shared.testing.helpers import eventually, unique
from shared.testing.metrics import parsed, scrape, total

pytestmark = pytest.mark.e2e


def test_the_gateway_a_service_and_a_worker_count_a_new_contact(system, admin):
    before = {name: scrape(system.url(name)) for name in ("gateway", "contacts", "contacts-worker")}
    response = system.api("POST", "/contacts", admin, json={"name": unique("metrics")})
    assert response.status_code == 201, response.text

    gateway = scrape(system.url("gateway"))
    proxied = {"service": "gateway", "route": "/api/v1/<path:path>", "method": "POST"}
    assert total(gateway, "crm_http_requests_total", **proxied) > total(
        before["gateway"], "crm_http_requests_total", **proxied
    )
    assert total(
        gateway, "crm_gateway_upstream_request_duration_seconds_count", upstream="contacts"
    ) > total(
        before["gateway"],
        "crm_gateway_upstream_request_duration_seconds_count",
        upstream="contacts",
    )
    assert response.json()["id"] not in gateway

    created = {"service": "contacts", "route": "/api/v1/contacts", "status": "201"}
    contacts = scrape(system.url("contacts"))
    assert total(contacts, "crm_http_requests_total", **created) > total(
        before["contacts"], "crm_http_requests_total", **created
    )
    assert parsed(contacts)

    def published() -> bool:
        text = scrape(system.url("contacts-worker"))
        return total(text, "crm_outbox_published_total", service="contacts") > total(
            before["contacts-worker"], "crm_outbox_published_total", service="contacts"
        )

    eventually(published, timeout=30)
    worker = scrape(system.url("contacts-worker"))
    assert total(worker, "crm_worker_ready", service="contacts") == 1
    names = {name for name, labels, _ in parsed(worker) if labels.get("service") == "contacts"}
    assert {"crm_outbox_unpublished_rows", "crm_outbox_oldest_unpublished_age_seconds"} <= names
