"""A sales manager assigns a lead to an SDR; the SDR hears of it in the inbox and live.

The sales service is not part of this system yet, so the test publishes the `lead.assigned`
event it will publish (a CloudEvent on crm.events, as its relay would) with the ids of real
users; everything else goes through the gateway as a client would.
"""

from datetime import datetime

import pytest
import requests

from shared.events import envelope
from shared.ids import new_id
from shared.testing.helpers import eventually, has_consumer, publish_event, unique
from shared.testing.sse import SSEClient

pytestmark = pytest.mark.e2e


def new_user(system, admin, role):
    email, password = f"{unique(role)}@e2e.test", "a-long-password"
    response = requests.post(
        f"{system.gateway}/api/v1/users",
        headers=admin,
        timeout=10,
        json={"email": email, "name": role, "role": role, "password": password},
    )
    assert response.status_code == 201, response.text
    return response.json(), system.login(email, password)


def api(system, method, path, headers, **kwargs):
    return requests.request(
        method, f"{system.gateway}/api/v1{path}", headers=headers, timeout=10, **kwargs
    )


def lead_assigned(lead_id, owner_id, manager_id) -> bytes:
    """What the sales service publishes when a manager gives a lead to someone."""
    return envelope(
        event_type="lead.assigned",
        source="/crm/sales",
        subject=lead_id,
        correlation_id=unique("req"),
        data={
            "id": lead_id,
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "grace@example.com",
            "company_name": "Harbour Logistics",
            "status": "new",
            "lead_score": 40,
            "owner_id": owner_id,
            "campaign_id": None,
            "assigned_by": manager_id,
            "previous_owner_id": manager_id,
            "actor_id": manager_id,
        },
    )


def unread(system, headers):
    return api(system, "GET", "/notifications?is_read=false", headers).json()["items"]


@pytest.fixture
def consuming(system):
    """The notifications worker has bound its queue: events published now reach it."""
    eventually(lambda: has_consumer(system.amqp_url, system.notifications_queue), timeout=30)


def test_an_sdr_hears_at_once_of_a_lead_a_manager_assigned_and_nobody_else_does(
    system, admin, consuming
):
    manager, manager_headers = new_user(system, admin, "sales_manager")
    sdr, sdr_headers = new_user(system, admin, "sdr")
    _, other_headers = new_user(system, admin, "sdr")
    stream = SSEClient(f"{system.gateway}/api/v1/notifications/stream", sdr_headers)
    try:
        stream.wait_until_connected(timeout=10)
        lead_id = new_id()
        event = lead_assigned(lead_id, sdr["id"], manager["id"])
        publish_event(system.amqp_url, event)

        [notification] = eventually(lambda: unread(system, sdr_headers), timeout=10)
        assert notification["link"] == f"/leads/{lead_id}"
        assert notification["type"] == "lead.assigned" and notification["is_read"] is False
        assert notification["actor_id"] == manager["id"]
        assert "Grace Hopper" in notification["message"]

        [frame] = stream.wait_for_notifications(1, timeout=5)
        assert frame["id"] == notification["id"] and frame["json"] == notification
        made_at = datetime.fromisoformat(notification["created_at"]).timestamp()
        assert frame["received_at"] - made_at < 1.0, "live within a second of being made"

        assert unread(system, other_headers) == []
        assert api(system, "GET", "/notifications", other_headers).json()["items"] == []
        path = f"/notifications/{notification['id']}"
        assert api(system, "PATCH", path, other_headers, json={"is_read": True}).status_code == 404

        publish_event(system.amqp_url, event)  # delivered again: still one notification
        marker = lead_assigned(new_id(), manager["id"], sdr["id"])  # handled after it, in order
        publish_event(system.amqp_url, marker)
        eventually(lambda: unread(system, manager_headers), timeout=10)
        assert len(api(system, "GET", "/notifications", sdr_headers).json()["items"]) == 1

        marked = api(system, "PATCH", path, sdr_headers, json={"is_read": True})
        assert marked.status_code == 200 and marked.json()["is_read"] is True
        assert unread(system, sdr_headers) == []
        count = api(system, "GET", "/notifications/unread-count", sdr_headers).json()
        assert count == {"unread": 0}
    finally:
        stream.close()


def test_a_reconnecting_client_gets_what_it_missed_with_last_event_id(system, admin, consuming):
    manager, _ = new_user(system, admin, "sales_manager")
    sdr, headers = new_user(system, admin, "sdr")
    publish_event(system.amqp_url, lead_assigned(new_id(), sdr["id"], manager["id"]))
    [seen] = eventually(lambda: unread(system, headers), timeout=10)
    publish_event(system.amqp_url, lead_assigned(new_id(), sdr["id"], manager["id"]))  # offline
    eventually(lambda: len(unread(system, headers)) == 2, timeout=10)
    stream = SSEClient(
        f"{system.gateway}/api/v1/notifications/stream", {**headers, "Last-Event-ID": seen["id"]}
    )
    try:
        [missed] = stream.wait_for_notifications(1, timeout=5)
        assert missed["id"] != seen["id"] and missed["json"]["user_id"] == sdr["id"]
    finally:
        stream.close()


def test_the_notifications_api_is_in_the_merged_openapi_document(system):
    spec = requests.get(f"{system.gateway}/api/v1/openapi.json", timeout=10).json()
    assert "/api/v1/notifications/stream" in spec["paths"]
    assert "x-unavailable-services" not in spec
