"""The gateway's upstream timeouts and limits, from UPSTREAM_* variables."""

from gateway.proxy import Upstreams

URLS = {name: f"http://127.0.0.1:{port}" for name, port in [("contacts", 1), ("billing", 2)]}


def test_the_defaults_are_short_except_for_reports_and_event_streams():
    upstreams = Upstreams.from_env(URLS, environ={})
    assert upstreams.timeout("contacts", "contacts") == (1, 10)
    assert upstreams.timeout("billing", "reports/receivables") == (1, 30)
    assert upstreams.timeout("notifications", "notifications/stream") == (1, 60)
    assert {name: b.capacity for name, b in upstreams.bulkheads.items()} == {
        "contacts": 100,
        "billing": 100,
    }
    assert upstreams.bulkheads["contacts"].queue_timeout == 1


def test_every_value_can_be_set_and_a_service_can_have_its_own():
    environ = {
        "UPSTREAM_CONNECT_TIMEOUT": "0.5",
        "UPSTREAM_READ_TIMEOUT": "4",
        "UPSTREAM_REPORT_READ_TIMEOUT": "12",
        "UPSTREAM_STREAM_READ_TIMEOUT": "90",
        "UPSTREAM_READ_TIMEOUT_BILLING": "20",
        "UPSTREAM_MAX_CONCURRENCY": "50",
        "UPSTREAM_MAX_CONCURRENCY_BILLING": "5",
        "UPSTREAM_QUEUE_TIMEOUT": "0.25",
    }
    upstreams = Upstreams.from_env(URLS, environ=environ)
    assert upstreams.timeout("contacts", "companies/c-1") == (0.5, 4)
    assert upstreams.timeout("contacts", "reports/x") == (0.5, 12)
    assert upstreams.timeout("billing", "invoices") == (0.5, 20)
    # A service's own read timeout applies to its reports when it is the longer one.
    assert upstreams.timeout("billing", "reports/receivables") == (0.5, 20)
    assert upstreams.timeout("notifications", "notifications/stream") == (0.5, 90)
    assert upstreams.bulkheads["contacts"].capacity == 50
    assert upstreams.bulkheads["billing"].capacity == 5
    assert upstreams.bulkheads["billing"].queue_timeout == 0.25
