"""docs/access.md's notifications rows, cell by cell: everyone sees and changes only their own."""

import pytest

from services.notifications.tests.conftest import lead_event
from shared.auth import SERVICE
from shared.testing.access import matrix_rows
from shared.testing.helpers import auth

RESOURCES = ("notifications",)
#: What "no" means here: someone else's notification is as unknown as a missing one.
REFUSED = 404


@pytest.fixture
def backend():
    return "sqlite"  # the rule lives in the service layer; PostgreSQL adds nothing here


@pytest.mark.parametrize("resource, action, role, allowed", list(matrix_rows(RESOURCES)))
def test_the_access_matrix_holds(client, consumer, resource, action, role, allowed):
    me, someone = f"{role}-me", "sdr-someone"
    owner = me if action.endswith("own") else someone
    consumer.handle(lead_event(owner, "mgr-x"))
    [notification] = client.get("/api/v1/notifications", headers=auth("sdr", owner)).json["items"]
    url = f"/api/v1/{resource}/{notification['id']}"
    if action.startswith("read"):
        response = client.get(url, headers=auth(role, me))
        listed = client.get("/api/v1/notifications", headers=auth(role, me))
        if role == SERVICE:
            assert listed.status_code == 403  # a service token has no inbox at all
        else:
            assert (notification["id"] in {n["id"] for n in listed.json["items"]}) == allowed
    elif action.startswith("update"):
        response = client.patch(url, json={"is_read": True}, headers=auth(role, me))
    else:
        raise AssertionError(f"docs/access.md names an action the test does not know: {action}")
    refused = 403 if role == SERVICE else REFUSED
    assert response.status_code == (200 if allowed else refused), response.json


def test_the_matrix_covers_every_role_and_action_for_notifications():
    rows = list(matrix_rows(RESOURCES))
    assert len({p.values[2] for p in rows}) == 7  # six roles and service tokens
    assert {p.values[1] for p in rows} == {"read own", "read other", "update own", "update other"}
