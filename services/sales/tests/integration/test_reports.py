from services.sales.tests.integration.helpers import (
    SDR,
    make_campaign,
    make_lead,
    make_opportunity,
    ok,
)


def move(client, opportunity, **body):
    return ok(client.patch(f"/api/v1/opportunities/{opportunity['id']}", json=body, headers=SDR))


def test_the_pipeline_report_sums_by_stage_and_month_with_a_win_rate(client):
    empty = ok(client.get("/api/v1/reports/pipeline", headers=SDR))
    assert [row["stage"] for row in empty["stages"]] == [
        "prospecting",
        "qualification",
        "proposal",
        "negotiation",
        "closed_won",
        "closed_lost",
    ]
    assert all(row["count"] == 0 and row["total_value"] == "0.00" for row in empty["stages"])
    assert empty["win_rate"] is None and empty["forecast"] == []

    make_opportunity(client, deal_value="1000.10", expected_close_date="2026-12-05")
    make_opportunity(client, deal_value="333.33", expected_close_date="2026-12-20")
    won = make_opportunity(client, deal_value="500.00", expected_close_date="2027-01-10")
    move(client, won, stage="closed_won")
    lost = make_opportunity(client, deal_value="700.00", expected_close_date="2027-01-11")
    move(client, lost, stage="closed_lost", lost_reason="Budget")
    other = make_opportunity(client, deal_value="50.00", stage="negotiation")

    report = ok(client.get("/api/v1/reports/pipeline", headers=SDR))
    stages = {row["stage"]: row for row in report["stages"]}
    assert stages["prospecting"] == {
        "stage": "prospecting",
        "count": 2,
        "total_value": "1333.43",
        "weighted_value": "133.34",
    }
    assert stages["negotiation"]["weighted_value"] == "40.00"
    assert stages["closed_won"]["total_value"] == "500.00"
    assert stages["closed_lost"]["weighted_value"] == "0.00"
    assert report["forecast"] == [
        {"month": "2026-12", "total_value": "1333.43", "weighted_value": "133.34"},
        {"month": "2027-01", "total_value": "500.00", "weighted_value": "500.00"},
    ]
    assert report["win_rate"] == 0.5

    mine = ok(client.get("/api/v1/reports/pipeline?owner_id=nobody", headers=SDR))
    assert sum(row["count"] for row in mine["stages"]) == 0
    assert other["owner_id"] == "sdr-1"


def test_the_campaign_report_counts_leads_wins_cost_and_roi(client):
    campaign = make_campaign(client, budget="1000.00")
    idle = make_campaign(client, name="Idle", budget=None)
    for n in range(4):
        make_lead(client, name=f"L{n}", campaign_id=campaign["id"])
    lead = make_lead(client, name="Converted", campaign_id=campaign["id"])
    conversion = ok(
        client.post(
            f"/api/v1/leads/{lead['id']}/convert",
            json={"opportunity": {"deal_value": "2500.00"}},
            headers=SDR,
        ),
        201,
    )
    move(client, {"id": conversion["opportunity_id"]}, stage="closed_won")
    make_opportunity(client, campaign_id=campaign["id"], deal_value="10.00")

    report = ok(client.get("/api/v1/reports/campaigns", headers=SDR))
    rows = {row["campaign_id"]: row for row in report["items"]}
    assert rows[campaign["id"]] == {
        "campaign_id": campaign["id"],
        "name": "Spring fair",
        "status": "planned",
        "budget": "1000.00",
        "leads": 5,
        "converted_leads": 1,
        "opportunities": 2,
        "won_opportunities": 1,
        "won_revenue": "2500.00",
        "cost_per_lead": "200.00",
        "roi": 1.5,
    }
    assert rows[idle["id"]]["cost_per_lead"] is None
    assert rows[idle["id"]]["roi"] is None
    only = ok(client.get(f"/api/v1/reports/campaigns?campaign_id={idle['id']}", headers=SDR))
    assert [row["campaign_id"] for row in only["items"]] == [idle["id"]]
