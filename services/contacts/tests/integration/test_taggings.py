"""Taggings: a tag on an existing record of any service, once, gone when the record goes."""

import json

from sqlalchemy import func, select

from services.contacts.handlers import consumers
from services.contacts.models import OutboxEvent, Tagging
from shared.config import Settings
from shared.consumer import ACK
from shared.ids import new_id
from shared.testing.events import event_body
from shared.testing.helpers import auth, unique

AM = auth("account_manager", "am-taggings")


def made(response) -> dict:
    assert response.status_code == 201, response.json
    return response.json


def new_tag(client) -> str:
    return made(client.post("/api/v1/tags", json={"name": unique("tag")}, headers=AM))["id"]


def tag(client, tag_id: str, record_type: str, record_id: str):
    body = {"tag_id": tag_id, "record_type": record_type, "record_id": record_id}
    return client.post("/api/v1/taggings", json=body, headers=AM)


def taggings(database) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(Tagging))


def test_tagging_an_opportunity_sales_does_not_know_is_a_422(client, contacts_db, records):
    response = tag(client, new_tag(client), "opportunity", unique("no-opp"))
    assert response.status_code == 422 and "record_id" in response.json["errors"]
    assert taggings(contacts_db) == 0


def test_an_opportunity_created_a_moment_ago_is_taggable_before_the_replica_knows_it(
    client, records
):
    opportunity_id = unique("opp")
    records.records.add(("opportunity", opportunity_id))
    tagging = made(tag(client, tag_id := new_tag(client), "opportunity", opportunity_id))
    assert (tagging["tag_id"], tagging["record_id"]) == (tag_id, opportunity_id)
    assert records.calls == [("opportunity", opportunity_id)]


def test_a_record_in_the_replica_is_tagged_without_asking_its_owner(client, contacts_db, records):
    consumer = consumers(Settings(service="contacts", database_url=contacts_db.url), contacts_db)[0]
    invoice_id = unique("inv")
    body = event_body(
        event_type="invoice.created",
        source="/crm/billing",
        subject=invoice_id,
        data={"id": invoice_id},
        event_id=new_id(),
    )
    assert consumer.handle(body).kind == ACK
    made(tag(client, new_tag(client), "invoice", invoice_id))
    assert records.calls == []


def test_the_owner_down_is_a_503_and_nothing_is_tagged(client, contacts_db, records):
    records.down = True
    assert tag(client, new_tag(client), "lead", unique("lead")).status_code == 503
    assert taggings(contacts_db) == 0


def test_tagging_twice_returns_the_same_tagging_and_stores_one(client, contacts_db):
    contact = made(client.post("/api/v1/contacts", json={"name": "Ada"}, headers=AM))
    tag_id = new_tag(client)
    first = made(tag(client, tag_id, "contact", contact["id"]))
    again = tag(client, tag_id, "contact", contact["id"])
    assert again.status_code == 200 and again.json == first
    assert taggings(contacts_db) == 1
    with contacts_db.sessions() as session:
        tagged = session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == "record.tagged")
        ).all()
    assert len(tagged) == 1
    data = json.loads(tagged[0].body)["data"]
    assert (data["record_id"], data["actor_id"]) == (contact["id"], "am-taggings")
    assert data["tag_name"].startswith("tag")


def test_bad_tagging_input_is_a_422_that_changes_nothing(client, contacts_db, records):
    tag_id = new_tag(client)
    contact = made(client.post("/api/v1/contacts", json={"name": "Ada"}, headers=AM))
    good = {"tag_id": tag_id, "record_type": "contact", "record_id": contact["id"]}
    for body in (
        {**good, "record_type": "spaceship"},
        {**good, "record_id": unique("no-contact")},
        {**good, "tag_id": unique("no-tag")},
        {**good, "colour": "red"},
        {**good, "id": "mine"},
        {"tag_id": tag_id},
    ):
        response = client.post("/api/v1/taggings", json=body, headers=AM)
        assert response.status_code == 422, body
    assert taggings(contacts_db) == 0 and records.calls == []


def test_taggings_are_listed_by_record_and_by_tag_and_type(client, records):
    tag_id, other_tag = new_tag(client), new_tag(client)
    contact = made(client.post("/api/v1/contacts", json={"name": "Ada"}, headers=AM))
    opportunities = [unique("opp") for _ in range(3)]
    records.records.update(("opportunity", o) for o in opportunities)
    for opportunity_id in opportunities:
        made(tag(client, tag_id, "opportunity", opportunity_id))
    made(tag(client, tag_id, "contact", contact["id"]))
    made(tag(client, other_tag, "contact", contact["id"]))

    by_record = client.get(
        f"/api/v1/taggings?record_type=contact&record_id={contact['id']}", headers=AM
    ).json["items"]
    assert {t["tag_id"] for t in by_record} == {tag_id, other_tag}
    url = f"/api/v1/taggings?tag_id={tag_id}&record_type=opportunity&limit=2&sort=created_at"
    first = client.get(url, headers=AM).json
    second = client.get(f"{url}&cursor={first['next_cursor']}", headers=AM).json
    found = [t["record_id"] for t in first["items"] + second["items"]]
    assert found == opportunities and second["next_cursor"] is None


def test_untagging_removes_the_tagging_and_tells_subscribers(client, contacts_db):
    contact = made(client.post("/api/v1/contacts", json={"name": "Ada"}, headers=AM))
    tagging = made(tag(client, new_tag(client), "contact", contact["id"]))
    url = f"/api/v1/taggings/{tagging['id']}"
    assert client.get(url, headers=AM).json == tagging
    assert client.delete(url, headers=AM).status_code == 204
    assert client.get(url, headers=AM).status_code == 404
    with contacts_db.sessions() as session:
        types = session.scalars(
            select(OutboxEvent.event_type).where(OutboxEvent.subject == tagging["id"])
        ).all()
    assert types == ["record.tagged", "record.untagged"]


def test_deleting_a_contact_takes_the_tags_off_it_and_its_interactions(client, contacts_db):
    tag_id = new_tag(client)
    contact = made(client.post("/api/v1/contacts", json={"name": "Ada"}, headers=AM))
    other = made(client.post("/api/v1/contacts", json={"name": "Grace"}, headers=AM))
    body = {"type": "note", "contact_id": contact["id"]}
    interaction = made(client.post("/api/v1/interactions", json=body, headers=AM))
    made(tag(client, tag_id, "contact", contact["id"]))
    made(tag(client, tag_id, "interaction", interaction["id"]))
    kept = made(tag(client, tag_id, "contact", other["id"]))
    assert client.delete(f"/api/v1/contacts/{contact['id']}", headers=AM).status_code == 204
    left = client.get(f"/api/v1/taggings?tag_id={tag_id}", headers=AM).json["items"]
    assert [t["id"] for t in left] == [kept["id"]]
