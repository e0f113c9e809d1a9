"""Conversion against a real contacts service over loopback HTTP: no fakes between them."""

from pathlib import Path

import pytest

from services.contacts.app import create_app as create_contacts
from services.contacts.models import Company, Contact
from services.sales.app import create_app as create_sales
from services.sales.contacts import HttpContacts
from services.sales.tests.integration.helpers import SDR, make_lead, make_opportunity, ok
from shared.config import Settings
from shared.testing.fixtures import migrated
from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer
from shared.testing.tokens import SignedCredentials
from shared.users import FakeUserDirectory

CONTACTS_MIGRATIONS = Path(__file__).resolve().parents[3] / "contacts/migrations"


class Contacts:
    """A contacts service on a fixed loopback port that a test can stop and start again."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.database = migrated(f"sqlite:///{tmp_path}/contacts.db", CONTACTS_MIGRATIONS)
        self.server: ThreadServer | None = None

    def start(self) -> "Contacts":
        settings = Settings(service="contacts", env="test", database_url=self.database.url)
        app = create_contacts(settings, database=self.database, users=FakeUserDirectory())
        self.server = ThreadServer(app, self.port)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def count(self, model) -> int:
        with self.database.sessions() as session:
            return session.query(model).count()


@pytest.fixture
def contacts_service(tmp_path):
    service = Contacts(tmp_path).start()
    yield service
    service.stop()
    service.database.dispose()


@pytest.fixture
def client(sales_db, contacts_service):
    settings = Settings(service="sales", env="test", database_url=sales_db.url)
    port = HttpContacts(
        f"http://127.0.0.1:{contacts_service.port}", SignedCredentials("sales"), 2.0
    )
    app = create_sales(settings, database=sales_db, users=FakeUserDirectory(), contacts=port)
    return app.test_client()


def convert(client, lead_id, body=None):
    return client.post(f"/api/v1/leads/{lead_id}/convert", json=body or {}, headers=SDR)


def test_a_conversion_creates_the_records_in_the_contacts_service(client, contacts_service):
    lead = make_lead(client, email="ada@example.com")
    result = ok(convert(client, lead["id"], {"company": {"name": "Engines"}}), 201)
    with contacts_service.database.sessions() as session:
        contact = session.get(Contact, result["contact_id"])
        assert (contact.email, contact.company_id, contact.owner_id) == (
            "ada@example.com",
            result["company_id"],
            "sdr-1",
        )
        assert session.get(Company, result["company_id"]).name == "Engines"


def test_a_stopped_contacts_service_changes_nothing_and_a_retry_converts_once(
    client, contacts_service
):
    lead = make_lead(client, email="grace@example.com")
    contacts_service.stop()
    response = convert(client, lead["id"], {"company": {"name": "Navy"}})
    assert response.status_code == 503
    assert ok(client.get(f"/api/v1/leads/{lead['id']}", headers=SDR))["status"] == "new"

    contacts_service.start()
    assert contacts_service.count(Contact) == 0 and contacts_service.count(Company) == 0
    ok(convert(client, lead["id"], {"company": {"name": "Navy"}}), 201)
    assert convert(client, lead["id"]).status_code == 409
    assert contacts_service.count(Contact) == 1 and contacts_service.count(Company) == 1


def test_the_email_candidates_come_from_the_contacts_service(client, contacts_service):
    first = make_lead(client, email="dup@example.com")
    ok(convert(client, first["id"]), 201)
    second = make_lead(client, email="dup@example.com", name="Ada Again")
    response = convert(client, second["id"])
    assert response.status_code == 409
    candidates = response.get_json()["candidates"]
    assert [c["email"] for c in candidates] == ["dup@example.com"]
    result = ok(convert(client, second["id"], {"attach_to_existing": True}), 201)
    assert result["contact_id"] == candidates[0]["id"]
    assert contacts_service.count(Contact) == 1


def test_a_failure_after_the_call_is_compensated_in_the_contacts_service(
    client, contacts_service, monkeypatch
):
    from services.sales.domain import conversion

    def broken(*_args, **_kwargs):
        raise RuntimeError("the sales database went away")

    monkeypatch.setattr(conversion, "open_opportunity", broken)
    lead = make_lead(client, email="x@example.com")
    assert convert(client, lead["id"], {"company": {"name": "Acme"}}).status_code == 500
    assert contacts_service.count(Contact) == 0 and contacts_service.count(Company) == 0
    monkeypatch.undo()
    ok(convert(client, lead["id"], {"company": {"name": "Acme"}}), 201)
    assert contacts_service.count(Contact) == 1


def test_opportunity_references_are_checked_against_the_contacts_service(client):
    lead = make_lead(client)
    result = ok(convert(client, lead["id"], {"create_opportunity": False}), 201)
    made = make_opportunity(client, contact_id=result["contact_id"])
    assert made["contact_id"] == result["contact_id"]
    response = client.post(
        "/api/v1/opportunities", json={"name": "x", "contact_id": "ghost"}, headers=SDR
    )
    assert response.status_code == 422
    assert "contact_id" in response.get_json()["errors"]
