"""A team tags customers and deals through the gateway, across the contacts and sales services."""

import pytest

from shared.testing.helpers import eventually, unique

pytestmark = pytest.mark.e2e


def created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def test_an_account_manager_tags_a_new_contact_and_deal_finds_them_by_tag_and_untags(system, admin):
    _, rep = system.new_user(admin, "account_manager")
    tag = created(system.api("POST", "/tags", rep, json={"name": unique("Hot")}))
    contact = created(system.api("POST", "/contacts", rep, json={"name": unique("Ada")}))
    deal = created(system.api("POST", "/opportunities", rep, json={"name": unique("Deal")}))

    missing = {"tag_id": tag["id"], "record_type": "opportunity", "record_id": unique("nope")}
    assert system.api("POST", "/taggings", rep, json=missing).status_code == 422
    # Created a moment ago: contacts asks sales if its replica has not heard of the deal yet.
    on_deal = {"tag_id": tag["id"], "record_type": "opportunity", "record_id": deal["id"]}
    deal_tagging = created(system.api("POST", "/taggings", rep, json=on_deal))
    on_contact = {"tag_id": tag["id"], "record_type": "contact", "record_id": contact["id"]}
    contact_tagging = created(system.api("POST", "/taggings", rep, json=on_contact))
    again = system.api("POST", "/taggings", rep, json=on_contact)
    assert again.status_code == 200 and again.json()["id"] == contact_tagging["id"]

    query = f"/taggings?record_type=contact&record_id={contact['id']}"
    by_record = system.api("GET", query, rep).json()["items"]
    assert [(t["tag_id"], t["tag_name"]) for t in by_record] == [(tag["id"], tag["name"])]
    deals = system.api("GET", f"/taggings?tag_id={tag['id']}&record_type=opportunity", rep)
    assert [t["record_id"] for t in deals.json()["items"]] == [deal["id"]]
    assert system.api("GET", f"/tags/{tag['id']}", rep).json()["usage_count"] == 2

    url = f"/taggings/{contact_tagging['id']}"
    assert system.api("DELETE", url, rep).status_code == 204
    assert system.api("GET", query, rep).json()["items"] == []

    # Deleted in sales: the contacts worker hears opportunity.deleted and drops the tagging.
    assert system.api("DELETE", f"/opportunities/{deal['id']}", rep).status_code == 204
    eventually(
        lambda: system.api("GET", f"/taggings/{deal_tagging['id']}", rep).status_code == 404,
        timeout=60,
        interval=0.5,
    )
