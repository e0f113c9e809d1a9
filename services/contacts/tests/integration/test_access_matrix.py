"""docs/access.md's matrix, cell by cell, against the contacts API."""

import re

import pytest

from shared.testing import access
from shared.testing.helpers import auth, unique
from shared.users import FakeUserDirectory

DOC = access.DOC
RESOURCES = ("companies", "contacts", "interactions")


def matrix_rows():
    return access.matrix_rows(RESOURCES)


BODIES = {
    "companies": lambda ctx: {"name": unique("co")},
    "contacts": lambda ctx: {"name": unique("name")},
    "interactions": lambda ctx: {"type": "note", "contact_id": ctx["contact"]},
}


@pytest.fixture
def backend():
    return "sqlite"  # the rules live in the service layer; PostgreSQL adds nothing here


@pytest.mark.parametrize("resource, action, role, allowed", list(matrix_rows()))
def test_the_access_matrix_holds(client, users: FakeUserDirectory, resource, action, role, allowed):
    me, someone = f"{role}-me", "account_manager-someone"
    users.user_ids.update({me, someone})
    mine, theirs = auth(role, me), auth("account_manager", someone)
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
    elif action in ("update own", "update other"):
        target = make(mine if action.endswith("own") else theirs)
        change = {"outcome": "x"} if resource == "interactions" else {"phone_number": "123"}
        response = client.patch(target, json=change, headers=mine)
    elif action in ("delete own", "delete other"):
        response = client.delete(make(mine if action.endswith("own") else theirs), headers=mine)
    elif action == "assign owner":
        response = client.post(url, json={**body, "owner_id": someone}, headers=mine)
    else:
        raise AssertionError(f"docs/access.md names an action the test does not know: {action}")
    if allowed:
        assert response.status_code in (200, 201, 204), response.json
    else:
        assert response.status_code == 403, response.json


def test_the_matrix_covers_every_contacts_resource_and_role():
    rows = list(matrix_rows())
    assert {p.values[0] for p in rows} == set(RESOURCES)
    assert len({p.values[2] for p in rows}) == 6
    assert re.search(r"\| users \| create \| yes \| no", DOC.read_text())
