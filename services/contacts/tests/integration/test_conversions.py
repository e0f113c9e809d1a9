"""The contacts side of lead conversion, as the sales service drives it with a service token."""

import json
import threading

import pytest
from sqlalchemy import func, select, text

from services.contacts.domain import conversions
from services.contacts.domain.conversions import convert_lead
from services.contacts.models import Company, Contact, Conversion, OutboxEvent
from shared.auth import ROLES, SERVICE, Identity
from shared.ids import new_id
from shared.testing.helpers import auth, eventually, unique
from shared.testing.tokens import service_token_for

URL = "/api/v1/conversions"
OWNER = "sdr-owner"
FIELDS = {"lead_id", "company_id", "contact_id", "created_company", "created_contact", "status"}


def sales() -> dict:
    """Fresh for every call: a service token lives five minutes, a test run can take longer."""
    return {"Authorization": f"Bearer {service_token_for('sales')}"}


def convert(client, **body):
    return client.post(URL, json={"lead_id": new_id(), "owner_id": OWNER, **body}, headers=sales())


def person(**fields) -> dict:
    return {"name": f"Grace {unique('hopper')}", **fields}


def make(client, resource: str, **fields) -> dict:
    response = client.post(f"/api/v1/{resource}", json=fields, headers=auth("account_manager"))
    assert response.status_code == 201, response.json
    return response.json


def read(client, resource: str, record_id: str):
    return client.get(f"/api/v1/{resource}/{record_id}", headers=auth("admin"))


def count(database, model) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def events(database, *subjects: str) -> list[tuple[str, str]]:
    with database.sessions() as session:
        rows = session.execute(
            select(OutboxEvent.event_type, OutboxEvent.subject)
            .where(OutboxEvent.subject.in_(subjects))
            .order_by(OutboxEvent.seq)
        )
        return [(event_type, subject) for event_type, subject in rows]


def test_only_a_service_token_may_use_conversions_not_even_an_admin(client, contacts_db):
    body = {"lead_id": new_id(), "owner_id": OWNER, "contact": person()}
    for role in ROLES:
        headers = auth(role)
        assert client.post(URL, json=body, headers=headers).status_code == 403, role
        assert client.get(f"{URL}/{body['lead_id']}", headers=headers).status_code == 403
        assert client.delete(f"{URL}/{body['lead_id']}", headers=headers).status_code == 403
    # another service's token, which reads contacts but was never granted conversions
    support = {"Authorization": f"Bearer {service_token_for('support')}"}
    assert client.get("/api/v1/contacts", headers=support).status_code == 200
    for method, path in (("post", URL), ("get", f"{URL}/x"), ("delete", f"{URL}/x")):
        response = getattr(client, method)(path, json=body, headers=support)
        assert response.status_code == 403 and "contacts:conversions" in response.json["detail"]
    response = client.post(URL, json=body)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert count(contacts_db, Contact) == 0


def test_a_lead_becomes_a_new_company_and_a_contact_who_works_there(client, contacts_db):
    lead_id = new_id()
    response = client.post(
        URL,
        headers=sales(),
        json={
            "lead_id": lead_id,
            "owner_id": OWNER,
            "company": {"name": unique("Acme"), "city": "Oslo"},
            "contact": person(email="Grace@Example.COM"),
        },
    )
    assert response.status_code == 201, response.json
    result = response.json
    assert set(result) == FIELDS
    assert result["lead_id"] == lead_id and result["status"] == "active"
    assert result["created_company"] is True and result["created_contact"] is True
    assert response.headers["Location"] == f"{URL}/{lead_id}"
    company = read(client, "companies", result["company_id"]).json
    contact = read(client, "contacts", result["contact_id"]).json
    assert company["owner_id"] == contact["owner_id"] == OWNER
    assert company["city"] == "Oslo"
    assert contact["company_id"] == company["id"] and contact["email"] == "grace@example.com"
    assert client.get(f"{URL}/{lead_id}", headers=sales()).json == result


def test_the_bodies_sales_sends_land_under_the_data_model_names(client):
    """The contract with the sales service: its lead's fields, by the data model's names."""
    company_body = {
        "name": unique("Analytical Engines"),
        "street": "12 St James's Square",
        "city": "London",
        "state": "Greater London",
        "postal_code": "SW1Y 4LB",
        "country": "GB",
        "phone_number": "+44 20 7946 0000",
        "industry": "computing",
        "website": "https://engines.example",
        "annual_revenue": "1250000.50",
    }
    contact_body = {
        "name": "Ada Lovelace",
        "email": f"{unique('ada')}@example.com",
        "phone_number": "+44 20 7946 0001",
        "job_title": "Analyst",
    }
    response = convert(client, company=company_body, contact=contact_body)
    assert response.status_code == 201, response.json
    company = read(client, "companies", response.json["company_id"]).json
    contact = read(client, "contacts", response.json["contact_id"]).json
    assert {field: company[field] for field in company_body} == company_body
    assert {field: contact[field] for field in contact_body} == contact_body
    assert contact["company_id"] == company["id"]
    assert company["owner_id"] == contact["owner_id"] == OWNER


def test_with_no_company_named_or_described_the_contact_has_none(client):
    response = convert(client, contact=person())
    assert response.status_code == 201
    assert response.json["company_id"] is None and response.json["created_company"] is False
    assert read(client, "contacts", response.json["contact_id"]).json["company_id"] is None


def test_a_company_and_a_contact_that_exist_are_attached_as_they_are(client, contacts_db):
    company = make(client, "companies", name=unique("co"))
    elsewhere = make(client, "companies", name=unique("co"))
    contact = make(client, "contacts", name="Known", company_id=elsewhere["id"])
    before = (count(contacts_db, Company), count(contacts_db, Contact))
    response = convert(client, company_id=company["id"], contact_id=contact["id"])
    assert response.status_code == 201
    assert response.json["company_id"] == company["id"]
    assert response.json["contact_id"] == contact["id"]
    assert response.json["created_company"] is False and response.json["created_contact"] is False
    assert read(client, "contacts", contact["id"]).json["company_id"] == elsewhere["id"]
    assert (count(contacts_db, Company), count(contacts_db, Contact)) == before


def test_an_existing_company_is_given_to_the_new_contact(client):
    company = make(client, "companies", name=unique("co"))
    response = convert(client, company_id=company["id"], contact=person())
    assert response.status_code == 201 and response.json["created_contact"] is True
    assert read(client, "contacts", response.json["contact_id"]).json["company_id"] == company["id"]


def test_a_contact_body_may_name_its_own_company(client):
    own = make(client, "companies", name=unique("co"))
    response = convert(
        client, company={"name": unique("new")}, contact=person(company_id=own["id"])
    )
    assert response.status_code == 201
    assert read(client, "contacts", response.json["contact_id"]).json["company_id"] == own["id"]


def test_dangling_ids_are_a_422_and_change_nothing(client, contacts_db):
    response = convert(client, company_id="no-such-company", contact_id="no-such-contact")
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert set(response.json["errors"]) == {"company_id", "contact_id"}
    response = convert(client, company={"name": "Fresh"}, contact=person(company_id="ghost"))
    assert response.status_code == 422 and set(response.json["errors"]) == {"contact.company_id"}
    assert count(contacts_db, Company) == count(contacts_db, Contact) == 0
    assert count(contacts_db, Conversion) == count(contacts_db, OutboxEvent) == 0


@pytest.mark.parametrize(
    "body, field",
    [
        (
            {"company_id": "x", "company": {"name": "Both"}, "contact": {"name": "L"}},
            "company",
        ),
        ({"contact_id": "x", "contact": {"name": "L"}}, "contact"),
        ({}, "contact"),
        ({"contact": {"email": "no-name@example.com"}}, "contact.name"),
        ({"contact": {"name": "L", "first_name": "Old"}}, "contact.first_name"),
        ({"contact": {"name": "L", "phone": "123"}}, "contact.phone"),
        ({"company": {"name": "C", "address": "Old"}, "contact": {"name": "L"}}, "company.address"),
        (
            {"company": {"name": "C", "postal_code": "x" * 21}, "contact": {"name": "L"}},
            "company.postal_code",
        ),
        ({"contact": {"name": "L", "owner_id": "someone"}}, "contact.owner_id"),
        ({"company": {"name": "C", "id": "mine"}, "contact": {"name": "L"}}, "company.id"),
        ({"contact": {"name": "L"}, "converted": True}, "converted"),
        ({"contact": {"name": "L"}, "lead_id": None}, "lead_id"),
        ({"contact": {"name": "L"}, "lead_id": "x" * 37}, "lead_id"),
    ],
)
def test_a_malformed_request_is_a_422_naming_the_field(client, contacts_db, body, field):
    response = convert(client, **body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert count(contacts_db, Company) == count(contacts_db, Contact) == 0


def test_lead_id_and_owner_id_are_required(client):
    response = client.post(URL, json={"contact": person()}, headers=sales())
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"lead_id", "owner_id"}


def test_an_email_already_on_file_is_a_409_listing_the_candidates(client, contacts_db):
    email = f"{unique('dup')}@example.com"
    company = make(client, "companies", name=unique("co"))
    known = make(client, "contacts", name="Known", email=email, company_id=company["id"])
    before = (count(contacts_db, Company), count(contacts_db, Contact))
    lead_id = new_id()
    response = client.post(
        URL,
        headers=sales(),
        json={
            "lead_id": lead_id,
            "owner_id": OWNER,
            "company": {"name": unique("co")},
            "contact": person(email=email.upper()),
        },
    )
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert response.json["candidates"] == [
        {
            "id": known["id"],
            "name": "Known",
            "email": email,
            "company_id": company["id"],
        }
    ]
    assert (count(contacts_db, Company), count(contacts_db, Contact)) == before
    assert client.get(f"{URL}/{lead_id}", headers=sales()).status_code == 404


def test_attach_to_existing_attaches_to_the_one_contact_with_that_email(client, contacts_db):
    email = f"{unique('dup')}@example.com"
    known = make(client, "contacts", name="Known", email=email)
    response = convert(
        client,
        company={"name": unique("co")},
        contact=person(email=email),
        attach_to_existing=True,
    )
    assert response.status_code == 201
    assert response.json["contact_id"] == known["id"] and response.json["created_contact"] is False
    assert response.json["created_company"] is True
    assert count(contacts_db, Contact) == 1


def test_several_contacts_with_that_email_are_a_409_even_when_attaching(client, contacts_db):
    email = f"{unique('dup')}@example.com"
    older = make(client, "contacts", name="Older", email=email)
    newer = make(client, "contacts", name="Newer", email=email)
    response = convert(client, contact=person(email=email), attach_to_existing=True)
    assert response.status_code == 409
    assert "contact_id" in response.json["detail"]
    assert [c["id"] for c in response.json["candidates"]] == [newer["id"], older["id"]]
    assert count(contacts_db, Contact) == 2
    chosen = convert(client, contact_id=older["id"])
    assert chosen.status_code == 201 and chosen.json["contact_id"] == older["id"]


def test_a_repeated_conversion_returns_the_first_result_and_makes_no_twins(client, contacts_db):
    body = {
        "lead_id": new_id(),
        "owner_id": OWNER,
        "company": {"name": unique("co")},
        "contact": person(email=f"{unique('once')}@example.com"),
    }
    first = client.post(URL, json=body, headers=sales())
    again = client.post(URL, json=body, headers=sales())
    changed = client.post(URL, json={**body, "company": {"name": "Other"}}, headers=sales())
    assert first.status_code == 201
    assert again.status_code == changed.status_code == 200
    assert first.json == again.json == changed.json
    assert count(contacts_db, Company) == count(contacts_db, Contact) == 1
    result = first.json
    assert events(contacts_db, result["company_id"], result["contact_id"]) == [
        ("company.created", result["company_id"]),
        ("contact.created", result["contact_id"]),
    ]


def test_the_created_records_are_announced_with_their_state(client, contacts_db):
    result = convert(client, company={"name": unique("co")}, contact=person()).json
    with contacts_db.sessions() as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq)).all()
    assert [row.event_type for row in rows] == ["company.created", "contact.created"]
    data = [json.loads(row.body)["data"] for row in rows]
    assert data[0]["id"] == result["company_id"] and data[0]["owner_id"] == OWNER
    assert data[1]["id"] == result["contact_id"] and data[1]["company_id"] == result["company_id"]


def test_cancelling_deletes_what_the_conversion_created(client, contacts_db):
    result = convert(client, company={"name": unique("co")}, contact=person()).json
    url = f"{URL}/{result['lead_id']}"
    assert client.delete(url, headers=sales()).status_code == 204
    assert read(client, "contacts", result["contact_id"]).status_code == 404
    assert read(client, "companies", result["company_id"]).status_code == 404
    assert events(contacts_db, result["company_id"], result["contact_id"])[2:] == [
        ("contact.deleted", result["contact_id"]),
        ("company.deleted", result["company_id"]),
    ]
    cancelled = client.get(url, headers=sales())
    assert cancelled.status_code == 200
    assert cancelled.json == {**result, "status": "cancelled"}
    assert client.delete(url, headers=sales()).status_code == 204
    assert count(contacts_db, OutboxEvent) == 4


def test_cancelling_leaves_attached_records_alone(client, contacts_db):
    company = make(client, "companies", name=unique("co"))
    contact = make(client, "contacts", name="Kept", company_id=company["id"])
    result = convert(client, company_id=company["id"], contact_id=contact["id"]).json
    before = count(contacts_db, OutboxEvent)
    assert client.delete(f"{URL}/{result['lead_id']}", headers=sales()).status_code == 204
    assert read(client, "companies", company["id"]).status_code == 200
    assert read(client, "contacts", contact["id"]).status_code == 200
    assert count(contacts_db, OutboxEvent) == before


def test_cancelling_keeps_a_created_contact_someone_has_logged_a_call_with(client, contacts_db):
    result = convert(client, company={"name": unique("co")}, contact=person()).json
    make(client, "interactions", type="call", outcome="Hi", contact_id=result["contact_id"])
    response = client.delete(f"{URL}/{result['lead_id']}", headers=sales())
    assert response.status_code == 204
    assert read(client, "contacts", result["contact_id"]).status_code == 200
    assert read(client, "companies", result["company_id"]).status_code == 200
    types = [t for t, _ in events(contacts_db, result["company_id"], result["contact_id"])]
    assert "contact.deleted" not in types and "company.deleted" not in types
    status = client.get(f"{URL}/{result['lead_id']}", headers=sales()).json["status"]
    assert status == "cancelled"


def test_cancelling_keeps_a_created_company_that_gained_another_contact(client, contacts_db):
    result = convert(client, company={"name": unique("co")}, contact=person()).json
    make(client, "contacts", name="Colleague", company_id=result["company_id"])
    assert client.delete(f"{URL}/{result['lead_id']}", headers=sales()).status_code == 204
    assert read(client, "contacts", result["contact_id"]).status_code == 404
    assert read(client, "companies", result["company_id"]).status_code == 200


def test_cancelling_keeps_a_record_that_gains_a_reference_while_deleting(
    client, contacts_db, monkeypatch
):
    result = convert(client, company={"name": unique("co")}, contact=person()).json
    make(client, "contacts", name="Colleague", company_id=result["company_id"])
    # As if the colleague arrived between the in-use check and the delete.
    monkeypatch.setattr(conversions, "_company_in_use", lambda *_args: False)
    assert client.delete(f"{URL}/{result['lead_id']}", headers=sales()).status_code == 204
    assert read(client, "companies", result["company_id"]).status_code == 200
    assert ("company.deleted", result["company_id"]) not in events(
        contacts_db, result["company_id"]
    )
    assert client.get(f"{URL}/{result['lead_id']}", headers=sales()).json["status"] == "cancelled"


def test_cancelling_keeps_records_another_conversion_attached_to(client, contacts_db):
    first = convert(client, company={"name": unique("co")}, contact=person()).json
    second = convert(client, company_id=first["company_id"], contact_id=first["contact_id"]).json
    assert client.delete(f"{URL}/{first['lead_id']}", headers=sales()).status_code == 204
    assert read(client, "contacts", first["contact_id"]).status_code == 200
    assert read(client, "companies", first["company_id"]).status_code == 200
    assert client.get(f"{URL}/{second['lead_id']}", headers=sales()).json["status"] == "active"


def test_cancelling_after_someone_deleted_the_created_contact_still_succeeds(client):
    result = convert(client, contact=person()).json
    client.delete(f"/api/v1/contacts/{result['contact_id']}", headers=auth("admin"))
    assert client.delete(f"{URL}/{result['lead_id']}", headers=sales()).status_code == 204


def test_converting_again_after_a_cancel_creates_anew(client, contacts_db):
    body = {"lead_id": new_id(), "owner_id": OWNER, "company": {"name": "A"}, "contact": person()}
    first = client.post(URL, json=body, headers=sales()).json
    client.delete(f"{URL}/{body['lead_id']}", headers=sales())
    again = client.post(URL, json=body, headers=sales())
    assert again.status_code == 201
    assert again.json["status"] == "active" and again.json["lead_id"] == body["lead_id"]
    assert again.json["contact_id"] != first["contact_id"]
    assert again.json["company_id"] != first["company_id"]
    assert count(contacts_db, Contact) == count(contacts_db, Company) == 1
    assert count(contacts_db, Conversion) == 1


def test_an_unknown_lead_is_a_404(client):
    for method in (client.get, client.delete):
        response = method(f"{URL}/{new_id()}", headers=sales())
        assert response.status_code == 404
        assert response.content_type == "application/problem+json"


def _waiting_on_a_lock(database) -> bool:
    with database.engine.connect() as connection:
        return bool(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
        )


@pytest.mark.parametrize("backend", ["postgresql"])  # needs row locks a second writer waits on
def test_two_racing_conversions_of_one_lead_make_one_set_of_records(contacts_db):
    actor = Identity("service:sales", SERVICE, scopes=frozenset({"contacts:conversions"}))
    lead_id = new_id()

    def body() -> dict:
        return {
            "lead_id": lead_id,
            "owner_id": OWNER,
            "company": {"name": "Race"},
            "contact": {"name": "Racer"},
            "attach_to_existing": False,
        }

    outcome: dict = {}

    def second_caller() -> None:
        try:
            with contacts_db.sessions() as session:
                conversion, converted_now = convert_lead(session=session, actor=actor, data=body())
                outcome.update(contact_id=conversion.contact_id, converted_now=converted_now)
                session.commit()
        except Exception as exc:  # surfaced by the assertion below
            outcome["error"] = exc

    with contacts_db.sessions() as first:
        winner, converted_now = convert_lead(session=first, actor=actor, data=body())
        assert converted_now
        racer = threading.Thread(target=second_caller)
        racer.start()
        eventually(lambda: _waiting_on_a_lock(contacts_db))
        first.commit()
    racer.join(timeout=30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome == {"contact_id": winner.contact_id, "converted_now": False}
    assert count(contacts_db, Contact) == count(contacts_db, Company) == 1
    assert count(contacts_db, OutboxEvent) == 2


def test_the_events_name_the_user_who_converted_or_else_the_service(client, contacts_db):
    convert(client, actor_id="sdr-42", company={"name": unique("co")}, contact=person())
    convert(client, contact=person())
    with contacts_db.sessions() as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq)).all()
    actors = [json.loads(row.body)["data"]["actor_id"] for row in rows]
    assert actors == ["sdr-42", "sdr-42", "service:sales"]
