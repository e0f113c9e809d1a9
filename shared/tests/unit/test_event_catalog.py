"""The generated event docs are current, and real outbox bodies validate against their schemas."""

import copy
import io
import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from services.contacts.app import create_app
from services.contacts.events import CATALOG as CONTACTS_CATALOG
from services.contacts.models import OutboxEvent
from services.contacts.ports.support import FakeSupport
from services.contacts.storage import LocalStorage
from shared import asyncapi
from shared.config import Settings
from shared.schemas import errors_of
from shared.testing.fixtures import migrated
from shared.testing.helpers import auth
from shared.users import FakeUserDirectory

ROOT = Path(__file__).resolve().parents[3]
MIGRATIONS = ROOT / "services/contacts/migrations"
LOCAL = "2026-01-31T10:00:00+02:00"  # sent with an offset, published in UTC


def created(response) -> dict:
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture(scope="module")
def outbox_bodies(tmp_path_factory) -> list[dict]:
    """Every outbox body the contacts service wrote while a client used its API."""
    folder = tmp_path_factory.mktemp("events")
    url = f"sqlite:///{folder}/x.db"
    database = migrated(url, MIGRATIONS)
    settings = Settings(service="contacts", env="test", database_url=url)
    support = FakeSupport()
    support.cases.add("case-1")
    client = create_app(
        settings,
        database=database,
        users=FakeUserDirectory(),
        support=support,
        storage=LocalStorage(folder / "attachments"),
    ).test_client()
    headers = {**auth("account_manager", "am-1"), "X-Request-ID": "req-event-docs-1"}
    full = created(
        client.post(
            "/api/v1/companies",
            headers=headers,
            json={
                "name": "Acme Freight",
                "industry": "logistics",
                "website": "https://acme.example",
                "email": "ops@acme.example",
                "street": "Wilhelminakade 1",
                "postal_code": "3072 AP",
                "phone_number": "+31 10 000 0000",
                "country": "NL",
                "annual_revenue": "1250000.50",
                "employee_count": 120,
            },
        )
    )
    bare = created(client.post("/api/v1/companies", headers=headers, json={"name": "Bare"}))
    patch = {"annual_revenue": "99.90", "city": "Rotterdam"}
    response = client.patch(f"/api/v1/companies/{full['id']}", headers=headers, json=patch)
    assert response.status_code == 200, response.json
    person = {"name": "Ada Lovelace", "phone_number": "+31 6 0000 0000", "company_id": full["id"]}
    contact = created(client.post("/api/v1/contacts", headers=headers, json=person))
    lonely = created(client.post("/api/v1/contacts", headers=headers, json={"name": "Solo"}))
    response = client.patch(
        f"/api/v1/contacts/{contact['id']}", headers=headers, json={"job_title": "CTO"}
    )
    assert response.status_code == 200, response.json
    parties = (
        {"contact_id": contact["id"], "case_id": "case-1", "outcome": "meeting scheduled"},
        {"company_id": bare["id"], "interaction_date": LOCAL, "subject": "Quarterly review"},
    )
    logged = []
    for party in parties:
        interaction = {"type": "call", **party}
        logged.append(
            created(client.post("/api/v1/interactions", headers=headers, json=interaction))
        )
    manager = {**auth("sales_manager", "sm-1"), "X-Request-ID": "req-event-docs-1"}
    tag = created(client.post("/api/v1/tags", headers=headers, json={"name": "Key account"}))
    tag_url = f"/api/v1/tags/{tag['id']}"
    response = client.patch(tag_url, headers=manager, json={"name": "Key accounts"})
    assert response.status_code == 200, response.json
    on_contact = {"tag_id": tag["id"], "record_type": "contact", "record_id": contact["id"]}
    tagging = created(client.post("/api/v1/taggings", headers=headers, json=on_contact))
    response = client.delete(f"/api/v1/taggings/{tagging['id']}", headers=headers)
    assert response.status_code == 204, response.json
    assert client.delete(tag_url, headers=manager).status_code == 204
    form = {"record_type": "contact", "record_id": contact["id"]}
    form["file"] = (io.BytesIO(b"%PDF-1.4\n"), "terms.pdf")
    attachment = created(
        client.post(
            "/api/v1/attachments", headers=headers, data=form, content_type="multipart/form-data"
        )
    )
    response = client.delete(f"/api/v1/attachments/{attachment['id']}", headers=headers)
    assert response.status_code == 204, response.json
    url = f"/api/v1/interactions/{logged[1]['id']}"
    response = client.patch(url, headers=headers, json={"notes": "Signed the renewal"})
    assert response.status_code == 200, response.json
    assert client.delete(url, headers=headers).status_code == 204
    gone = [("contacts", contact["id"]), ("contacts", lonely["id"]), ("companies", full["id"])]
    for collection, record_id in gone:  # the contact's interactions go with it, then the company
        response = client.delete(f"/api/v1/{collection}/{record_id}", headers=headers)
        assert response.status_code == 204, response.json
    with database.sessions() as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq)).all()
        bodies = [json.loads(row.body) for row in rows]
        assert [b["type"] for b in bodies] == [row.event_type for row in rows]
    database.dispose()
    return bodies


def test_generated_event_docs_are_up_to_date():
    problems = asyncapi.differences(asyncapi.render(), asyncapi.on_disk())
    assert not problems, "run `python -m shared.asyncapi`:\n" + "\n".join(problems)


def test_the_generator_finds_the_contacts_catalog():
    events = asyncapi.catalogs()
    assert CONTACTS_CATALOG.keys() <= events.keys()
    assert {events[t][0] for t in CONTACTS_CATALOG} == {"/crm/contacts"}


def test_asyncapi_lists_exactly_the_catalog_event_types():
    document = yaml.safe_load((asyncapi.DOCS / asyncapi.ASYNCAPI).read_text())
    assert document["asyncapi"] == "2.6.0"
    assert document["servers"]["rabbitmq"]["protocol"] == "amqp"
    assert set(document["channels"]) == set(asyncapi.catalogs())
    for event_type, channel in document["channels"].items():
        assert channel["bindings"]["amqp"]["exchange"]["name"] == "crm.events"
        message = channel["subscribe"]["message"]
        assert message["name"] == event_type
        assert message["contentType"] == "application/cloudevents+json"
        assert (asyncapi.DOCS / message["payload"]["$ref"]).is_file()


def test_the_events_page_lists_every_event_type():
    page = (asyncapi.DOCS / "events.md").read_text()
    missing = [t for t in asyncapi.catalogs() if f"(events/{t}.schema.json)" not in page]
    assert not missing, f"add these to the table in docs/events.md: {missing}"


def test_every_outbox_body_matches_its_schema(outbox_bodies):
    failures = {f"{b['type']} {b['id']}": errors_of(b) for b in outbox_bodies}
    failures = {event: errors for event, errors in failures.items() if errors}
    assert not failures, json.dumps(failures, indent=2)


def test_every_contacts_event_type_was_exercised(outbox_bodies):
    assert {b["type"] for b in outbox_bodies} == set(CONTACTS_CATALOG)


def test_the_bodies_cover_nulls_money_and_correlation(outbox_bodies):
    """The schemas were checked against both filled and null values, not just one shape."""
    companies = [b["data"] for b in outbox_bodies if b["type"].startswith("company.")]
    assert {c["annual_revenue"] for c in companies} >= {"1250000.50", "99.90", None}
    assert all(b["correlationid"] == "req-event-docs-1" for b in outbox_bodies)
    assert "2026-01-31T08:00:00+00:00" in {b["data"].get("interaction_date") for b in outbox_bodies}


def _body(outbox_bodies, event_type: str) -> dict:
    return copy.deepcopy(next(b for b in outbox_bodies if b["type"] == event_type))


@pytest.mark.parametrize(
    "event_type, spoil, expected",
    [
        ("company.created", lambda b: b["data"].update(annual_revenue=1250000.5), "annual_revenue"),
        ("company.created", lambda b: b["data"].update(employee_count="120"), "employee_count"),
        ("company.created", lambda b: b.update(type="company.deleted"), "company.created"),
        ("company.updated", lambda b: b["data"].pop("changed"), "changed"),
        ("contact.created", lambda b: b["data"].pop("name"), "name"),
        ("interaction.logged", lambda b: b["data"].pop("interaction_date"), "interaction_date"),
        ("contact.created", lambda b: b.update(source="/crm/sales"), "/crm/contacts"),
        ("contact.deleted", lambda b: b.update(time="yesterday"), "date-time"),
        ("interaction.logged", lambda b: b["data"].update(type="fax"), "fax"),
        ("interaction.logged", lambda b: b.pop("specversion"), "specversion"),
    ],
)
def test_a_wrong_body_fails_validation(outbox_bodies, event_type, spoil, expected):
    body = _body(outbox_bodies, event_type)
    assert errors_of(body) == []
    spoil(body)
    errors = errors_of(body, event_type)
    assert errors and any(expected in e for e in errors), errors
