"""Tags: names unique ignoring case, renamed and deleted by managers, counted and searched."""

import json

from sqlalchemy import func, select

from services.contacts.models import OutboxEvent, Tag, Tagging
from shared.testing.helpers import auth, unique

AM = auth("account_manager", "am-tags")
MANAGER = auth("sales_manager", "sm-tags")


def tag(client, name: str | None = None) -> dict:
    response = client.post("/api/v1/tags", json={"name": name or unique("tag")}, headers=AM)
    assert response.status_code == 201, response.json
    return response.json


def count(database, model) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_tag_name_that_differs_only_in_case_is_a_409(client, contacts_db):
    name = unique("Vip")
    first = tag(client, name)
    for other in (name.upper(), name.lower(), f"  {name.swapcase()} "):
        response = client.post("/api/v1/tags", json={"name": other}, headers=AM)
        assert response.status_code == 409, response.json
    assert count(contacts_db, Tag) == 1
    renamed = tag(client)
    response = client.patch(
        f"/api/v1/tags/{renamed['id']}", json={"name": name.upper()}, headers=MANAGER
    )
    assert response.status_code == 409
    assert client.get(f"/api/v1/tags/{first['id']}", headers=AM).json["name"] == name


def test_a_new_tag_is_trimmed_counted_and_readable_by_anyone(client):
    name = unique("Key account")
    made = tag(client, f"  {name}  ")
    assert made["name"] == name and made["usage_count"] == 0 and made["version"] == 1
    read = client.get(f"/api/v1/tags/{made['id']}", headers=auth("support_agent", "sa-1"))
    assert read.status_code == 200 and read.json["name"] == name


def test_bad_tag_input_is_a_422_that_creates_nothing(client, contacts_db):
    for body in (
        {"name": "x" * 101},
        {"name": "   "},
        {},
        {"name": "ok", "colour": "red"},
        {"name": "ok", "usage_count": 3},
    ):
        response = client.post("/api/v1/tags", json=body, headers=AM)
        assert response.status_code == 422, body
    assert count(contacts_db, Tag) == 0


def test_a_manager_renames_a_tag_and_subscribers_hear_of_it(client, contacts_db):
    made = tag(client)
    url, new_name = f"/api/v1/tags/{made['id']}", unique("Renamed")
    assert client.patch(url, json={"name": new_name}, headers=AM).status_code == 403
    response = client.patch(url, json={"name": new_name}, headers=MANAGER)
    assert response.status_code == 200 and response.json["name"] == new_name
    with contacts_db.sessions() as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.subject == made["id"])).all()
        types = [row.event_type for row in rows]
        updated = json.loads(rows[-1].body)["data"]
    assert types == ["tag.created", "tag.updated"]
    assert updated["changed"] == ["name"] and updated["actor_id"] == "sm-tags"


def test_deleting_a_tag_takes_it_off_every_record(client, contacts_db):
    made, kept = tag(client), tag(client)
    contact = client.post("/api/v1/contacts", json={"name": "Ada"}, headers=AM).json
    for tag_id in (made["id"], kept["id"]):
        body = {"tag_id": tag_id, "record_type": "contact", "record_id": contact["id"]}
        assert client.post("/api/v1/taggings", json=body, headers=AM).status_code == 201
    assert client.get(f"/api/v1/tags/{made['id']}", headers=AM).json["usage_count"] == 1
    assert client.delete(f"/api/v1/tags/{made['id']}", headers=AM).status_code == 403
    assert client.delete(f"/api/v1/tags/{made['id']}", headers=MANAGER).status_code == 204
    assert client.get(f"/api/v1/tags/{made['id']}", headers=AM).status_code == 404
    listed = client.get(
        f"/api/v1/taggings?record_type=contact&record_id={contact['id']}", headers=AM
    ).json["items"]
    assert [t["tag_id"] for t in listed] == [kept["id"]]
    assert count(contacts_db, Tagging) == 1


def test_tags_are_searched_and_paged_with_their_usage_counts(client):
    marker = unique("zz")
    made = [tag(client, f"{marker}-{n}") for n in range(3)]
    contact = client.post("/api/v1/contacts", json={"name": "Ada"}, headers=AM).json
    body = {"tag_id": made[0]["id"], "record_type": "contact", "record_id": contact["id"]}
    assert client.post("/api/v1/taggings", json=body, headers=AM).status_code == 201
    first = client.get(f"/api/v1/tags?q={marker.upper()}&limit=2&sort=name", headers=AM).json
    second = client.get(
        f"/api/v1/tags?q={marker}&limit=2&sort=name&cursor={first['next_cursor']}", headers=AM
    ).json
    names = [t["name"] for t in first["items"] + second["items"]]
    assert names == [f"{marker}-{n}" for n in range(3)] and second["next_cursor"] is None
    assert [t["usage_count"] for t in first["items"] + second["items"]] == [1, 0, 0]
