"""docs/access.md's notifications rows, cell by cell: everyone sees and changes only their own."""

from pathlib import Path

import pytest

from services.notifications.tests.conftest import lead_event
from shared.testing.helpers import auth

DOC = Path(__file__).resolve().parents[4] / "docs/access.md"
RESOURCE = "notifications"
#: What "no" means here: someone else's notification is as unknown as a missing one.
REFUSED = 404


def matrix_rows():
    text = DOC.read_text()
    table = text.split("<!-- access-matrix:start -->")[1].split("<!-- access-matrix:end -->")[0]
    lines = [line for line in table.strip().splitlines() if line.startswith("|")]
    roles = [cell.strip() for cell in lines[0].strip("|").split("|")][2:]
    for line in lines[2:]:
        resource, action, *cells = [cell.strip() for cell in line.strip("|").split("|")]
        if resource == RESOURCE:
            for role, cell in zip(roles, cells, strict=True):
                yield pytest.param(
                    action, role, cell == "yes", id=f"{action.replace(' ', '_')}-{role}"
                )


@pytest.fixture
def backend():
    return "sqlite"  # the rule lives in the service layer; PostgreSQL adds nothing here


@pytest.mark.parametrize("action, role, allowed", list(matrix_rows()))
def test_the_access_matrix_holds(client, consumer, action, role, allowed):
    me, someone = f"{role}-me", "sdr-someone"
    owner = me if action.endswith("own") else someone
    consumer.handle(lead_event(owner, "mgr-x"))
    [notification] = client.get("/api/v1/notifications", headers=auth("sdr", owner)).json["items"]
    url = f"/api/v1/notifications/{notification['id']}"
    if action.startswith("read"):
        response = client.get(url, headers=auth(role, me))
        listed = client.get("/api/v1/notifications", headers=auth(role, me)).json["items"]
        assert (notification["id"] in {n["id"] for n in listed}) == allowed
    elif action.startswith("update"):
        response = client.patch(url, json={"is_read": True}, headers=auth(role, me))
    else:
        raise AssertionError(f"docs/access.md names an action the test does not know: {action}")
    assert response.status_code == (200 if allowed else REFUSED), response.json


def test_the_matrix_covers_every_role_and_action_for_notifications():
    rows = list(matrix_rows())
    assert len({p.values[1] for p in rows}) == 6
    assert {p.values[0] for p in rows} == {"read own", "read other", "update own", "update other"}
