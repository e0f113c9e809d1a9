"""Cases over HTTP: numbering, fields, validation, workflow, ownership, ETags, idempotency."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from services.support.app import create_app
from services.support.ports.contacts import FakeContacts
from services.support.tests.integration.helpers import (
    ADMIN,
    AGENT,
    MANAGER,
    OTHER_AGENT,
    events,
    known_contact,
    make_case,
    move,
    ok,
)
from shared.config import Settings
from shared.testing.helpers import unique
from shared.users import FakeUserDirectory

MODEL_FIELDS = {
    "id", "case_number", "status", "priority", "type", "owner_id", "contact_id",
    "description", "created_at", "updated_at",
}  # fmt: skip


def test_an_agent_opens_a_numbered_case_they_own_with_every_model_field(client, contacts):
    case = make_case(client, contacts, priority="high", type="incident")
    assert set(case) >= MODEL_FIELDS
    assert case["case_number"].startswith("CS-") and len(case["case_number"]) == 9
    assert (case["status"], case["owner_id"], case["priority"]) == ("new", "agent-1", "high")
    assert case["first_response_due_at"] < case["resolution_due_at"]
    assert case["escalations"] == [] and case["first_responded_at"] is None


def test_case_numbers_follow_each_other(client, contacts):
    first, second = make_case(client, contacts), make_case(client, contacts)
    assert int(second["case_number"][3:]) == int(first["case_number"][3:]) + 1


@pytest.mark.parametrize("backend", ["postgresql"])
def test_fifty_cases_created_at_once_get_fifty_distinct_numbers(support_db):
    contacts = FakeContacts()
    settings = Settings(service="support", env="test", database_url=support_db.url)
    app = create_app(settings, database=support_db, users=FakeUserDirectory(), contacts=contacts)
    contact_id = known_contact(contacts)

    def create(_i):
        response = app.test_client().post(
            "/api/v1/cases", json={"contact_id": contact_id}, headers=AGENT
        )
        assert response.status_code == 201, response.json
        return response.json["case_number"]

    with ThreadPoolExecutor(max_workers=10) as pool:
        numbers = list(pool.map(create, range(50)))
    assert len(set(numbers)) == 50


@pytest.mark.parametrize(
    "field, value",
    [("status", "open"), ("priority", "critical"), ("type", "complaint"), ("case_number", "X")],
)
def test_a_bad_value_is_a_422_that_creates_nothing(client, contacts, support_db, field, value):
    body = {"contact_id": known_contact(contacts), field: value}
    response = client.post("/api/v1/cases", json=body, headers=AGENT)
    assert response.status_code == 422 and field in response.json["errors"]
    assert events(support_db, event_type="case.opened") == []


def test_an_unknown_contact_is_a_422(client, contacts, support_db):
    response = client.post("/api/v1/cases", json={"contact_id": unique("nobody")}, headers=AGENT)
    assert response.status_code == 422 and "contact_id" in response.json["errors"]
    assert events(support_db) == []


def test_a_contact_the_replica_knows_needs_no_call_to_contacts(client, contacts, support_db):
    from services.support.domain.references import remember_contact

    contact_id = unique("replicated")
    with support_db.transaction() as session:
        remember_contact(session, {"id": contact_id, "name": "Grace"})
    ok(client.post("/api/v1/cases", json={"contact_id": contact_id}, headers=AGENT), 201)
    assert contact_id not in contacts.calls


@pytest.mark.parametrize(
    "path, illegal",
    [
        ((), "pending"),
        ((), "resolved"),
        (("open",), "closed"),
        (("open", "pending"), "resolved"),
        (("open", "resolved", "closed"), "open"),
    ],
)
def test_an_illegal_move_is_a_409_naming_the_allowed_ones(client, contacts, path, illegal):
    case = make_case(client, contacts)
    for status in path:
        ok(move(client, case, status))
    before = ok(client.get(f"/api/v1/cases/{case['id']}", headers=AGENT))
    response = move(client, case, illegal)
    assert response.status_code == 409, response.json
    assert illegal not in response.json["allowed"]
    assert ok(client.get(f"/api/v1/cases/{case['id']}", headers=AGENT)) == before


def test_a_case_walks_the_workflow_and_announces_each_move(client, contacts, support_db, clock):
    case = make_case(client, contacts)
    for status in ("open", "pending", "open", "resolved", "open", "resolved"):
        clock.advance(minutes=5)
        assert ok(move(client, case, status))["status"] == status
    clock.advance(minutes=5)
    closed = ok(move(client, case, "closed"))
    assert closed["closed_at"] and closed["resolved_at"]
    kinds = [e["event_type"] for e in events(support_db, subject=case["id"])]
    assert kinds[0] == "case.opened" and kinds.count("case.status_changed") == 7
    assert kinds.count("case.resolved") == 2 and kinds[-1] == "case.closed"
    changed = events(support_db, subject=case["id"], event_type="case.closed")[0]
    assert (changed["from_status"], changed["to_status"], changed["actor_id"]) == (
        "resolved",
        "closed",
        "agent-1",
    )


def test_a_manager_reassigns_a_case_and_case_assigned_says_who_from(
    client, contacts, users, support_db
):
    users.user_ids.update({"agent-2"})
    case = make_case(client, contacts)
    url = f"/api/v1/cases/{case['id']}"
    assert ok(client.patch(url, json={"owner_id": "agent-2"}, headers=MANAGER))["owner_id"] == (
        "agent-2"
    )
    (assigned,) = events(support_db, subject=case["id"], event_type="case.assigned")
    assert (assigned["previous_owner_id"], assigned["assigned_by"]) == ("agent-1", "sm-1")
    assert assigned["case_number"] == case["case_number"]


def test_an_agent_may_not_reassign_or_touch_anothers_case(client, contacts, users):
    users.user_ids.update({"agent-2"})
    case = make_case(client, contacts)
    url = f"/api/v1/cases/{case['id']}"
    assert client.patch(url, json={"owner_id": "agent-2"}, headers=AGENT).status_code == 403
    assert move(client, case, "open", headers=OTHER_AGENT).status_code == 403
    assert client.get(url, headers=OTHER_AGENT).status_code == 200


def test_a_stale_if_match_is_a_412_and_changes_nothing(client, contacts):
    case = make_case(client, contacts)
    url = f"/api/v1/cases/{case['id']}"
    etag = client.get(url, headers=AGENT).headers["ETag"]
    ok(client.patch(url, json={"description": "first edit"}, headers={**AGENT, "If-Match": etag}))
    stale = client.patch(url, json={"description": "lost"}, headers={**AGENT, "If-Match": etag})
    assert stale.status_code == 412
    assert ok(client.get(url, headers=AGENT))["description"] == "first edit"


def test_a_repeated_idempotency_key_opens_one_case(client, contacts, support_db):
    body = {"contact_id": known_contact(contacts)}
    headers = {**AGENT, "Idempotency-Key": unique("key")}
    first = ok(client.post("/api/v1/cases", json=body, headers=headers), 201)
    again = ok(client.post("/api/v1/cases", json=body, headers=headers), 201)
    assert first == again
    assert len(events(support_db, event_type="case.opened")) == 1


def test_cases_filter_and_search_in_cursor_pages(client, contacts):
    marker = unique("forklift")
    made = [
        make_case(client, contacts, description=f"{marker} {i}", priority="urgent")
        for i in range(3)
    ]
    make_case(client, contacts, description=marker, priority="low")
    page = ok(client.get(f"/api/v1/cases?q={marker}&priority=urgent&limit=2", headers=MANAGER))
    rest = ok(
        client.get(
            f"/api/v1/cases?q={marker}&priority=urgent&limit=2&cursor={page['next_cursor']}",
            headers=MANAGER,
        )
    )
    ids = [c["id"] for c in page["items"] + rest["items"]]
    assert sorted(ids) == sorted(c["id"] for c in made) and rest["next_cursor"] is None
    by_number = ok(client.get(f"/api/v1/cases?q={made[0]['case_number']}", headers=ADMIN))
    assert [c["id"] for c in by_number["items"]] == [made[0]["id"]]
    assert client.get("/api/v1/cases?status=nope", headers=ADMIN).status_code == 422
