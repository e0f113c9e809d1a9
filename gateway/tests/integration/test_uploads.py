"""Request bodies through the gateway: streamed to the service, bounded, never stored twice."""

import io

import pytest
import requests
from sqlalchemy import func, select

from gateway.app import create_app as create_gateway
from gateway.models import IdempotencyKey
from shared.config import Settings
from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer


@pytest.fixture
def backend():
    return "sqlite"  # what is tested is the HTTP hop, not the database


def new_contact(system, headers) -> dict:
    response = requests.post(
        f"{system['gateway']}/api/v1/contacts", json={"name": "Ada"}, headers=headers, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_an_upload_reaches_the_service_and_downloads_through_the_gateway(system, admin_headers):
    contact = new_contact(system, admin_headers)
    content = b"%PDF-1.4\n" + bytes(range(256)) * 4096  # 1 MiB and a bit
    response = requests.post(
        f"{system['gateway']}/api/v1/attachments",
        headers=admin_headers,
        data={"record_type": "contact", "record_id": contact["id"]},
        files={"file": ("terms.pdf", io.BytesIO(content))},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert (response.json()["size"], response.json()["mime_type"]) == (
        len(content),
        "application/pdf",
    )
    download = requests.get(
        f"{system['gateway']}/api/v1/attachments/{response.json()['id']}/content",
        headers=admin_headers,
        timeout=30,
    )
    assert download.content == content
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Length"] == str(len(content))


def test_a_chunked_body_is_passed_on_whole(system, admin_headers):
    parts = [b'{"name": ', b'"Chunked', b' Freight"}']
    response = requests.post(
        f"{system['gateway']}/api/v1/companies",
        data=iter(parts),  # no length: sent with Transfer-Encoding: chunked
        headers={**admin_headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Chunked Freight"


def test_a_body_over_the_limit_is_a_413_from_the_gateway(system, admin_headers):
    response = requests.post(
        f"{system['gateway']}/api/v1/companies",
        data=b'{"name": "' + b"x" * 2_000_000 + b'"}',
        headers={**admin_headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"


@pytest.fixture
def small_uploads(gateway_db, system):
    """A gateway that takes files of at most 1,000 bytes, in front of nothing at all."""
    settings = Settings(
        service="gateway",
        env="test",
        database_url=gateway_db.url,
        extra={"CRM_ATTACHMENT_MAX_BYTES": "1000"},
    )
    nowhere = f"http://127.0.0.1:{free_port()}"
    server = ThreadServer(
        create_gateway(settings, database=gateway_db, urls={"contacts": nowhere}), free_port()
    )
    yield server.url
    server.stop()


def test_an_oversize_upload_is_refused_before_anything_is_forwarded(small_uploads, admin_headers):
    response = requests.post(
        f"{small_uploads}/api/v1/attachments",
        headers=admin_headers,
        data={"record_type": "contact", "record_id": "c-1"},
        files={"file": ("big.bin", io.BytesIO(b"x" * 200_000))},
        timeout=10,
    )
    # 413, not the 503 that forwarding to the service that is not there would give
    assert response.status_code == 413, response.text
    assert response.headers["Content-Type"] == "application/problem+json"


def test_idempotency_keys_of_proxied_requests_are_kept_by_the_service_alone(
    system, admin_headers, gateway_db
):
    headers = {**admin_headers, "Idempotency-Key": "one-company-please"}
    url = f"{system['gateway']}/api/v1/companies"
    first = requests.post(url, json={"name": "Once"}, headers=headers, timeout=10)
    again = requests.post(url, json={"name": "Once"}, headers=headers, timeout=10)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    with gateway_db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
