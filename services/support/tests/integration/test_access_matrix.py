"""docs/access.md's matrix, cell by cell, against the support API."""

import pytest

from services.support.tests.integration.helpers import known_contact
from shared.testing import access
from shared.testing.helpers import auth

ADMIN = auth("admin", "admin-root")


@pytest.fixture
def backend():
    return "sqlite"  # the rules live in the service layer; PostgreSQL adds nothing here


@pytest.mark.parametrize("resource, action, role, allowed", list(access.matrix_rows(("cases",))))
def test_the_access_matrix_holds_for_cases(
    client, users, contacts, resource, action, role, allowed
):
    me, someone = f"{role}-me", "agent-someone"
    users.user_ids.update({me, someone, "admin-root"})
    mine = auth(role, me)
    body = {"contact_id": known_contact(contacts)}
    if action in ("create", "assign owner"):
        owner = {"owner_id": someone} if action == "assign owner" else {}
        response = client.post("/api/v1/cases", json={**body, **owner}, headers=mine)
    else:
        owner = me if action.endswith("own") else someone
        made = client.post("/api/v1/cases", json={**body, "owner_id": owner}, headers=ADMIN)
        assert made.status_code == 201, made.json
        url = f"/api/v1/cases/{made.json['id']}"
        if action == "read":
            response = client.get(url, headers=mine)
        elif action.startswith("update"):
            response = client.patch(url, json={"status": "open"}, headers=mine)
        else:
            raise AssertionError(f"docs/access.md names an action the test does not know: {action}")
    if allowed:
        assert response.status_code in (200, 201), response.json
    else:
        assert response.status_code == 403, response.json


@pytest.mark.parametrize("resource, action, role, allowed", list(access.matrix_rows(("reports",))))
def test_everyone_allowed_reads_the_cases_report(client, resource, action, role, allowed):
    response = client.get("/api/v1/reports/cases", headers=auth(role))
    assert response.status_code == (200 if allowed else 403)


def test_the_matrix_covers_cases_for_every_role():
    rows = list(access.matrix_rows(("cases",)))
    assert {p.values[1] for p in rows} == {
        "read",
        "create",
        "update own",
        "update other",
        "assign owner",
    }
    assert len({p.values[2] for p in rows}) == 7  # six roles and service tokens
