"""The inbox API: the caller's own notifications only, read and unread, counted and paged."""

from services.notifications.tests.conftest import lead_event
from shared.auth import SERVICE
from shared.testing.helpers import auth

SDR, OTHER = auth("sdr", "sdr-1"), auth("sdr", "sdr-2")


def notify(consumer, owner="sdr-1", times=1):
    for _ in range(times):
        consumer.handle(lead_event(owner, "mgr-1"))


def listed(client, headers, query=""):
    response = client.get(f"/api/v1/notifications{query}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_marking_a_notification_read_removes_it_from_the_unread_filter(client, consumer):
    notify(consumer)
    [notification] = listed(client, SDR, "?is_read=false")["items"]
    assert client.get("/api/v1/notifications/unread-count", headers=SDR).json == {"unread": 1}
    url = f"/api/v1/notifications/{notification['id']}"
    marked = client.patch(url, json={"is_read": True}, headers=SDR)
    assert marked.status_code == 200
    assert marked.json["is_read"] is True and marked.json["read_at"] is not None
    assert listed(client, SDR, "?is_read=false")["items"] == []
    assert [n["id"] for n in listed(client, SDR, "?is_read=true")["items"]] == [notification["id"]]
    assert client.get("/api/v1/notifications/unread-count", headers=SDR).json == {"unread": 0}
    unread_again = client.patch(url, json={"is_read": False}, headers=SDR).json
    assert unread_again["is_read"] is False and unread_again["read_at"] is None


def test_a_user_can_neither_read_nor_change_anothers_notifications(client, consumer):
    notify(consumer, owner="sdr-1")
    notify(consumer, owner="sdr-2")
    [theirs] = listed(client, OTHER)["items"]
    url = f"/api/v1/notifications/{theirs['id']}"
    for headers in (SDR, auth("admin", "admin-1"), auth("sales_manager", "mgr-9")):
        assert client.get(url, headers=headers).status_code == 404
        assert client.patch(url, json={"is_read": True}, headers=headers).status_code == 404
        assert theirs["id"] not in {n["id"] for n in listed(client, headers)["items"]}
    assert client.post("/api/v1/notifications/read-all", headers=SDR).json == {"updated": 1}
    assert client.get(url, headers=OTHER).json["is_read"] is False


def test_read_all_marks_only_the_callers_unread_ones(client, consumer):
    notify(consumer, times=3)
    notify(consumer, owner="sdr-2")
    assert client.post("/api/v1/notifications/read-all", headers=SDR).json == {"updated": 3}
    assert client.post("/api/v1/notifications/read-all", headers=SDR).json == {"updated": 0}
    assert client.get("/api/v1/notifications/unread-count", headers=OTHER).json == {"unread": 1}
    assert all(n["read_at"] for n in listed(client, SDR)["items"])


def test_the_list_is_newest_first_and_pages_with_a_cursor(client, consumer):
    notify(consumer, times=5)
    first = listed(client, SDR, "?limit=2")
    second = listed(client, SDR, f"?limit=2&cursor={first['next_cursor']}")
    third = listed(client, SDR, f"?limit=2&cursor={second['next_cursor']}")
    ids = [n["id"] for page in (first, second, third) for n in page["items"]]
    assert len(set(ids)) == 5 and third["next_cursor"] is None
    assert ids == sorted(ids, reverse=True)  # UUIDv7: newest first


def test_only_is_read_may_be_changed(client, consumer):
    notify(consumer)
    [notification] = listed(client, SDR)["items"]
    url = f"/api/v1/notifications/{notification['id']}"
    for body in ({"message": "hacked"}, {"is_read": True, "user_id": "sdr-2"}, {}):
        response = client.patch(url, json=body, headers=SDR)
        assert response.status_code == 422, body
    assert client.patch(url, json={"is_read": "maybe"}, headers=SDR).status_code == 422
    stale = client.patch(url, json={"is_read": True}, headers={**SDR, "If-Match": '"99"'})
    assert stale.status_code == 412
    assert client.get(url, headers=SDR).json["message"] == notification["message"]


def test_a_service_token_has_no_inbox_and_a_missing_token_is_refused(client):
    assert (
        client.get("/api/v1/notifications", headers=auth(SERVICE, "service:x")).status_code == 403
    )
    assert client.get("/api/v1/notifications").status_code == 401
    assert client.get("/api/v1/notifications/stream").status_code == 401


def test_unknown_ids_are_404_and_the_api_documents_itself(client):
    assert client.get("/api/v1/notifications/nope", headers=SDR).status_code == 404
    spec = client.get("/api/v1/openapi.json").json
    paths = {"/api/v1/notifications", "/api/v1/notifications/{notification_id}"}
    paths |= {"/api/v1/notifications/read-all", "/api/v1/notifications/unread-count"}
    assert paths | {"/api/v1/notifications/stream"} <= set(spec["paths"])
    stream = spec["paths"]["/api/v1/notifications/stream"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
