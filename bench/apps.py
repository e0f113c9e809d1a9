"""The contacts app with two raw baseline routes, for `make bench` only (never in production).

`GET /bench/raw-contacts` reads the first page of contacts with one SQL statement and
`json.dumps`; `POST /bench/raw-contacts` is one plain INSERT. Both run in the same process, on
the same engine, behind the same app-wide request hooks as the real endpoints, but without
authentication, schemas, the ORM, the outbox or idempotency: the ceiling the real list and
create endpoints are measured against. Run as `gunicorn 'bench.apps:create_bench_app()'`.
"""

from __future__ import annotations

import json

from flask import Flask, Response, request
from sqlalchemy import text

from services.contacts.app import create_app
from shared.db import utcnow
from shared.ids import new_id

COLUMNS = (
    "id",
    "name",
    "email",
    "phone_number",
    "job_title",
    "company_id",
    "owner_id",
    "created_at",
    "updated_at",
    "version",
)
PAGE = text(
    f"SELECT {', '.join(COLUMNS)} FROM contacts ORDER BY created_at DESC, id DESC LIMIT :limit"
)
INSERT = text(
    "INSERT INTO contacts (id, name, email, owner_id, created_at, updated_at, version) "
    "VALUES (:id, :name, :email, :owner_id, :created_at, :updated_at, 1)"
)


def _row(values) -> dict:
    row = dict(zip(COLUMNS, values, strict=True))
    for name in ("created_at", "updated_at"):
        row[name] = row[name].isoformat()
    return row


def add_raw_routes(app: Flask) -> Flask:
    engine = app.extensions["database"].engine

    @app.get("/bench/raw-contacts")
    def raw_contacts():
        limit = int(request.args.get("limit", 50))
        with engine.connect() as connection:
            rows = connection.execute(PAGE, {"limit": limit + 1}).all()
        items = [_row(values) for values in rows[:limit]]
        body = json.dumps({"items": items, "next_cursor": None})
        return Response(body, mimetype="application/json")

    @app.post("/bench/raw-contacts")
    def raw_insert():
        data = json.loads(request.get_data())
        now = utcnow()
        row = {
            "id": new_id(),
            "name": data["name"],
            "email": data.get("email"),
            "owner_id": "bench",
            "created_at": now,
            "updated_at": now,
        }
        with engine.begin() as connection:
            connection.execute(INSERT, row)
        body = json.dumps({**row, "created_at": now.isoformat(), "updated_at": now.isoformat()})
        return Response(body, status=201, mimetype="application/json")

    return app


def create_bench_app() -> Flask:
    return add_raw_routes(create_app())
