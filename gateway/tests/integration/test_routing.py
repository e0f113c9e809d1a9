"""The gateway forwards only what its routing table names, and forwards it exactly as sent."""

import http.client
import json
from urllib.parse import urlsplit

import pytest
import requests


def raw_get(base: str, target: str, headers: dict) -> tuple[int, dict]:
    """GET `target` byte for byte, with no client-side normalisation of dots or escapes."""
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


@pytest.mark.parametrize(
    "target",
    [
        "/api/v1/companies/../conversions/x",
        "/api/v1/companies/%2e%2e/conversions/x",
        "/api/v1/companies/..%2fconversions/x",
        "/api/v1/companies/x%2F..%2F..%2Fconversions",
        "/api/v1/contacts/./x",
        "/api/v1/companies/a%5C..%5Cconversions",
    ],
)
def test_dot_segments_and_encoded_slashes_are_refused_at_the_gateway(system, admin_headers, target):
    status, body = raw_get(system["gateway"], target, admin_headers)
    assert status == 404, body
    assert body["detail"].startswith("No resource at")  # the gateway's answer, not a service's


def test_an_escaped_question_mark_in_an_id_reaches_the_service_as_part_of_the_id(
    system, admin_headers
):
    status, body = raw_get(system["gateway"], "/api/v1/companies/abc%3Fowner_id=1", admin_headers)
    assert status == 404
    assert body["detail"] == "No company with id 'abc?owner_id=1'."


def test_a_query_is_forwarded_as_sent(system, admin_headers):
    name = "Query & Co"
    created = requests.post(
        f"{system['gateway']}/api/v1/companies",
        json={"name": name},
        headers=admin_headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    status, body = raw_get(
        system["gateway"], "/api/v1/companies?q=Query%20%26%20Co&limit=5", admin_headers
    )
    assert status == 200
    assert [item["id"] for item in body["items"]] == [created.json()["id"]]
