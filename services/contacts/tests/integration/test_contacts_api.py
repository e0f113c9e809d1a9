"""The contacts API as a client uses it, on SQLite and on a real PostgreSQL."""

import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from services.contacts.models import Company, Contact, OutboxEvent
from shared.auth import Identity
from shared.testing.helpers import auth, unique
from shared.testing.tokens import claims_for, issue_token, sign


def make_company(client, headers, **fields):
    response = client.post(
        "/api/v1/companies", json={"name": unique("co"), **fields}, headers=headers
    )
    assert response.status_code == 201, response.json
    return response.json


def count(database, model):
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_annual_revenue_round_trips_exactly(client):
    headers = auth("account_manager")
    created = make_company(client, headers, annual_revenue="1250000.50")
    fetched = client.get(f"/api/v1/companies/{created['id']}", headers=headers).json
    assert created["annual_revenue"] == fetched["annual_revenue"] == "1250000.50"


def test_money_sent_as_a_json_number_is_kept_exact(client):
    headers = auth("account_manager")
    response = client.post(
        "/api/v1/companies",
        headers=headers,
        data=json.dumps({"name": "Numbers Ltd"}).replace(
            "}", ', "annual_revenue": 99999999999.99}'
        ),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json["annual_revenue"] == "99999999999.99"


def test_a_contact_is_created_read_listed_and_updated(client):
    headers = auth("sdr", "sdr-1")
    company = make_company(client, headers)
    created = client.post(
        "/api/v1/contacts",
        headers=headers,
        json={
            "name": "Ada Lovelace",
            "email": "Ada@Example.COM",
            "company_id": company["id"],
        },
    )
    assert created.status_code == 201
    contact = created.json
    assert contact["owner_id"] == "sdr-1" and contact["email"] == "ada@example.com"
    assert created.headers["Location"] == f"/api/v1/contacts/{contact['id']}"
    listed = client.get(f"/api/v1/contacts?company_id={company['id']}", headers=headers).json
    assert [c["id"] for c in listed["items"]] == [contact["id"]]
    patched = client.patch(
        f"/api/v1/contacts/{contact['id']}", json={"job_title": "CTO"}, headers=headers
    )
    assert patched.status_code == 200 and patched.json["job_title"] == "CTO"
    assert (
        client.get(f"/api/v1/contacts/{contact['id']}", headers=headers).json["job_title"] == "CTO"
    )


def test_validation_errors_name_the_fields_and_change_nothing(client, contacts_db):
    headers = auth("sdr")
    before = count(contacts_db, Contact)
    response = client.post(
        "/api/v1/contacts",
        headers=headers,
        json={"email": "not-an-email", "id": "mine", "created_at": "x"},
    )
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    errors = response.json["errors"]
    assert set(errors) >= {"name", "email", "id", "created_at"}
    assert count(contacts_db, Contact) == before


def test_malformed_json_is_a_400(client, contacts_db):
    before = count(contacts_db, Company)
    response = client.post(
        "/api/v1/companies",
        data='{"name": "Acme",',
        content_type="application/json",
        headers=auth("sdr"),
    )
    assert response.status_code == 400
    assert response.json["status"] == 400 and "traceback" not in response.text.lower()
    assert count(contacts_db, Company) == before


def test_unknown_id_is_a_404(client):
    response = client.get("/api/v1/companies/does-not-exist", headers=auth("sdr"))
    assert response.status_code == 404
    assert response.json["title"] == "Not Found"


def test_a_dangling_company_id_is_a_422(client, contacts_db):
    response = client.post(
        "/api/v1/contacts",
        headers=auth("sdr"),
        json={"name": "Nobody", "company_id": "no-such-company"},
    )
    assert response.status_code == 422
    assert "company_id" in response.json["errors"]
    assert count(contacts_db, Contact) == 0


def test_no_token_tampered_token_and_expired_token_are_401(client):
    assert client.get("/api/v1/contacts").status_code == 401
    token = auth("sdr")["Authorization"]
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.get("/api/v1/contacts", headers={"Authorization": tampered}).status_code == 401
    expired = issue_token(Identity("u", "sdr"), ttl_seconds=-60)
    response = client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and "expired" in response.json["detail"]
    forged = sign(claims_for(Identity("u", "admin"), 60), key=Ed25519PrivateKey.generate())
    assert (
        client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {forged}"}).status_code
        == 401
    )


def test_only_the_owner_or_a_manager_changes_a_record(client):
    owner = auth("account_manager", "am-1")
    company = make_company(client, owner)
    url = f"/api/v1/companies/{company['id']}"
    assert client.patch(url, json={"city": "Oslo"}, headers=auth("sdr")).status_code == 403
    assert client.delete(url, headers=auth("support_agent")).status_code == 403
    assert client.get(url, headers=auth("support_agent")).status_code == 200
    assert (
        client.patch(url, json={"city": "Oslo"}, headers=auth("sales_manager")).status_code == 200
    )
    assert client.patch(url, json={"city": "Bergen"}, headers=owner).status_code == 200


def test_only_managers_assign_owners_and_only_to_real_users(client, users):
    users.user_ids.add("am-2")
    sdr = auth("sdr", "sdr-9")
    response = client.post("/api/v1/companies", json={"name": "X", "owner_id": "am-2"}, headers=sdr)
    assert response.status_code == 403
    manager = auth("sales_manager")
    response = client.post(
        "/api/v1/companies", json={"name": "X", "owner_id": "ghost"}, headers=manager
    )
    assert response.status_code == 422 and "owner_id" in response.json["errors"]
    response = client.post(
        "/api/v1/companies", json={"name": "X", "owner_id": "am-2"}, headers=manager
    )
    assert response.status_code == 201 and response.json["owner_id"] == "am-2"


def test_interactions_belong_to_the_caller_and_take_the_contacts_company(client):
    headers = auth("support_agent", "sa-1")
    company = make_company(client, headers)
    contact = client.post(
        "/api/v1/contacts",
        headers=headers,
        json={"name": "Hopper", "company_id": company["id"]},
    ).json
    response = client.post(
        "/api/v1/interactions",
        headers=headers,
        json={"type": "call", "outcome": "Intro call", "contact_id": contact["id"]},
    )
    assert response.status_code == 201
    assert response.json["user_id"] == "sa-1"
    assert response.json["company_id"] == company["id"]
    spoofed = client.post(
        "/api/v1/interactions",
        headers=headers,
        json={"type": "call", "contact_id": contact["id"], "user_id": "someone"},
    )
    assert spoofed.status_code == 422
    other = client.patch(
        f"/api/v1/interactions/{response.json['id']}",
        json={"outcome": "changed"},
        headers=auth("sdr"),
    )
    assert other.status_code == 403


def test_an_interaction_needs_a_real_contact_or_company(client):
    headers = auth("support_agent")
    assert (
        client.post(
            "/api/v1/interactions", headers=headers, json={"type": "call", "outcome": "x"}
        ).status_code
        == 422
    )
    response = client.post(
        "/api/v1/interactions",
        headers=headers,
        json={"type": "call", "contact_id": "nope"},
    )
    assert response.status_code == 422 and "contact_id" in response.json["errors"]


def test_a_company_with_contacts_cannot_be_deleted(client):
    headers = auth("account_manager")
    company = make_company(client, headers)
    client.post(
        "/api/v1/contacts", headers=headers, json={"name": "K", "company_id": company["id"]}
    )
    assert client.delete(f"/api/v1/companies/{company['id']}", headers=headers).status_code == 409
    empty = make_company(client, headers)
    assert client.delete(f"/api/v1/companies/{empty['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/companies/{empty['id']}", headers=headers).status_code == 404


def test_if_match_protects_against_lost_updates(client):
    headers = auth("account_manager")
    company = make_company(client, headers)
    url = f"/api/v1/companies/{company['id']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    first = client.patch(url, json={"city": "A"}, headers={**headers, "If-Match": etag})
    assert first.status_code == 200 and first.headers["ETag"] != etag
    second = client.patch(url, json={"city": "B"}, headers={**headers, "If-Match": etag})
    assert second.status_code == 412
    assert client.get(url, headers=headers).json["city"] == "A"


def test_a_repeated_post_with_the_same_idempotency_key_acts_once(client, contacts_db):
    headers = {**auth("sdr", "sdr-idem"), "Idempotency-Key": unique("key")}
    body = {"name": "Once"}
    first = client.post("/api/v1/contacts", json=body, headers=headers)
    second = client.post("/api/v1/contacts", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json["id"] == second.json["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count(contacts_db, Contact) == 1
    reused = client.post("/api/v1/contacts", json={"name": "Other"}, headers=headers)
    assert reused.status_code == 422


def test_q_searches_names_and_email(client):
    headers = auth("sdr")
    tag = unique("zz")
    client.post("/api/v1/contacts", headers=headers, json={"name": f"Smith{tag}"})
    client.post(
        "/api/v1/contacts",
        headers=headers,
        json={"name": "Jones", "email": f"{tag}@example.com"},
    )
    client.post("/api/v1/contacts", headers=headers, json={"name": "Unrelated"})
    found = client.get(f"/api/v1/contacts?q={tag.upper()}", headers=headers).json["items"]
    assert len(found) == 2


def test_changes_are_recorded_as_events_in_the_same_transaction(client, contacts_db):
    headers = auth("account_manager", "am-ev")
    company = make_company(client, headers)
    client.patch(f"/api/v1/companies/{company['id']}", json={"city": "Lyon"}, headers=headers)
    client.delete(
        f"/api/v1/companies/{company['id']}", headers={**headers, "X-Request-ID": "req-delete-1"}
    )
    with contacts_db.sessions() as session:
        rows = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.subject == company["id"])
            .order_by(OutboxEvent.seq)
        ).all()
    assert [r.event_type for r in rows] == ["company.created", "company.updated", "company.deleted"]
    updated = json.loads(rows[1].body)
    assert updated["data"]["changed"] == ["city"] and updated["data"]["city"] == "Lyon"
    assert updated["specversion"] == "1.0" and updated["source"] == "/crm/contacts"
    assert json.loads(rows[2].body)["correlationid"] == "req-delete-1"
    assert {json.loads(row.body)["data"]["actor_id"] for row in rows} == {"am-ev"}


def test_a_failed_request_records_no_event(client, contacts_db):
    client.post(
        "/api/v1/contacts", headers=auth("sdr"), json={"name": "X", "company_id": "missing"}
    )
    assert count(contacts_db, OutboxEvent) == 0


def test_every_response_carries_a_request_id(client):
    response = client.get("/api/v1/contacts", headers={**auth("sdr"), "X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert client.get("/healthz").headers["X-Request-ID"]


def test_readiness_reports_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json["checks"]["database"] == "ok"


def test_an_interaction_time_given_with_an_offset_is_kept_in_utc(client):
    headers = auth("support_agent")
    contact = client.post("/api/v1/contacts", json={"name": "Tz"}, headers=headers).json
    made = client.post(
        "/api/v1/interactions",
        headers=headers,
        json={
            "type": "meeting",
            "contact_id": contact["id"],
            "interaction_date": "2026-03-01T10:00:00+02:00",
        },
    ).json
    assert made["interaction_date"].startswith("2026-03-01T08:00:00")
    read = client.get(f"/api/v1/interactions/{made['id']}", headers=headers).json
    assert read["interaction_date"] == made["interaction_date"]
    naive = client.post(
        "/api/v1/interactions",
        headers=headers,
        json={
            "type": "meeting",
            "contact_id": contact["id"],
            "interaction_date": "2026-03-01T10:00:00",
        },
    )
    assert naive.status_code == 422 and "interaction_date" in naive.json["errors"]


def test_correcting_or_deleting_an_interaction_is_published(client, contacts_db):
    headers = auth("support_agent", "sa-1")
    contact = client.post("/api/v1/contacts", json={"name": "Ng"}, headers=headers).json
    call = client.post(
        "/api/v1/interactions",
        json={"type": "call", "outcome": "Missed pallet", "contact_id": contact["id"]},
        headers=headers,
    ).json
    url = f"/api/v1/interactions/{call['id']}"
    assert client.patch(url, json={"outcome": "Found pallet"}, headers=headers).status_code == 200
    assert client.patch(url, json={"outcome": "Found pallet"}, headers=headers).status_code == 200
    assert client.delete(url, headers=headers).status_code == 204
    with contacts_db.sessions() as session:
        rows = session.scalars(
            select(OutboxEvent).where(OutboxEvent.subject == call["id"]).order_by(OutboxEvent.seq)
        ).all()
    assert [r.event_type for r in rows] == [
        "interaction.logged",
        "interaction.updated",
        "interaction.deleted",
    ]
    assert json.loads(rows[1].body)["data"]["changed"] == ["outcome"]
