"""Cursor pagination: every row exactly once, and deep pages cost what the first one costs."""

import pytest
from sqlalchemy import event, select, text

from services.contacts.models import Contact
from shared.pagination import paginate
from shared.testing.helpers import auth


def seed_contacts(contacts_db, n, owner="owner-p"):
    with contacts_db.transaction() as session:
        for i in range(n):
            session.add(Contact(name=f"Name{i % 7}", owner_id=owner))


def walk(client, headers, query):
    seen, cursor, pages = [], None, 0
    while True:
        url = f"/api/v1/contacts?{query}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.json
        seen += [c["id"] for c in response.json["items"]]
        pages += 1
        cursor = response.json["next_cursor"]
        if cursor is None:
            return seen, pages


@pytest.mark.parametrize("sort", ["-created_at", "created_at", "name", "-name", "-updated_at"])
def test_120_contacts_walked_50_at_a_time_come_back_exactly_once(client, contacts_db, sort):
    seed_contacts(contacts_db, 120)
    seen, pages = walk(client, auth("sdr"), f"limit=50&sort={sort}")
    assert len(seen) == 120 and len(set(seen)) == 120
    assert pages == 3


def test_limit_is_bounded_and_bad_cursors_are_422(client):
    headers = auth("sdr")
    assert client.get("/api/v1/contacts?limit=201", headers=headers).status_code == 422
    assert client.get("/api/v1/contacts?limit=0", headers=headers).status_code == 422
    assert client.get("/api/v1/contacts?cursor=garbage!", headers=headers).status_code == 422
    assert client.get("/api/v1/contacts?sort=password", headers=headers).status_code == 422


def test_a_cursor_from_another_sort_order_is_refused(client, contacts_db):
    seed_contacts(contacts_db, 3)
    headers = auth("sdr")
    cursor = client.get("/api/v1/contacts?limit=1&sort=name", headers=headers).json["next_cursor"]
    response = client.get(f"/api/v1/contacts?limit=1&cursor={cursor}", headers=headers)
    assert response.status_code == 422 and "cursor" in response.json["errors"]


def _captured_sql(contacts_db, cursor):
    statements = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    event.listen(contacts_db.engine, "before_cursor_execute", capture)
    try:
        with contacts_db.sessions() as session:
            page = paginate(
                session,
                select(Contact),
                model=Contact,
                sort="-created_at",
                sortable=("created_at",),
                limit=50,
                cursor=cursor,
            )
    finally:
        event.remove(contacts_db.engine, "before_cursor_execute", capture)
    return page, statements[-1]


def _plan_shape(contacts_db, statement, parameters):
    with contacts_db.engine.connect() as connection:
        raw = connection.connection.dbapi_connection.cursor()
        raw.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        plan = raw.fetchone()[0][0]["Plan"]

    def nodes(node):
        yield node["Node Type"], node.get("Index Name")
        for child in node.get("Plans", []):
            yield from nodes(child)

    return list(nodes(plan))


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_deep_page_uses_the_same_index_plan_as_the_first(contacts_db):
    seed_contacts(contacts_db, 3000)
    with contacts_db.engine.begin() as connection:
        connection.execute(text("ANALYZE contacts"))
    first, (first_sql, first_params) = _captured_sql(contacts_db, None)
    cursor, deep_sql, deep_params = first.next_cursor, None, None
    for _ in range(40):  # page 41 of 60
        page, (deep_sql, deep_params) = _captured_sql(contacts_db, cursor)
        cursor = page.next_cursor
    assert "OFFSET" not in first_sql.upper() and "OFFSET" not in deep_sql.upper()
    first_shape = _plan_shape(contacts_db, first_sql, first_params)
    deep_shape = _plan_shape(contacts_db, deep_sql, deep_params)
    assert first_shape == deep_shape
    assert any(index == "ix_contacts_created" for _, index in deep_shape), deep_shape
