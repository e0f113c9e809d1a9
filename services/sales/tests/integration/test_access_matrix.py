"""docs/access.md's matrix, cell by cell, against the sales API."""

import pytest

from shared.testing import access
from shared.testing.helpers import auth, unique
from shared.users import FakeUserDirectory

RESOURCES = ("campaigns", "leads", "products", "opportunities", "reports")
ADMIN = auth("admin", "admin-root")
BODIES = {
    "campaigns": lambda: {"name": unique("campaign")},
    "leads": lambda: {"name": unique("lead")},
    "products": lambda: {"name": "p", "sku": unique("sku"), "price": "1.00"},
    "opportunities": lambda: {"name": unique("deal")},
}
CHANGES = {
    "campaigns": {"description": "x"},
    "leads": {"notes": "x"},
    "products": {"description": "x"},
    "opportunities": {"description": "x"},
}
OWNED = ("leads", "opportunities")


@pytest.fixture
def backend():
    return "sqlite"  # the rules live in the service layer; PostgreSQL adds nothing here


@pytest.mark.parametrize("resource, action, role, allowed", list(access.matrix_rows(RESOURCES)))
def test_the_access_matrix_holds(client, users: FakeUserDirectory, resource, action, role, allowed):
    me, someone = f"{role}-me", "sdr-someone"
    users.user_ids.update({me, someone, "admin-root"})
    mine = auth(role, me)
    url = f"/api/v1/{resource}"

    def make(owner: str) -> str:
        """A record made by an admin, owned by `owner` where the resource has owners."""
        body = BODIES[resource]()
        if resource in OWNED:
            body["owner_id"] = owner
        response = client.post(url, json=body, headers=ADMIN)
        assert response.status_code == 201, response.json
        return f"{url}/{response.json['id']}"

    if resource == "reports":
        responses = [
            client.get(f"{url}/{name}", headers=mine) for name in ("pipeline", "campaigns")
        ]
        assert {r.status_code for r in responses} == ({200} if allowed else {403})
        return
    owner = me if "own" in action.split() else someone
    target = None if action in ("create", "assign owner") else make(owner)
    if action == "read":
        response = client.get(target, headers=mine)
    elif action == "create":
        response = client.post(url, json=BODIES[resource](), headers=mine)
    elif action.startswith("update"):
        response = client.patch(target, json=CHANGES[resource], headers=mine)
    elif action.startswith("delete"):
        response = client.delete(target, headers=mine)
    elif action == "assign owner":
        response = client.post(url, json={**BODIES[resource](), "owner_id": someone}, headers=mine)
    elif action.startswith("convert"):
        response = client.post(f"{target}/convert", json={}, headers=mine)
    else:
        raise AssertionError(f"docs/access.md names an action the test does not know: {action}")
    if allowed:
        assert response.status_code in (200, 201, 204), response.json
    else:
        assert response.status_code == 403, response.json


def test_the_matrix_covers_every_sales_resource_and_role():
    rows = list(access.matrix_rows(RESOURCES))
    assert {p.values[0] for p in rows} == set(RESOURCES)
    assert len({p.values[2] for p in rows}) == 7  # six roles and service tokens
