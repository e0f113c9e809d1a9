from decimal import Decimal

from services.sales.models import Lead, Opportunity
from services.sales.tests.integration.helpers import (
    OTHER_SDR,
    SALES_MANAGER,
    SDR,
    events,
    make_campaign,
    make_lead,
    ok,
)


def convert(client, lead_id, body=None, headers=SDR):
    return client.post(f"/api/v1/leads/{lead_id}/convert", json=body or {}, headers=headers)


def count(database, model) -> int:
    with database.sessions() as session:
        return session.query(model).count()


def test_converting_makes_contact_company_and_opportunity_and_one_event(client, sales_db, contacts):
    campaign = make_campaign(client)
    lead = make_lead(
        client,
        email="ada@example.com",
        campaign_id=campaign["id"],
        phone_number="+44 20 7946 0000",
        job_title="Countess",
        lead_source="website",
    )
    company = {
        "name": "Analytical Engines",
        "street": "12 St James's Square",
        "city": "London",
        "state": "Greater London",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
        "phone_number": "+44 20 7946 0001",
        "industry": "computing",
        "website": "https://engines.example",
        "annual_revenue": "1250000.50",
        "email": "office@engines.example",
        "employee_count": 12,
    }
    result = ok(convert(client, lead["id"], {"company": company}), 201)

    contact = contacts.contacts[result["contact_id"]]
    assert {k: contact[k] for k in ("name", "email", "phone_number", "job_title")} == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone_number": "+44 20 7946 0000",
        "job_title": "Countess",
    }
    assert contact["company_id"] == result["company_id"]
    made = contacts.companies[result["company_id"]]
    assert made == {"id": result["company_id"], **company, "annual_revenue": Decimal("1250000.50")}

    opportunity = ok(client.get(f"/api/v1/opportunities/{result['opportunity_id']}", headers=SDR))
    assert opportunity["campaign_id"] == campaign["id"]
    assert opportunity["source"] == "website"  # the lead's lead_source
    assert opportunity["contact_id"] == result["contact_id"]
    assert opportunity["company_id"] == result["company_id"]
    assert opportunity["lead_id"] == lead["id"]
    assert opportunity["name"] == "Analytical Engines"
    assert opportunity["stage"] == "prospecting"

    converted = ok(client.get(f"/api/v1/leads/{lead['id']}", headers=SDR))
    assert converted["status"] == "converted"
    assert converted["converted_at"]
    assert converted["converted_contact_id"] == result["contact_id"]
    assert converted["converted_company_id"] == result["company_id"]
    assert converted["converted_opportunity_id"] == result["opportunity_id"]

    [event] = events(sales_db, event_type="lead.converted")
    assert {k: event[k] for k in ("lead_id", "contact_id", "company_id", "opportunity_id")} == {
        k: result[k] for k in ("lead_id", "contact_id", "company_id", "opportunity_id")
    }
    assert event["campaign_id"] == campaign["id"]
    assert event["owner_id"] == "sdr-1"
    assert event["converted_at"]


def test_with_no_company_the_contact_has_none_and_the_body_overrides_the_person(client, contacts):
    lead = make_lead(client, email="grace@example.com", company_name="Navy")
    body = {"contact": {"name": "Grace Hopper", "job_title": "Admiral", "phone_number": "+1 555"}}
    result = ok(convert(client, lead["id"], body), 201)
    assert result["company_id"] is None
    contact = contacts.contacts[result["contact_id"]]
    assert (contact["name"], contact["email"]) == ("Grace Hopper", "grace@example.com")
    assert (contact["job_title"], contact["phone_number"]) == ("Admiral", "+1 555")
    assert contact["company_id"] is None
    opportunity = ok(client.get(f"/api/v1/opportunities/{result['opportunity_id']}", headers=SDR))
    assert opportunity["name"] == "Navy"  # the lead's company_name


def test_converting_again_is_a_409_with_the_ids(client):
    lead = make_lead(client)
    result = ok(convert(client, lead["id"]), 201)
    response = convert(client, lead["id"])
    assert response.status_code == 409
    body = response.get_json()
    assert body["contact_id"] == result["contact_id"]
    assert body["opportunity_id"] == result["opportunity_id"]


def test_a_converted_lead_is_read_only(client):
    lead = make_lead(client)
    ok(convert(client, lead["id"]), 201)
    response = client.patch(f"/api/v1/leads/{lead['id']}", json={"notes": "x"}, headers=SDR)
    assert response.status_code == 409
    assert client.delete(f"/api/v1/leads/{lead['id']}", headers=SDR).status_code == 409


def test_with_the_contacts_service_down_nothing_changes_and_the_caller_gets_a_503(
    client, sales_db, contacts
):
    lead = make_lead(client)
    contacts.down = True
    response = convert(client, lead["id"])
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert ok(client.get(f"/api/v1/leads/{lead['id']}", headers=SDR))["status"] == "new"
    assert count(sales_db, Opportunity) == 0
    assert events(sales_db, event_type="lead.converted") == []
    contacts.down = False
    ok(convert(client, lead["id"]), 201)
    assert len(contacts.contacts) == 1


def test_an_existing_contact_with_the_email_is_a_409_with_candidates_unless_attached(
    client, contacts
):
    contacts.contacts["c-1"] = {
        "id": "c-1",
        "name": "Ada Old",
        "email": "ada@example.com",
        "phone_number": None,
        "job_title": None,
        "company_id": None,
    }
    lead = make_lead(client, email="ada@example.com")
    response = convert(client, lead["id"])
    assert response.status_code == 409
    assert response.get_json()["candidates"] == [
        {"id": "c-1", "name": "Ada Old", "email": "ada@example.com", "company_id": None}
    ]
    assert ok(client.get(f"/api/v1/leads/{lead['id']}", headers=SDR))["status"] == "new"

    result = ok(convert(client, lead["id"], {"attach_to_existing": True}), 201)
    assert result["contact_id"] == "c-1"
    assert len(contacts.contacts) == 1


def test_naming_a_contact_attaches_to_it(client, contacts):
    contacts.contacts["c-9"] = {"id": "c-9", "name": "Known", "email": "k@example.com"}
    lead = make_lead(client, email="k@example.com")
    result = ok(convert(client, lead["id"], {"contact_id": "c-9"}), 201)
    assert result["contact_id"] == "c-9"


def test_dangling_references_from_the_contacts_service_are_422(client, sales_db):
    lead = make_lead(client)
    response = convert(client, lead["id"], {"company_id": "ghost"})
    assert response.status_code == 422
    assert "company_id" in response.get_json()["errors"]
    assert count(sales_db, Opportunity) == 0


def test_naming_and_describing_the_same_thing_is_a_422(client):
    lead = make_lead(client)
    response = convert(client, lead["id"], {"company_id": "x", "company": {"name": "y"}})
    assert response.status_code == 422
    assert "company" in response.get_json()["errors"]


def test_conversion_without_an_opportunity(client, sales_db):
    lead = make_lead(client)
    result = ok(convert(client, lead["id"], {"create_opportunity": False}), 201)
    assert result["opportunity_id"] is None
    assert count(sales_db, Opportunity) == 0
    with sales_db.sessions() as session:
        assert session.get(Lead, lead["id"]).status == "converted"


def test_opportunity_fields_come_from_the_body(client):
    lead = make_lead(client)
    body = {
        "opportunity": {
            "name": "Big deal",
            "deal_value": "5000.00",
            "stage": "proposal",
            "source": "partner",
        }
    }
    result = ok(convert(client, lead["id"], body), 201)
    opportunity = ok(client.get(f"/api/v1/opportunities/{result['opportunity_id']}", headers=SDR))
    assert (
        opportunity["name"],
        opportunity["deal_value"],
        opportunity["stage"],
        opportunity["source"],
    ) == ("Big deal", "5000.00", "proposal", "partner")
    assert opportunity["probability"] == 0.5


def test_only_the_owner_or_a_manager_converts(client):
    lead = make_lead(client)
    assert convert(client, lead["id"], headers=OTHER_SDR).status_code == 403
    ok(convert(client, lead["id"], headers=SALES_MANAGER), 201)


def test_a_failure_after_the_contacts_call_compensates_it(client, sales_db, contacts, monkeypatch):
    from services.sales.domain import conversion

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(conversion, "open_opportunity", broken)
    lead = make_lead(client, email="x@example.com")
    response = convert(client, lead["id"], {"company": {"name": "Acme"}})
    assert response.status_code == 500
    assert contacts.contacts == {} and contacts.companies == {}
    assert contacts.conversions[lead["id"]]["status"] == "cancelled"
    assert ok(client.get(f"/api/v1/leads/{lead['id']}", headers=SDR))["status"] == "new"
