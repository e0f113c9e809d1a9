"""A proxied request runs no query and holds no database connection while its service works."""

import threading

import pytest
import requests
from flask import Flask, jsonify
from sqlalchemy import event

from gateway.app import create_app
from gateway.tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from shared.config import Settings
from shared.testing.helpers import eventually
from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer


@pytest.mark.parametrize("backend", ["postgresql"])  # a real connection pool to count
def test_no_database_connection_is_held_during_the_upstream_call(gateway_db):
    release, arrived = threading.Event(), threading.Event()
    upstream = Flask("slow-contacts")

    @upstream.get("/api/v1/contacts")
    def slow():
        arrived.set()
        release.wait(30)
        return jsonify(items=[])

    service = ThreadServer(upstream, free_port())
    app = create_app(
        Settings(service="gateway", env="test", database_url=gateway_db.url),
        database=gateway_db,
        urls={"contacts": service.url},
    )
    gateway = ThreadServer(app, free_port())
    answers: list[int] = []
    try:
        login = requests.post(
            f"{gateway.url}/api/v1/auth/login",
            json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            timeout=10,
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

        def call():
            url = f"{gateway.url}/api/v1/contacts"
            answers.append(requests.get(url, headers=headers, timeout=30).status_code)

        callers = [threading.Thread(target=call) for _ in range(3)]
        for caller in callers:
            caller.start()
        assert arrived.wait(15), "the request never reached the service"
        # Three requests wait on the service; the pool has nothing checked out (the deny
        # list's once-a-second read may hold one for a moment, so this is a condition).
        pool = gateway_db.engine.pool
        eventually(lambda: pool.checkedout() == 0, timeout=15, interval=0.02)
        release.set()
        for caller in callers:
            caller.join(30)
        assert answers == [200, 200, 200]
    finally:
        release.set()
        gateway.stop()
        service.stop()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_proxied_request_runs_no_query(gateway_db):
    upstream = Flask("contacts")

    @upstream.get("/api/v1/contacts")
    def contacts():
        return jsonify(items=[])

    service = ThreadServer(upstream, free_port())
    app = create_app(
        Settings(service="gateway", env="test", database_url=gateway_db.url),
        database=gateway_db,
        urls={"contacts": service.url},
    )
    gateway = ThreadServer(app, free_port())
    queries: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        # The deny list's own thread reads its table once a second; requests must not.
        if threading.current_thread().name != "revocations":
            queries.append(statement)

    try:
        login = requests.post(
            f"{gateway.url}/api/v1/auth/login",
            json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            timeout=10,
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        url = f"{gateway.url}/api/v1/contacts"
        assert requests.get(url, headers=headers, timeout=30).status_code == 200  # warmed up
        event.listen(gateway_db.engine, "before_cursor_execute", count)
        try:
            for _ in range(5):
                assert requests.get(url, headers=headers, timeout=30).status_code == 200
        finally:
            event.remove(gateway_db.engine, "before_cursor_execute", count)
        assert queries == []
    finally:
        gateway.stop()
        service.stop()
