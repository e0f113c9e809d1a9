"""A team uses the CRM through the gateway: people, companies, contacts, interactions, events."""

import pytest
import requests

from shared.testing.helpers import EventTap, eventually, unique

pytestmark = pytest.mark.e2e


def new_user(system, admin, role):
    return system.new_user(admin, role)


def api(system, method, path, headers, **kwargs):
    return system.api(method, path, headers, **kwargs)


def test_an_account_manager_records_a_customer_and_downstream_hears_of_it(system, admin):
    tap = EventTap(system.amqp_url, keys=("company.*", "contact.*", "interaction.*"))
    try:
        manager, headers = new_user(system, admin, "account_manager")
        company = api(
            system,
            "POST",
            "/companies",
            {**headers, "X-Request-ID": "e2e-req-1"},
            json={
                "name": unique("Acme"),
                "street": "Karl Johans gate 1",
                "postal_code": "0154",
                "phone_number": "+47 22 00 00 00",
                "annual_revenue": "1250000.50",
            },
        )
        assert company.status_code == 201 and company.headers["X-Request-ID"] == "e2e-req-1"
        company = company.json()
        assert company["owner_id"] == manager["id"]
        contact = api(
            system,
            "POST",
            "/contacts",
            headers,
            json={
                "name": "Grace Hopper",
                "email": "grace@example.com",
                "phone_number": "+1 555 0100",
                "company_id": company["id"],
            },
        ).json()
        call = api(
            system,
            "POST",
            "/interactions",
            headers,
            json={
                "type": "call",
                "outcome": "meeting scheduled",
                "interaction_date": "2026-03-01T10:00:00+02:00",
                "contact_id": contact["id"],
            },
        ).json()
        assert call["user_id"] == manager["id"] and call["company_id"] == company["id"]
        assert call["interaction_date"] == "2026-03-01T08:00:00+00:00"
        assert (contact["name"], contact["phone_number"]) == ("Grace Hopper", "+1 555 0100")

        listed = api(system, "GET", f"/contacts?company_id={company['id']}", headers).json()
        assert [c["id"] for c in listed["items"]] == [contact["id"]]
        read = api(system, "GET", f"/companies/{company['id']}", headers)
        assert read.json()["annual_revenue"] == "1250000.50"
        assert (read.json()["street"], read.json()["phone_number"]) == (
            "Karl Johans gate 1",
            "+47 22 00 00 00",
        )
        patched = api(
            system,
            "PATCH",
            f"/companies/{company['id']}",
            {**headers, "If-Match": read.headers["ETag"]},
            json={"city": "Oslo"},
        )
        assert patched.status_code == 200 and patched.json()["city"] == "Oslo"

        def arrived():
            types = {(e["type"], e["subject"]) for e in tap.drain()}
            return {
                ("company.created", company["id"]),
                ("company.updated", company["id"]),
                ("contact.created", contact["id"]),
                ("interaction.logged", call["id"]),
            } <= types

        eventually(arrived, timeout=20)
        created = next(
            e
            for e in tap.received
            if e["type"] == "company.created" and e["subject"] == company["id"]
        )
        assert created["specversion"] == "1.0" and created["source"] == "/crm/contacts"
        assert created["correlationid"] == "e2e-req-1"
        assert created["data"]["annual_revenue"] == "1250000.50"
        assert created["data"]["street"] == "Karl Johans gate 1"
        logged = next(
            e
            for e in tap.received
            if e["type"] == "interaction.logged" and e["subject"] == call["id"]
        )
        assert logged["data"]["outcome"] == "meeting scheduled"
        assert logged["data"]["interaction_date"] == "2026-03-01T08:00:00+00:00"
    finally:
        tap.close()


def test_other_users_read_but_may_not_change_what_they_do_not_own(system, admin):
    _, owner = new_user(system, admin, "account_manager")
    _, sdr = new_user(system, admin, "sdr")
    _, manager = new_user(system, admin, "sales_manager")
    company = api(system, "POST", "/companies", owner, json={"name": unique("Owned")}).json()
    path = f"/companies/{company['id']}"
    assert api(system, "GET", path, sdr).status_code == 200
    assert api(system, "PATCH", path, sdr, json={"city": "X"}).status_code == 403
    assert api(system, "DELETE", path, sdr).status_code == 403
    assert api(system, "PATCH", path, manager, json={"city": "Y"}).status_code == 200


def test_bad_input_gets_a_clear_problem_and_changes_nothing(system, admin):
    bad = api(system, "POST", "/contacts", admin, json={"name": "X", "company_id": "nope"})
    assert bad.status_code == 422 and "company_id" in bad.json()["errors"]
    old = api(system, "POST", "/contacts", admin, json={"first_name": "G", "last_name": "H"})
    assert old.status_code == 422
    assert old.json()["errors"] == {
        "name": ["Missing data for required field."],
        "first_name": ["Unknown field."],
        "last_name": ["Unknown field."],
    }
    malformed = requests.post(
        f"{system.gateway}/api/v1/companies",
        data="{oops",
        timeout=10,
        headers={**admin, "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.headers["Content-Type"] == "application/problem+json"
    assert api(system, "GET", "/companies/missing", admin).status_code == 404


def test_a_request_that_skips_the_gateway_still_needs_a_valid_token(system, admin):
    assert requests.get(f"{system.url('contacts')}/api/v1/contacts", timeout=10).status_code == 401
    direct = requests.get(f"{system.url('contacts')}/api/v1/contacts", headers=admin, timeout=10)
    assert direct.status_code == 200


def test_pages_walk_every_contact_once_through_the_gateway(system, admin):
    _, headers = new_user(system, admin, "sdr")
    marker = unique("page")
    made = {
        api(system, "POST", "/contacts", headers, json={"name": f"{marker}{i}"}).json()["id"]
        for i in range(120)
    }
    seen, cursor = [], None
    while True:
        query = f"/contacts?limit=50&q={marker}" + (f"&cursor={cursor}" if cursor else "")
        page = api(system, "GET", query, headers).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 120 and set(seen) == made


def test_the_api_documents_itself_at_the_gateway(system):
    spec = requests.get(f"{system.gateway}/api/v1/openapi.json", timeout=10).json()
    assert "/api/v1/contacts" in spec["paths"] and "/api/v1/auth/login" in spec["paths"]
    assert requests.get(f"{system.gateway}/api/docs", timeout=10).status_code == 200
