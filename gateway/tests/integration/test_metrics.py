"""The gateway's metrics: its own requests, the time its upstreams take, their failures."""

from __future__ import annotations

import socket
import threading

import requests
from prometheus_client import REGISTRY, generate_latest

from gateway.proxy import Upstreams
from gateway.tests.unit.test_bulkhead import gateway
from shared.testing.metrics import parsed, scrape, total
from shared.testing.postgres import free_port

PROXY_ROUTE = "/api/v1/<path:path>"


def test_a_proxied_call_moves_the_upstream_histogram_and_both_request_counters(
    system, admin_headers
):
    gateway, contacts = system["gateway"], system["contacts"].url
    before = scrape(gateway)
    upstream_before = total(
        before, "crm_gateway_upstream_request_duration_seconds_count", upstream="contacts"
    )
    proxied_before = total(
        before, "crm_http_requests_total", service="gateway", route=PROXY_ROUTE, status="200"
    )
    response = requests.get(f"{gateway}/api/v1/companies", headers=admin_headers, timeout=10)
    assert response.status_code == 200, response.text
    after = scrape(gateway)
    assert parsed(after)
    assert (
        total(after, "crm_gateway_upstream_request_duration_seconds_count", upstream="contacts")
        == upstream_before + 1
    )
    assert (
        total(after, "crm_http_requests_total", service="gateway", route=PROXY_ROUTE, status="200")
        == proxied_before + 1
    )
    assert total(
        scrape(contacts), "crm_http_requests_total", service="contacts", route="/api/v1/companies"
    )


def test_metrics_of_a_service_are_not_reachable_through_the_gateway(system, admin_headers):
    response = requests.get(
        f"{system['gateway']}/api/v1/metrics", headers=admin_headers, timeout=10
    )
    assert response.status_code == 404
    assert response.json()["detail"].startswith("No resource at")


def counted(name: str, **labels: str) -> float:
    return total(generate_latest(REGISTRY).decode(), name, **labels)


def test_an_unreachable_upstream_counts_as_unavailable():
    closed = f"http://127.0.0.1:{free_port()}"
    client = gateway(Upstreams({"contacts": closed}))
    before = counted("crm_gateway_upstream_errors_total", upstream="contacts", kind="unavailable")
    assert client.get("/api/v1/contacts").status_code == 503
    assert (
        counted("crm_gateway_upstream_errors_total", upstream="contacts", kind="unavailable")
        == before + 1
    )


def test_a_silent_upstream_counts_as_a_timeout():
    silent = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def hold_every_connection():
        while True:
            try:
                held.append(silent.accept()[0])
            except OSError:
                return

    threading.Thread(target=hold_every_connection, daemon=True).start()
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    client = gateway(Upstreams({"contacts": url}, read_timeout=0.3))
    before = counted("crm_gateway_upstream_errors_total", upstream="contacts", kind="timeout")
    try:
        assert client.get("/api/v1/contacts").status_code == 504
    finally:
        silent.close()
        for connection in held:
            connection.close()
    assert (
        counted("crm_gateway_upstream_errors_total", upstream="contacts", kind="timeout")
        == before + 1
    )


def test_a_full_bulkhead_counts_a_rejection():
    upstreams = Upstreams(
        {"sales": f"http://127.0.0.1:{free_port()}"}, max_concurrency=1, queue_timeout=0
    )
    slot = upstreams.bulkheads["sales"].enter()
    client = gateway(upstreams)
    before = counted("crm_gateway_bulkhead_rejections_total", upstream="sales")
    try:
        assert client.get("/api/v1/leads").status_code == 503
    finally:
        assert slot is not None
        slot.release()
    assert counted("crm_gateway_bulkhead_rejections_total", upstream="sales") == before + 1
