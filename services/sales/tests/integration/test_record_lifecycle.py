from services.sales.tests.integration.helpers import (
    MARKETING,
    SDR,
    make_campaign,
    make_lead,
    make_opportunity,
    make_product,
    ok,
)


def test_a_campaign_with_leads_cannot_be_deleted_but_an_unused_one_can(client):
    used = make_campaign(client)
    make_lead(client, campaign_id=used["id"])
    assert client.delete(f"/api/v1/campaigns/{used['id']}", headers=MARKETING).status_code == 409
    unused = make_campaign(client)
    assert client.delete(f"/api/v1/campaigns/{unused['id']}", headers=MARKETING).status_code == 204
    assert client.get(f"/api/v1/campaigns/{unused['id']}", headers=SDR).status_code == 404


def test_the_opportunity_a_conversion_made_cannot_be_deleted(client):
    lead = make_lead(client)
    result = ok(client.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=SDR), 201)
    url = f"/api/v1/opportunities/{result['opportunity_id']}"
    assert client.delete(url, headers=SDR).status_code == 409
    standalone = make_opportunity(client)
    assert (
        client.delete(f"/api/v1/opportunities/{standalone['id']}", headers=SDR).status_code == 204
    )


def test_if_match_stops_a_lost_update_of_an_opportunity(client):
    opportunity = make_opportunity(client)
    url = f"/api/v1/opportunities/{opportunity['id']}"
    etag = client.get(url, headers=SDR).headers["ETag"]
    ok(client.patch(url, json={"name": "first editor"}, headers={**SDR, "If-Match": etag}))
    late = client.patch(url, json={"name": "second editor"}, headers={**SDR, "If-Match": etag})
    assert late.status_code == 412
    assert ok(client.get(url, headers=SDR))["name"] == "first editor"


def test_a_line_change_gives_the_opportunity_a_new_version(client):
    product = make_product(client)
    opportunity = make_opportunity(client)
    url = f"/api/v1/opportunities/{opportunity['id']}"
    before = client.get(url, headers=SDR).headers["ETag"]
    ok(client.post(f"{url}/products", json={"product_id": product["id"]}, headers=SDR), 201)
    assert client.get(url, headers=SDR).headers["ETag"] != before
    stale = client.post(
        f"{url}/products", json={"product_id": product["id"]}, headers={**SDR, "If-Match": before}
    )
    assert stale.status_code == 412


def test_a_conversion_retried_with_its_idempotency_key_answers_the_first_result(client, contacts):
    lead = make_lead(client)
    headers = {**SDR, "Idempotency-Key": "convert-once"}
    first = client.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=headers)
    again = client.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["contact_id"] == first.get_json()["contact_id"]
    assert contacts.calls.count("convert") == 1


def test_walking_the_leads_page_by_page_returns_each_once(client):
    made = {make_lead(client, name=f"L{n}")["id"] for n in range(23)}
    seen, cursor = [], None
    while True:
        query = "limit=5" + (f"&cursor={cursor}" if cursor else "")
        page = ok(client.get(f"/api/v1/leads?{query}", headers=SDR))
        seen += [lead["id"] for lead in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 23 and set(seen) == made
