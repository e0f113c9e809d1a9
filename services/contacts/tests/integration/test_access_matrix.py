"""docs/access.md's matrix, cell by cell, against the contacts API."""

import io
import re

import pytest

from shared.auth import ROLES, SERVICE
from shared.testing import access
from shared.testing.helpers import auth, unique
from shared.users import FakeUserDirectory

DOC = access.DOC
RESOURCES = ("companies", "contacts", "interactions", "tags", "taggings", "attachments")
ADMIN = auth("admin", "admin-tagger")


def matrix_rows():
    return access.matrix_rows(RESOURCES)


BODIES = {
    "companies": lambda ctx: {"name": unique("co")},
    "contacts": lambda ctx: {"name": unique("name")},
    "interactions": lambda ctx: {"type": "note", "contact_id": ctx["contact"]},
    "tags": lambda ctx: {"name": unique("tag")},
}


@pytest.fixture
def backend():
    return "sqlite"  # the rules live in the service layer; PostgreSQL adds nothing here


@pytest.mark.parametrize("resource, action, role, allowed", list(matrix_rows()))
def test_the_access_matrix_holds(client, users: FakeUserDirectory, resource, action, role, allowed):
    me, someone = f"{role}-me", "account_manager-someone"
    users.user_ids.update({me, someone})
    mine, theirs = auth(role, me), auth("account_manager", someone)
    # A service owns nothing: its "own" rows are tried on somebody else's records.
    own = theirs if role == SERVICE else mine
    if resource in ("taggings", "attachments"):
        attempt = tagging_attempt if resource == "taggings" else attachment_attempt
        assert_outcome(attempt(client, action, mine, theirs, own), allowed)
        return
    contact = client.post("/api/v1/contacts", json={"name": "Base"}, headers=theirs).json
    body = BODIES[resource]({"contact": contact["id"]})
    url = f"/api/v1/{resource}"

    def make(headers):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 201, response.json
        return f"{url}/{response.json['id']}"

    if action == "read":
        response = client.get(make(theirs), headers=mine)
    elif action == "create":
        response = client.post(url, json=body, headers=mine)
    elif action == "update":
        response = client.patch(make(theirs), json={"name": unique("renamed")}, headers=mine)
    elif action == "delete":
        response = client.delete(make(theirs), headers=mine)
    elif action in ("update own", "update other"):
        target = make(own if action.endswith("own") else theirs)
        change = {"outcome": "x"} if resource == "interactions" else {"phone_number": "123"}
        response = client.patch(target, json=change, headers=mine)
    elif action in ("delete own", "delete other"):
        response = client.delete(make(own if action.endswith("own") else theirs), headers=mine)
    elif action == "assign owner":
        response = client.post(url, json={**body, "owner_id": someone}, headers=mine)
    else:
        raise AssertionError(f"docs/access.md names an action the test does not know: {action}")
    assert_outcome(response, allowed)


def assert_outcome(response, allowed: bool) -> None:
    if allowed:
        assert response.status_code in (200, 201, 204), response.json
    else:
        assert response.status_code == 403, response.json


def tagging_attempt(client, action: str, mine: dict, theirs: dict, own: dict):
    """Tag, untag or read the tags of a contact the caller owns ("own") or not ("other")."""
    owner = own if action.endswith("own") else theirs
    contact = client.post("/api/v1/contacts", json={"name": "Tagged"}, headers=owner).json
    tag = client.post("/api/v1/tags", json={"name": unique("tag")}, headers=theirs).json
    body = {"tag_id": tag["id"], "record_type": "contact", "record_id": contact["id"]}
    if action.startswith("create"):
        return client.post("/api/v1/taggings", json=body, headers=mine)
    tagged = client.post("/api/v1/taggings", json=body, headers=ADMIN)
    assert tagged.status_code == 201, tagged.json
    if action == "read":
        query = f"record_type=contact&record_id={contact['id']}"
        response = client.get(f"/api/v1/taggings?{query}", headers=mine)
        assert [t["id"] for t in response.json["items"]] == [tagged.json["id"]]
        return response
    if action.startswith("delete"):
        return client.delete(f"/api/v1/taggings/{tagged.json['id']}", headers=mine)
    raise AssertionError(f"docs/access.md names a taggings action the test does not know: {action}")


def attach(client, record_type: str, record_id: str, headers: dict):
    form = {"record_type": record_type, "record_id": record_id}
    form["file"] = (io.BytesIO(b"minutes of the meeting\n"), "minutes.txt")
    return client.post(
        "/api/v1/attachments", data=form, content_type="multipart/form-data", headers=headers
    )


def attachment_attempt(client, action: str, mine: dict, theirs: dict, own: dict):
    """Attach to, remove from or read the files of a contact the caller owns or not."""
    owner = own if action.endswith("own") else theirs
    contact = client.post("/api/v1/contacts", json={"name": "Filed"}, headers=owner).json
    if action.startswith("create"):
        return attach(client, "contact", contact["id"], mine)
    attached = attach(client, "contact", contact["id"], ADMIN)
    assert attached.status_code == 201, attached.json
    url = f"/api/v1/attachments/{attached.json['id']}"
    if action == "read":
        query = f"record_type=contact&record_id={contact['id']}"
        listed = client.get(f"/api/v1/attachments?{query}", headers=mine)
        assert [a["id"] for a in listed.json["items"]] == [attached.json["id"]]
        assert client.get(url, headers=mine).status_code == 200
        return client.get(f"{url}/content", headers=mine)
    if action.startswith("delete"):
        return client.delete(url, headers=mine)
    raise AssertionError(
        f"docs/access.md names an attachments action the test does not know: {action}"
    )


@pytest.mark.parametrize("role", ROLES)
def test_records_of_other_services_take_attachments_from_every_role(client, records, role):
    """Contacts does not know who owns an opportunity or an invoice: anyone attaches to them."""
    mine = auth(role, f"{role}-me")
    for record_type in ("opportunity", "invoice"):
        record_id = unique(record_type)
        records.records.add((record_type, record_id))
        attached = attach(client, record_type, record_id, mine)
        assert attached.status_code == 201, attached.json
        removed = client.delete(f"/api/v1/attachments/{attached.json['id']}", headers=mine)
        assert removed.status_code == 204


@pytest.mark.parametrize("role", ROLES)
def test_records_of_other_services_are_tagged_by_every_role(client, records, role):
    """Contacts does not know who owns a lead or a case: any authenticated user tags them."""
    mine = auth(role, f"{role}-me")
    tag = client.post("/api/v1/tags", json={"name": unique("tag")}, headers=mine).json
    for record_type in ("lead", "case"):
        record_id = unique(record_type)
        records.records.add((record_type, record_id))
        body = {"tag_id": tag["id"], "record_type": record_type, "record_id": record_id}
        tagged = client.post("/api/v1/taggings", json=body, headers=mine)
        assert tagged.status_code == 201, tagged.json
        untagged = client.delete(f"/api/v1/taggings/{tagged.json['id']}", headers=mine)
        assert untagged.status_code == 204


def test_the_matrix_covers_every_contacts_resource_and_role():
    rows = list(matrix_rows())
    assert {p.values[0] for p in rows} == set(RESOURCES)
    assert len({p.values[2] for p in rows}) == 7  # six roles and service tokens
    assert re.search(r"\| users \| create \| yes \| no", DOC.read_text())
