"""Users hear of what others did to their records: in their inbox, and live on a stream.

Everything goes through the gateway as a client would; the events travel for real from the
sales service's outbox over RabbitMQ to the notifications worker.
"""

import json
from datetime import datetime

import pytest
import requests

from shared.testing.helpers import EventTap, eventually, has_consumer, publish_event, unique
from shared.testing.sse import SSEClient

pytestmark = pytest.mark.e2e


def new_user(system, admin, role):
    return system.new_user(admin, role)


def api(system, method, path, headers, **kwargs):
    return system.api(method, path, headers, **kwargs)


def created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def new_lead(system, headers) -> dict:
    body = {
        "name": "Grace Hopper",
        "email": f"{unique('grace')}@example.com",
        "company_name": "Harbour Logistics",
    }
    return created(api(system, "POST", "/leads", headers, json=body))


def assign(system, headers, lead, owner) -> None:
    response = api(system, "PATCH", f"/leads/{lead['id']}", headers, json={"owner_id": owner["id"]})
    assert response.status_code == 200, response.text


def inbox(system, headers, query=""):
    response = api(system, "GET", f"/notifications{query}", headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def stream(system, headers) -> SSEClient:
    client = SSEClient(f"{system.gateway}/api/v1/notifications/stream", headers)
    client.wait_until_connected(timeout=10)
    return client


@pytest.fixture
def consuming(system):
    """The notifications worker has bound its queue: events published from now on reach it."""
    eventually(lambda: has_consumer(system.amqp_url, system.notifications_queue), timeout=30)


def test_an_sdr_hears_at_once_of_a_lead_a_manager_assigned_and_nobody_else_does(
    system, admin, consuming
):
    _, manager = new_user(system, admin, "sales_manager")
    sdr, sdr_headers = new_user(system, admin, "sdr")
    _, other_sdr = new_user(system, admin, "sdr")
    tap = EventTap(system.amqp_url, keys=("lead.assigned",))
    live = stream(system, sdr_headers)
    try:
        lead = new_lead(system, manager)  # the manager's own lead: nobody to tell yet
        assign(system, manager, lead, sdr)

        [notification] = eventually(lambda: inbox(system, sdr_headers, "?is_read=false"), 15)
        assert notification["link"] == f"/leads/{lead['id']}"
        assert notification["type"] == "lead.assigned" and notification["is_read"] is False
        assert notification["message"] == "Lead assigned to you: Grace Hopper (Harbour Logistics)"

        [frame] = live.wait_for_notifications(1, timeout=30)
        assert frame["id"] == notification["id"] and frame["json"] == notification
        made_at = datetime.fromisoformat(notification["created_at"]).timestamp()
        # live, not at the next reconnect (minutes): a generous bound for a loaded machine
        assert frame["received_at"] - made_at < 10.0

        assert inbox(system, other_sdr) == []
        path = f"/notifications/{notification['id']}"
        assert api(system, "GET", path, other_sdr).status_code == 404
        assert api(system, "PATCH", path, other_sdr, json={"is_read": True}).status_code == 404

        # The same event delivered again (as after a relay crash) makes no second notification;
        # a later assignment, handled after it on the same queue, shows it has been handled.
        [event] = eventually(lambda: tap.of_subject(lead["id"]), timeout=10)
        publish_event(system.amqp_url, json.dumps(_envelope(event)).encode())
        later = new_lead(system, manager)
        assign(system, manager, later, sdr)
        eventually(lambda: inbox(system, sdr_headers, f"?record_id={later['id']}"), 15)
        assert len(inbox(system, sdr_headers, f"?record_id={lead['id']}")) == 1

        marked = api(system, "PATCH", path, sdr_headers, json={"is_read": True})
        assert marked.status_code == 200 and marked.json()["is_read"] is True
        unread = inbox(system, sdr_headers, "?is_read=false")
        assert [n["record_id"] for n in unread] == [later["id"]]
        count = api(system, "GET", "/notifications/unread-count", sdr_headers).json()
        assert count == {"unread": 1}
    finally:
        live.close()
        tap.close()


def test_an_owner_is_told_once_when_a_manager_wins_their_opportunity(system, admin, consuming):
    _, manager = new_user(system, admin, "sales_manager")
    _, owner = new_user(system, admin, "account_manager")
    body = {"name": unique("Harbour deal"), "deal_value": "5000.00"}
    deal = created(api(system, "POST", "/opportunities", owner, json=body))
    path = f"/opportunities/{deal['id']}"
    won = api(system, "PATCH", path, manager, json={"stage": "closed_won"})
    assert won.status_code == 200, won.text
    [notification] = eventually(lambda: inbox(system, owner), timeout=15)
    assert notification["type"] == "opportunity.won"  # not also "moved to closed won"
    assert notification["link"] == f"/opportunities/{deal['id']}"
    assert notification["message"] == f"Opportunity won: {body['name']} (5000.00)"


def test_a_reconnecting_client_gets_what_it_missed_with_last_event_id(system, admin, consuming):
    _, manager = new_user(system, admin, "sales_manager")
    sdr, headers = new_user(system, admin, "sdr")
    assign(system, manager, new_lead(system, manager), sdr)
    [seen] = eventually(lambda: inbox(system, headers), timeout=15)
    missed_lead = new_lead(system, manager)
    assign(system, manager, missed_lead, sdr)  # while the client is away
    eventually(lambda: len(inbox(system, headers)) == 2, timeout=15)
    live = SSEClient(
        f"{system.gateway}/api/v1/notifications/stream", {**headers, "Last-Event-ID": seen["id"]}
    )
    try:
        [missed] = live.wait_for_notifications(1, timeout=30)
        assert missed["json"]["record_id"] == missed_lead["id"]
    finally:
        live.close()


def test_the_notifications_api_is_in_the_merged_openapi_document(system):
    spec = requests.get(f"{system.gateway}/api/v1/openapi.json", timeout=10).json()
    assert "/api/v1/notifications/stream" in spec["paths"]
    assert "x-unavailable-services" not in spec


def _envelope(received: dict) -> dict:
    """The CloudEvent as published, from what the tap received."""
    return {k: v for k, v in received.items() if k not in ("routing_key", "properties")}


def test_an_account_manager_hears_of_a_contact_a_manager_gave_them(system, admin, consuming):
    _, manager = new_user(system, admin, "sales_manager")
    owner, owner_headers = new_user(system, admin, "account_manager")
    contact = created(api(system, "POST", "/contacts", manager, json={"name": unique("Lin")}))
    response = api(
        system, "PATCH", f"/contacts/{contact['id']}", manager, json={"owner_id": owner["id"]}
    )
    assert response.status_code == 200, response.text

    [note] = eventually(lambda: inbox(system, owner_headers), timeout=20)
    assert (note["type"], note["link"]) == ("contact.updated", f"/contacts/{contact['id']}")
    assert note["message"] == f"Contact assigned to you: {contact['name']}"
    assert inbox(system, manager) == []


def test_a_browser_opens_its_stream_through_the_gateway_with_a_one_time_ticket(
    system, admin, consuming
):
    _, manager = new_user(system, admin, "sales_manager")
    sdr, sdr_headers = new_user(system, admin, "sdr")
    ticket = created(api(system, "POST", "/notifications/stream-ticket", sdr_headers))
    assert ticket["expires_in"] == 60
    url = f"{system.gateway}/api/v1/notifications/stream?ticket={ticket['ticket']}"
    live = SSEClient(url)  # no Authorization header, as an EventSource sends none
    try:
        live.wait_until_connected(timeout=15)
        lead = new_lead(system, manager)
        assign(system, manager, lead, sdr)
        [frame] = live.wait_for_notifications(1, timeout=30)
        assert frame["json"]["record_id"] == lead["id"]
        again = requests.get(url, timeout=10)
        assert again.status_code == 401  # a ticket opens one stream, once
        token_in_url = sdr_headers["Authorization"].removeprefix("Bearer ")
        in_url = requests.get(
            f"{system.gateway}/api/v1/notifications/stream?access_token={token_in_url}", timeout=10
        )
        assert in_url.status_code == 401
    finally:
        live.close()
