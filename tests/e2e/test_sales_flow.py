"""The sales flow through the gateway: campaign, lead, conversion, opportunity, won, reports."""

import os
import signal
import time

import pytest
import requests

from shared.testing.helpers import EventTap, eventually, unique

pytestmark = pytest.mark.e2e


def created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def read(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def team(system, admin):
    """A marketing manager, a sales manager and an SDR, each logged in."""
    return {
        role: system.new_user(admin, role) for role in ("marketing_manager", "sales_manager", "sdr")
    }


def test_a_campaign_lead_is_converted_and_downstream_hears_of_it(system, team):
    _, marketer = team["marketing_manager"]
    sdr, rep = team["sdr"]
    tap = EventTap(system.amqp_url, keys=("lead.*",))
    try:
        campaign = created(
            system.api(
                "POST", "/campaigns", marketer, json={"name": unique("Fair"), "budget": "900.00"}
            )
        )
        email = f"{unique('ada')}@example.com"
        lead = created(
            system.api(
                "POST",
                "/leads",
                rep,
                json={
                    "name": "Ada Lovelace",
                    "email": email,
                    "phone_number": "+44 20 7946 0000",
                    "job_title": "Countess",
                    "campaign_id": campaign["id"],
                    "lead_source": "event",
                },
            )
        )
        assert lead["owner_id"] == sdr["id"]
        company_name = unique("Engines")
        company_fields = {"name": company_name, "city": "London", "postal_code": "SW1Y 4JH"}
        conversion = created(
            system.api(
                "POST",
                f"/leads/{lead['id']}/convert",
                {**rep, "X-Request-ID": f"convert-{lead['id']}"},
                json={"company": company_fields},
            )
        )

        contact = read(system.api("GET", f"/contacts/{conversion['contact_id']}", rep))
        assert (contact["email"], contact["company_id"]) == (email, conversion["company_id"])
        assert (contact["name"], contact["phone_number"], contact["job_title"]) == (
            "Ada Lovelace",
            "+44 20 7946 0000",
            "Countess",
        )
        assert contact["owner_id"] == sdr["id"]
        company = read(system.api("GET", f"/companies/{conversion['company_id']}", rep))
        assert {k: company[k] for k in company_fields} == company_fields
        opportunity = read(system.api("GET", f"/opportunities/{conversion['opportunity_id']}", rep))
        assert opportunity["campaign_id"] == campaign["id"]
        assert opportunity["contact_id"] == contact["id"]
        lead_now = read(system.api("GET", f"/leads/{lead['id']}", rep))
        assert lead_now["status"] == "converted"

        def converted_event():
            return [e for e in tap.of_subject(lead["id"]) if e["type"] == "lead.converted"]

        [event] = eventually(converted_event, timeout=20)
        assert event["specversion"] == "1.0" and event["source"] == "/crm/sales"
        assert event["correlationid"] == f"convert-{lead['id']}"
        assert event["properties"].message_id == event["id"]
        data = event["data"]
        assert {k: data[k] for k in ("contact_id", "company_id", "opportunity_id")} == {
            k: conversion[k] for k in ("contact_id", "company_id", "opportunity_id")
        }
        assert (data["lead_id"], data["campaign_id"], data["owner_id"]) == (
            lead["id"],
            campaign["id"],
            sdr["id"],
        )

        again = system.api("POST", f"/leads/{lead['id']}/convert", rep, json={})
        assert again.status_code == 409
        assert again.json()["opportunity_id"] == conversion["opportunity_id"]

        report = read(system.api("GET", f"/reports/campaigns?campaign_id={campaign['id']}", rep))
        [row] = report["items"]
        assert (row["leads"], row["converted_leads"], row["opportunities"]) == (1, 1, 1)
        assert row["cost_per_lead"] == "900.00"
    finally:
        tap.close()


def test_winning_an_opportunity_publishes_its_lines(system, team):
    _, manager = team["sales_manager"]
    sdr, rep = team["sdr"]
    tap = EventTap(system.amqp_url, keys=("opportunity.won",))
    try:
        sku = unique("SKU")
        product = created(
            system.api(
                "POST",
                "/products",
                manager,
                json={"name": "Cold storage", "sku": sku, "price": "49.90"},
            )
        )
        assert product["type"] == "good"  # the default
        opportunity = created(
            system.api(
                "POST",
                "/opportunities",
                rep,
                json={"name": unique("Deal"), "expected_close_date": "2031-05-20"},
            )
        )
        line = created(
            system.api(
                "POST",
                f"/opportunities/{opportunity['id']}/products",
                rep,
                json={"product_id": product["id"], "quantity": 3},
            )
        )
        assert line["line_total"] == "149.70"
        won = read(
            system.api(
                "PATCH", f"/opportunities/{opportunity['id']}", rep, json={"stage": "closed_won"}
            )
        )
        assert (won["deal_value"], won["probability"]) == ("149.70", 1.0)

        [event] = eventually(lambda: tap.of_subject(opportunity["id"]), timeout=20)
        assert event["type"] == "opportunity.won"
        assert event["data"]["line_items"] == [
            {
                "product_id": product["id"],
                "name": "Cold storage",
                "sku": sku,
                "quantity": 3,
                "unit_price": "49.90",
                "line_total": "149.70",
            }
        ]
        assert event["data"]["owner_id"] == sdr["id"]

        history = read(system.api("GET", f"/opportunities/{opportunity['id']}/history", rep))
        assert [h["to_stage"] for h in history["items"]] == ["prospecting", "closed_won"]
        again = system.api(
            "PATCH", f"/opportunities/{opportunity['id']}", rep, json={"stage": "proposal"}
        )
        assert again.status_code == 409

        pipeline = read(system.api("GET", f"/reports/pipeline?owner_id={sdr['id']}", rep))
        won_row = next(row for row in pipeline["stages"] if row["stage"] == "closed_won")
        assert won_row["count"] >= 1
        assert {
            "month": "2031-05",
            "total_value": "149.70",
            "weighted_value": "149.70",
        } in pipeline["forecast"]
    finally:
        tap.close()


def descendants_running(root: int, needle: str) -> list[int]:
    """Processes under `root` (children, grandchildren…) whose command line has `needle`."""
    parents, commands = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                commands[int(entry)] = cmdline.read().replace(b"\0", b" ").decode()
        except OSError:
            continue

    def under_root(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == root:
                return True
        return False

    return [pid for pid, command in commands.items() if needle in command and under_root(pid)]


def contacts_processes(system) -> list[int]:
    """The contacts web server's processes (gunicorn master and workers) of this system."""
    return descendants_running(system.process.pid, "services.contacts.wsgi:app")


def late_conversions_refused(system) -> int:
    """How often the contacts service logged a conversion call refused for its deadline."""
    lines = system.log.read_text().splitlines()
    refused = ('"path": "/api/v1/conversions"', '"status": 504')
    return sum(all(part in line for part in refused) for line in lines)


def test_conversion_with_the_contacts_service_stopped_changes_nothing_and_a_retry_succeeds_once(
    system, team
):
    _, rep = team["sdr"]
    email = f"{unique('grace')}@example.com"
    company_name = unique("Navy")
    lead = created(system.api("POST", "/leads", rep, json={"name": "Grace Hopper", "email": email}))
    convert = {"company": {"name": company_name}}
    refused_before = late_conversions_refused(system)
    processes = contacts_processes(system)
    assert processes, "no contacts process found"
    for pid in processes:
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = system.api("POST", f"/leads/{lead['id']}/convert", rep, json=convert)
        assert response.status_code in (502, 503, 504), response.text
        assert response.headers["Content-Type"] == "application/problem+json"
        assert time.monotonic() - started < 9  # the contacts call's timeout, not a hang
    finally:
        for pid in processes:
            os.kill(pid, signal.SIGCONT)

    # The contacts service is back. The call queued while it was stopped is either refused
    # for its passed deadline (logged as a 504) or dropped with the connection the sales
    # service closed; give it a few seconds to show up before checking nothing was made.
    eventually(lambda: requests.get(f"{system.url('contacts')}/readyz", timeout=2).ok)
    settle = time.monotonic() + 3
    while late_conversions_refused(system) == refused_before and time.monotonic() < settle:
        time.sleep(0.1)
    assert read(system.api("GET", f"/leads/{lead['id']}", rep))["status"] == "new"
    assert read(system.api("GET", f"/contacts?email={email}", rep))["items"] == []
    assert read(system.api("GET", f"/companies?q={company_name}", rep))["items"] == []

    conversion = created(system.api("POST", f"/leads/{lead['id']}/convert", rep, json=convert))
    assert [c["id"] for c in read(system.api("GET", f"/contacts?email={email}", rep))["items"]] == [
        conversion["contact_id"]
    ]
    assert len(read(system.api("GET", f"/companies?q={company_name}", rep))["items"]) == 1
    assert system.api("POST", f"/leads/{lead['id']}/convert", rep, json=convert).status_code == 409


def test_a_sales_manager_assigns_a_lead_and_an_sdr_may_not(system, team, admin):
    _, manager = team["sales_manager"]
    sdr, rep = team["sdr"]
    other, other_headers = system.new_user(admin, "sdr")
    tap = EventTap(system.amqp_url, keys=("lead.assigned",))
    try:
        lead = created(system.api("POST", "/leads", manager, json={"name": unique("Lead")}))
        refused = system.api(
            "PATCH", f"/leads/{lead['id']}", other_headers, json={"owner_id": other["id"]}
        )
        assert refused.status_code == 403
        assigned = read(
            system.api("PATCH", f"/leads/{lead['id']}", manager, json={"owner_id": sdr["id"]})
        )
        assert assigned["owner_id"] == sdr["id"]
        [event] = eventually(lambda: tap.of_subject(lead["id"]), timeout=20)
        assert (event["data"]["owner_id"], event["data"]["assigned_by"]) == (
            sdr["id"],
            event["data"]["previous_owner_id"],
        )
        assert system.api("GET", "/leads", rep).status_code == 200
        no_token = requests.get(f"{system.url('sales')}/api/v1/leads", timeout=10)
        assert no_token.status_code == 401
    finally:
        tap.close()


def test_the_merged_api_document_shows_the_sales_paths(system):
    spec = requests.get(f"{system.gateway}/api/v1/openapi.json", timeout=10).json()
    for path in (
        "/api/v1/campaigns",
        "/api/v1/leads/{lead_id}/convert",
        "/api/v1/opportunities/{opportunity_id}/products",
        "/api/v1/opportunities/{opportunity_id}/history",
        "/api/v1/products/{product_id}",
        "/api/v1/reports/pipeline",
        "/api/v1/reports/campaigns",
    ):
        assert path in spec["paths"], path


def test_deleting_a_contact_clears_it_from_opportunities(system, team):
    _, rep = team["sdr"]
    contact = created(system.api("POST", "/contacts", rep, json={"name": unique("Gone")}))
    opportunity = created(
        system.api(
            "POST",
            "/opportunities",
            rep,
            json={"name": unique("Deal"), "contact_id": contact["id"]},
        )
    )
    assert system.api("DELETE", f"/contacts/{contact['id']}", rep).status_code == 204

    def contact_dropped():
        current = read(system.api("GET", f"/opportunities/{opportunity['id']}", rep))
        return current["contact_id"] is None

    eventually(contact_dropped, timeout=20)
