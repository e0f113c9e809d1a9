"""Every field of DATA_MODEL.md by its name: written, read back exactly, and nothing else taken."""

import pytest
from sqlalchemy import func, select

from services.contacts.models import Company, Contact, Interaction
from shared.testing.helpers import auth, unique

MANAGER = "sm-fields"
OWNER = "am-fields"
SERVER_FIELDS = ("id", "created_at", "updated_at")


@pytest.fixture
def headers(users):
    users.user_ids.update({MANAGER, OWNER})
    return auth("sales_manager", MANAGER)


def count(database, model) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def round_trip(client, headers, resource: str, body: dict, listing: str) -> dict:
    """POST `body`, then read it back one by one and in a list: every value must be the same."""
    response = client.post(f"/api/v1/{resource}", json=body, headers=headers)
    assert response.status_code == 201, response.json
    created = response.json
    assert {field: created[field] for field in body} == body
    assert all(created[field] for field in SERVER_FIELDS)
    fetched = client.get(f"/api/v1/{resource}/{created['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json == created
    listed = client.get(f"/api/v1/{resource}?{listing}", headers=headers).json["items"]
    assert listed == [created]
    return created


def make_company(client, headers) -> dict:
    response = client.post("/api/v1/companies", json={"name": unique("co")}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def make_contact(client, headers, **fields) -> dict:
    body = {"name": unique("Person"), **fields}
    response = client.post("/api/v1/contacts", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def test_a_company_round_trips_every_model_field(client, headers):
    body = {
        "name": unique("Acme Freight"),
        "street": "Karl Johans gate 1",
        "city": "Oslo",
        "state": "Oslo county",
        "postal_code": "0154",
        "country": "NO",
        "phone_number": "+47 22 00 00 00",
        "industry": "logistics",
        "website": "https://acme.example",
        "annual_revenue": "1250000.50",
        "owner_id": OWNER,
        "email": "ops@acme.example",
        "employee_count": 120,
    }
    company = round_trip(client, headers, "companies", body, f"q={body['name']}")
    assert company["annual_revenue"] == "1250000.50" and company["version"] == 1


def test_a_contact_round_trips_every_model_field(client, headers):
    company = make_company(client, headers)
    body = {
        "name": "Grace Brewster Murray Hopper",
        "email": f"{unique('grace')}@example.com",
        "phone_number": "+1 555 0100",
        "job_title": "Rear admiral",
        "company_id": company["id"],
        "owner_id": OWNER,
    }
    round_trip(client, headers, "contacts", body, f"company_id={company['id']}")


def test_an_interaction_round_trips_every_model_field(client, headers, support):
    support.cases.add("0190a2b4-case-0000-0000-000000000042")
    company = make_company(client, headers)
    contact = make_contact(client, headers, company_id=company["id"])
    body = {
        "contact_id": contact["id"],
        "case_id": "0190a2b4-case-0000-0000-000000000042",
        "type": "meeting",
        "outcome": "meeting scheduled",
        "notes": "Wants a quote for 40 pallets a week.\nCall back on Monday.",
        "interaction_date": "2026-03-01T08:00:00+00:00",
        "subject": "Quarterly review",
    }
    interaction = round_trip(client, headers, "interactions", body, f"case_id={body['case_id']}")
    assert interaction["user_id"] == MANAGER
    assert interaction["company_id"] == company["id"]  # implied by the contact


def test_only_model_fields_are_required(client, headers):
    company = client.post("/api/v1/companies", json={"name": "Only a name"}, headers=headers)
    contact = client.post("/api/v1/contacts", json={"name": "Only a name"}, headers=headers)
    assert company.status_code == contact.status_code == 201
    interaction = client.post(
        "/api/v1/interactions",
        json={"type": "note", "contact_id": contact.json["id"]},
        headers=headers,
    )
    assert interaction.status_code == 201, interaction.json
    made = interaction.json
    assert made["subject"] is None and made["outcome"] is None and made["case_id"] is None
    assert made["interaction_date"]  # defaults to now
    for field in ("street", "state", "postal_code", "phone_number", "annual_revenue"):
        assert company.json[field] is None
    assert contact.json["phone_number"] is None and contact.json["owner_id"] == MANAGER


def test_a_contact_needs_a_name(client, headers, contacts_db):
    response = client.post("/api/v1/contacts", json={"email": "x@example.com"}, headers=headers)
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"name"}
    assert count(contacts_db, Contact) == 0


@pytest.mark.parametrize(
    "resource, field, value",
    [
        ("companies", "address", "Karl Johans gate 1"),
        ("companies", "phone", "+47 22 00 00 00"),
        ("contacts", "first_name", "Grace"),
        ("contacts", "last_name", "Hopper"),
        ("contacts", "phone", "+1 555 0100"),
        ("interactions", "occurred_at", "2026-03-01T08:00:00+00:00"),
        ("interactions", "user_id", "someone-else"),
    ],
)
def test_an_old_or_server_owned_field_is_a_422_unknown_field(
    client, headers, contacts_db, resource, field, value
):
    contact = make_contact(client, headers)
    valid = {
        "companies": {"name": "C"},
        "contacts": {"name": "N"},
        "interactions": {"type": "call", "contact_id": contact["id"]},
    }[resource]
    before = [count(contacts_db, model) for model in (Company, Contact, Interaction)]
    response = client.post(f"/api/v1/{resource}", json={**valid, field: value}, headers=headers)
    assert response.status_code == 422, response.json
    assert response.content_type == "application/problem+json"
    assert response.json["errors"] == {field: ["Unknown field."]}
    assert [count(contacts_db, model) for model in (Company, Contact, Interaction)] == before


@pytest.mark.parametrize(
    "resource, field, value",
    [
        ("companies", "name", "x" * 201),
        ("companies", "street", "x" * 501),
        ("companies", "state", "x" * 101),
        ("companies", "postal_code", "x" * 21),
        ("companies", "phone_number", "x" * 51),
        ("companies", "phone_number", 5550100),
        ("companies", "annual_revenue", "12.345"),
        ("companies", "annual_revenue", "lots"),
        ("companies", "annual_revenue", "-1.00"),
        ("companies", "owner_id", None),
        ("contacts", "name", ""),
        ("contacts", "name", "x" * 201),
        ("contacts", "name", None),
        ("contacts", "name", ["Grace", "Hopper"]),
        ("contacts", "email", "not-an-email"),
        ("contacts", "phone_number", "x" * 51),
        ("contacts", "company_id", "no-such-company"),
        ("interactions", "type", "fax"),
        ("interactions", "outcome", "x" * 501),
        ("interactions", "case_id", "x" * 37),
        ("interactions", "case_id", 42),
        ("interactions", "subject", "x" * 201),
        ("interactions", "interaction_date", "yesterday"),
        ("interactions", "interaction_date", "2026-03-01T10:00:00"),  # no time zone
        ("interactions", "interaction_date", None),
        ("interactions", "contact_id", "no-such-contact"),
    ],
)
def test_bad_values_are_a_422_naming_the_field_and_change_nothing(
    client, headers, contacts_db, resource, field, value
):
    contact = make_contact(client, headers)
    valid = {
        "companies": {"name": "C", "street": "Main street 1"},
        "contacts": {"name": "N", "phone_number": "+1 555 0100"},
        "interactions": {"type": "call", "outcome": "ok", "contact_id": contact["id"]},
    }[resource]
    before = [count(contacts_db, model) for model in (Company, Contact, Interaction)]
    response = client.post(f"/api/v1/{resource}", json={**valid, field: value}, headers=headers)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    assert [count(contacts_db, model) for model in (Company, Contact, Interaction)] == before


def test_a_patch_with_one_bad_field_applies_none_of_it(client, headers):
    contact = make_contact(client, headers, phone_number="+1 555 0100")
    url = f"/api/v1/contacts/{contact['id']}"
    response = client.patch(
        url, json={"name": "Renamed", "phone_number": "x" * 51, "first_name": "G"}, headers=headers
    )
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"phone_number", "first_name"}
    assert client.get(url, headers=headers).json == contact


def test_interactions_filter_by_case_and_sort_by_interaction_date(client, headers, support):
    contact = make_contact(client, headers)
    case_id = unique("case")
    support.cases.add(case_id)
    made = {}
    for day in ("03", "01", "02"):
        response = client.post(
            "/api/v1/interactions",
            json={
                "type": "call",
                "contact_id": contact["id"],
                "case_id": case_id,
                "interaction_date": f"2026-03-{day}T09:00:00+00:00",
            },
            headers=headers,
        )
        assert response.status_code == 201, response.json
        made[day] = response.json["id"]
    client.post(
        "/api/v1/interactions", json={"type": "note", "contact_id": contact["id"]}, headers=headers
    )
    listed = client.get(
        f"/api/v1/interactions?case_id={case_id}&sort=interaction_date", headers=headers
    ).json["items"]
    assert [i["id"] for i in listed] == [made["01"], made["02"], made["03"]]
    newest = client.get(
        f"/api/v1/interactions?case_id={case_id}&sort=-interaction_date&limit=1", headers=headers
    ).json["items"]
    assert [i["id"] for i in newest] == [made["03"]]


def test_q_finds_interactions_by_outcome_and_notes(client, headers):
    contact = make_contact(client, headers)
    tag = unique("zz")
    bodies = [
        {"outcome": f"meeting scheduled {tag}"},
        {"notes": f"Long notes mentioning {tag}."},
        {"subject": f"Subject {tag}"},
        {"outcome": "nothing to see"},
    ]
    for body in bodies:
        response = client.post(
            "/api/v1/interactions",
            json={"type": "call", "contact_id": contact["id"], **body},
            headers=headers,
        )
        assert response.status_code == 201
    found = client.get(f"/api/v1/interactions?q={tag.upper()}", headers=headers).json["items"]
    assert len(found) == 3


def test_contacts_sort_by_name(client, headers):
    tag = unique("srt")
    for first in ("Carol", "Alice", "Bob"):
        make_contact(client, headers, name=f"{first} {tag}")
    listed = client.get(f"/api/v1/contacts?q={tag}&sort=name", headers=headers).json["items"]
    assert [c["name"] for c in listed] == [f"{first} {tag}" for first in ("Alice", "Bob", "Carol")]
    assert client.get("/api/v1/contacts?sort=last_name", headers=headers).status_code == 422
