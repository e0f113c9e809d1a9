from services.sales.models import Lead
from services.sales.tests.integration.helpers import (
    ADMIN,
    MARKETING,
    OTHER_SDR,
    SALES_MANAGER,
    SDR,
    events,
    make_campaign,
    make_lead,
    ok,
)
from shared.testing.helpers import auth


def test_a_marketing_manager_plans_a_campaign_with_exact_money(client, sales_db):
    campaign = make_campaign(
        client, budget="1250000.50", start_date="2026-03-01", end_date="2026-03-31"
    )
    assert campaign["budget"] == "1250000.50"
    assert campaign["owner_id"] == "mm-1"
    read = ok(client.get(f"/api/v1/campaigns/{campaign['id']}", headers=SDR))
    assert read["budget"] == "1250000.50"
    assert [e["event_type"] for e in events(sales_db, campaign["id"])] == ["campaign.created"]
    assert events(sales_db, campaign["id"])[0]["actor_id"] == "mm-1"


def test_only_marketing_managers_and_admins_write_campaigns(client):
    for role in ("sales_manager", "sdr", "account_manager", "support_agent"):
        response = client.post("/api/v1/campaigns", json={"name": "x"}, headers=auth(role))
        assert response.status_code == 403, role
    campaign = make_campaign(client, headers=ADMIN)
    response = client.patch(
        f"/api/v1/campaigns/{campaign['id']}", json={"name": "y"}, headers=SALES_MANAGER
    )
    assert response.status_code == 403
    changed = ok(
        client.patch(f"/api/v1/campaigns/{campaign['id']}", json={"name": "y"}, headers=MARKETING)
    )
    assert changed["name"] == "y"


def test_a_campaign_cannot_end_before_it_starts(client):
    response = client.post(
        "/api/v1/campaigns",
        json={"name": "x", "start_date": "2026-05-02", "end_date": "2026-05-01"},
        headers=MARKETING,
    )
    assert response.status_code == 422
    assert "end_date" in response.get_json()["errors"]
    campaign = make_campaign(client, start_date="2026-05-02")
    response = client.patch(
        f"/api/v1/campaigns/{campaign['id']}", json={"end_date": "2026-05-01"}, headers=MARKETING
    )
    assert response.status_code == 422
    assert "end_date" in response.get_json()["errors"]


def test_a_lead_is_owned_by_its_creator_and_validated(client, sales_db):
    lead = make_lead(client, email="Ada@Example.com", lead_score=70, lead_source="website")
    assert lead["owner_id"] == "sdr-1"
    assert lead["status"] == "new"
    assert lead["email"] == "ada@example.com"
    created = events(sales_db, lead["id"])
    assert [e["event_type"] for e in created] == ["lead.created"]
    assert created[0]["actor_id"] == "sdr-1"
    for bad in ({"lead_score": 101}, {"lead_score": -1}, {"status": "converted"}):
        response = client.post("/api/v1/leads", json={"name": "X", **bad}, headers=SDR)
        assert response.status_code == 422, bad


def test_converted_fields_are_never_taken_from_the_client(client, sales_db):
    for field in ("converted_at", "converted_contact_id", "converted_opportunity_id"):
        response = client.post(
            "/api/v1/leads", json={"name": "X", field: "2026-01-01"}, headers=SDR
        )
        assert response.status_code == 422
        assert field in response.get_json()["errors"]
    with sales_db.sessions() as session:
        assert session.query(Lead).count() == 0


def test_a_lead_needs_a_real_campaign(client):
    response = client.post("/api/v1/leads", json={"name": "X", "campaign_id": "nope"}, headers=SDR)
    assert response.status_code == 422
    assert "campaign_id" in response.get_json()["errors"]
    campaign = make_campaign(client)
    assert make_lead(client, campaign_id=campaign["id"])["campaign_id"] == campaign["id"]


def test_a_duplicate_email_among_open_leads_is_a_409_naming_the_existing_lead(client):
    first = make_lead(client, email="dup@example.com")
    response = client.post(
        "/api/v1/leads", json={"name": "Twin", "email": "DUP@example.com"}, headers=SDR
    )
    assert response.status_code == 409
    assert response.get_json()["existing_lead"]["id"] == first["id"]
    ok(client.patch(f"/api/v1/leads/{first['id']}", json={"status": "unqualified"}, headers=SDR))
    make_lead(client, email="dup@example.com")  # the first lead is closed now


def test_a_manager_assigns_a_lead_and_that_emits_lead_assigned(client, sales_db, users):
    users.user_ids.update({"sdr-2"})
    lead = make_lead(client, headers=SALES_MANAGER)
    response = client.patch(
        f"/api/v1/leads/{lead['id']}", json={"owner_id": "sdr-2"}, headers=SALES_MANAGER
    )
    assert ok(response)["owner_id"] == "sdr-2"
    assigned = events(sales_db, lead["id"], "lead.assigned")
    assert len(assigned) == 1
    assert assigned[0]["owner_id"] == "sdr-2"
    assert assigned[0]["assigned_by"] == "sm-1"
    assert assigned[0]["previous_owner_id"] == "sm-1"
    # the new owner works it; the previous SDR-less owner is gone
    ok(client.patch(f"/api/v1/leads/{lead['id']}", json={"status": "contacted"}, headers=OTHER_SDR))
    assert len(events(sales_db, lead["id"], "lead.assigned")) == 1


def test_a_lead_created_for_someone_else_says_who_created_it(client, sales_db, users):
    users.user_ids.add("sdr-2")
    lead = make_lead(client, headers=SALES_MANAGER, owner_id="sdr-2")
    created = events(sales_db, lead["id"])
    assert [e["event_type"] for e in created] == ["lead.created"]
    assert (created[0]["owner_id"], created[0]["actor_id"]) == ("sdr-2", "sm-1")


def test_only_managers_assign_leads_and_only_to_real_users(client, users):
    lead = make_lead(client)
    response = client.patch(f"/api/v1/leads/{lead['id']}", json={"owner_id": "x"}, headers=SDR)
    assert response.status_code == 403
    response = client.patch(
        f"/api/v1/leads/{lead['id']}", json={"owner_id": "ghost"}, headers=SALES_MANAGER
    )
    assert response.status_code == 422
    assert "owner_id" in response.get_json()["errors"]


def test_an_sdr_changes_only_their_own_leads(client):
    lead = make_lead(client)
    response = client.patch(
        f"/api/v1/leads/{lead['id']}", json={"lead_score": 5}, headers=OTHER_SDR
    )
    assert response.status_code == 403
    assert client.delete(f"/api/v1/leads/{lead['id']}", headers=OTHER_SDR).status_code == 403
    assert client.delete(f"/api/v1/leads/{lead['id']}", headers=SDR).status_code == 204
    assert client.get(f"/api/v1/leads/{lead['id']}", headers=SDR).status_code == 404


def test_leads_are_listed_filtered_and_searched(client):
    campaign = make_campaign(client)
    make_lead(client, name="Grace Hopper", campaign_id=campaign["id"], lead_source="event")
    make_lead(
        client,
        name="Alan Turing",
        company_name="Bletchley Freight",
        email="alan@example.com",
        lead_source="trade fair 2026",
    )
    page = ok(client.get(f"/api/v1/leads?campaign_id={campaign['id']}", headers=SDR))
    assert [lead["name"] for lead in page["items"]] == ["Grace Hopper"]
    for q in ("bletchley", "TURING", "alan@ex"):  # company_name, name, email
        page = ok(client.get(f"/api/v1/leads?q={q}", headers=SDR))
        assert [lead["name"] for lead in page["items"]] == ["Alan Turing"], q
    page = ok(client.get("/api/v1/leads?lead_source=trade fair 2026", headers=SDR))
    assert [lead["name"] for lead in page["items"]] == ["Alan Turing"]
    assert ok(client.get("/api/v1/leads?lead_source=trade", headers=SDR))["items"] == []
    page = ok(client.get("/api/v1/leads?sort=name", headers=SDR))
    assert [lead["name"] for lead in page["items"]] == ["Alan Turing", "Grace Hopper"]
    assert client.get("/api/v1/leads?status=bogus", headers=SDR).status_code == 422
    assert client.get("/api/v1/leads?sort=last_name", headers=SDR).status_code == 422
