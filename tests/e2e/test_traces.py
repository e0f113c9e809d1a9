"""A lead conversion is one trace: gateway, sales, contacts, relay, notifications worker."""

import random

import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation

from shared.testing.helpers import eventually, unique
from shared.testing.tracing import traceparent

pytestmark = pytest.mark.e2e


def test_a_lead_conversion_is_one_trace_from_the_gateway_to_the_notification(
    system, admin, collector
):
    _, rep = system.new_user(admin, "sdr")
    lead = system.api("POST", "/leads", rep, json={"name": "Grace", "email": unique("g") + "@x.io"})
    assert lead.status_code == 201, lead.text
    trace_id, client_span = random.getrandbits(128), random.getrandbits(64)
    with suppress_instrumentation():  # the header below is the client's, as sent
        response = system.api(
            "POST",
            f"/leads/{lead.json()['id']}/convert",
            {**rep, "traceparent": traceparent(trace_id, client_span)},
            json={"company": {"name": unique("Cobol")}},
        )
    assert response.status_code == 201, response.text

    def whole_trace():
        spans = collector.of_trace(trace_id)
        names = {(s.service, s.name) for s in spans}
        expected = {
            ("crm-sales", "lead.converted create"),
            ("crm-sales", "lead.converted publish"),
            ("crm-notifications", "lead.converted process"),
        }
        assert expected <= names, names
        return spans

    spans = eventually(whole_trace, timeout=30)
    by_id = {s.span_id: s for s in spans}
    servers = {s.service for s in spans if s.kind == "SPAN_KIND_SERVER"}
    assert {"crm-gateway", "crm-sales", "crm-contacts"} <= servers
    [gateway] = [s for s in spans if s.parent_span_id == client_span]
    assert (gateway.service, gateway.kind) == ("crm-gateway", "SPAN_KIND_SERVER")

    def ancestors(span):
        chain = [span]
        while span.parent_span_id in by_id:
            span = by_id[span.parent_span_id]
            chain.append(span)
        return chain

    [process] = [
        s for s in spans if (s.service, s.name) == ("crm-notifications", "lead.converted process")
    ]
    chain = [(s.service, s.kind) for s in ancestors(process)]
    assert chain[-1] == ("crm-gateway", "SPAN_KIND_SERVER")
    assert ("crm-sales", "SPAN_KIND_SERVER") in chain
    [create] = [s for s in spans if s.name == "lead.converted create"]
    assert process.parent_span_id == create.span_id
    sales_server = ("crm-sales", "SPAN_KIND_SERVER")
    for span in spans:
        if (span.service, span.kind) == ("crm-contacts", "SPAN_KIND_SERVER"):
            assert sales_server in [(s.service, s.kind) for s in ancestors(span)]
