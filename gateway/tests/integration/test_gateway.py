"""The gateway as clients use it: log in, manage users, reach the services through it."""

import socket
import threading

import requests

from gateway.app import create_app
from gateway.tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, add_user
from shared.auth import Identity
from shared.config import Settings
from shared.testing.helpers import eventually, unique
from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer
from shared.testing.tokens import issue_token


def login(base, email, password):
    return requests.post(
        f"{base}/api/v1/auth/login", json={"email": email, "password": password}, timeout=10
    )


def make_user(base, headers, role="sdr", password="a-good-password"):
    email = f"{unique(role)}@example.test"
    response = requests.post(
        f"{base}/api/v1/users",
        headers=headers,
        timeout=10,
        json={"email": email, "name": role.title(), "role": role, "password": password},
    )
    assert response.status_code == 201, response.text
    return response.json(), email


def test_login_returns_a_bearer_token_and_me_says_who_i_am(system):
    response = login(system["gateway"], ADMIN_EMAIL, ADMIN_PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    me = requests.get(
        f"{system['gateway']}/api/v1/auth/me",
        timeout=10,
        headers={"Authorization": f"Bearer {body['access_token']}"},
    ).json()
    assert me["email"] == ADMIN_EMAIL and me["role"] == "admin"
    assert "password" not in me and "password_hash" not in me


def test_wrong_password_unknown_email_and_disabled_users_cannot_log_in(system, admin_headers):
    base = system["gateway"]
    assert login(base, ADMIN_EMAIL, "wrong").status_code == 401
    assert login(base, "nobody@example.test", "whatever").status_code == 401
    user, email = make_user(base, admin_headers)
    assert login(base, email, "a-good-password").status_code == 200
    requests.patch(
        f"{base}/api/v1/users/{user['id']}",
        json={"is_active": False},
        headers=admin_headers,
        timeout=10,
    )
    assert login(base, email, "a-good-password").status_code == 401


def test_an_admin_cannot_disable_or_demote_themselves_but_another_admin_can(system, admin_headers):
    base = system["gateway"]
    me = requests.get(f"{base}/api/v1/auth/me", headers=admin_headers, timeout=10).json()
    for change in ({"is_active": False}, {"role": "sdr"}):
        response = requests.patch(
            f"{base}/api/v1/users/{me['id']}", json=change, headers=admin_headers, timeout=10
        )
        assert response.status_code == 409, response.text
    still = requests.get(f"{base}/api/v1/users/{me['id']}", headers=admin_headers, timeout=10)
    assert still.json()["is_active"] is True and still.json()["role"] == "admin"
    renamed = requests.patch(
        f"{base}/api/v1/users/{me['id']}",
        json={"name": "Still Admin"},
        headers=admin_headers,
        timeout=10,
    )
    assert renamed.status_code == 200
    _, email = make_user(base, admin_headers, role="admin")
    other_headers = {
        "Authorization": f"Bearer {login(base, email, 'a-good-password').json()['access_token']}"
    }
    demoted = requests.patch(
        f"{base}/api/v1/users/{me['id']}", json={"role": "sdr"}, headers=other_headers, timeout=10
    )
    assert demoted.status_code == 200 and demoted.json()["role"] == "sdr"


def test_a_token_stops_working_at_the_gateway_when_its_user_is_disabled_or_changes_role(
    system, admin_headers
):
    base = system["gateway"]
    user, email = make_user(base, admin_headers)
    disabled = {
        "Authorization": "Bearer " + login(base, email, "a-good-password").json()["access_token"]
    }
    other, other_email = make_user(base, admin_headers)
    promoted = {
        "Authorization": "Bearer "
        + login(base, other_email, "a-good-password").json()["access_token"]
    }
    for headers in (disabled, promoted):
        assert (
            requests.get(f"{base}/api/v1/contacts", headers=headers, timeout=10).status_code == 200
        )

    def change(record, body):
        url = f"{base}/api/v1/users/{record['id']}"
        response = requests.patch(url, json=body, headers=admin_headers, timeout=10)
        assert response.status_code == 200, response.text

    change(user, {"is_active": False})
    change(other, {"role": "sales_manager"})

    def refused(headers, path):
        response = requests.get(f"{base}{path}", headers=headers, timeout=10)
        return response.status_code == 401 and "revoked" in response.json()["detail"]

    for headers in (disabled, promoted):
        for path in ("/api/v1/contacts", "/api/v1/auth/me"):
            eventually(lambda headers=headers, path=path: refused(headers, path), timeout=15)
    fresh = login(base, other_email, "a-good-password").json()["access_token"]
    me = requests.get(
        f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {fresh}"}, timeout=10
    )
    assert me.json()["role"] == "sales_manager"


def test_only_admins_create_users_and_emails_are_unique(system, admin_headers):
    base = system["gateway"]
    user, email = make_user(base, admin_headers)
    token = login(base, email, "a-good-password").json()["access_token"]
    sdr = {"Authorization": f"Bearer {token}"}
    forbidden = requests.post(
        f"{base}/api/v1/users",
        headers=sdr,
        timeout=10,
        json={"email": "x@example.test", "name": "X", "role": "admin", "password": "password123"},
    )
    assert forbidden.status_code == 403
    duplicate = requests.post(
        f"{base}/api/v1/users",
        headers=admin_headers,
        timeout=10,
        json={"email": email.upper(), "name": "Y", "role": "sdr", "password": "password123"},
    )
    assert duplicate.status_code == 409
    listed = requests.get(f"{base}/api/v1/users", headers=sdr, timeout=10).json()["items"]
    assert user["id"] in [u["id"] for u in listed]


def test_a_user_may_change_their_own_password_but_not_their_role(system, admin_headers):
    base = system["gateway"]
    user, email = make_user(base, admin_headers)
    headers = {
        "Authorization": "Bearer " + login(base, email, "a-good-password").json()["access_token"]
    }
    url = f"{base}/api/v1/users/{user['id']}"
    assert (
        requests.patch(url, json={"role": "admin"}, headers=headers, timeout=10).status_code == 403
    )
    assert (
        requests.patch(
            url, json={"password": "another-password"}, headers=headers, timeout=10
        ).status_code
        == 200
    )
    assert login(base, email, "another-password").status_code == 200


def test_requests_are_forwarded_to_the_owning_service(system, admin_headers):
    base = system["gateway"]
    created = requests.post(
        f"{base}/api/v1/companies",
        json={"name": "Acme", "annual_revenue": "10.50"},
        headers=admin_headers,
        timeout=10,
    )
    assert created.status_code == 201
    fetched = requests.get(
        f"{base}/api/v1/companies/{created.json()['id']}", headers=admin_headers, timeout=10
    )
    assert fetched.json()["annual_revenue"] == "10.50" and fetched.headers["ETag"]
    bad = requests.post(
        f"{base}/api/v1/contacts",
        json={"name": "X", "company_id": "nope"},
        headers=admin_headers,
        timeout=10,
    )
    assert bad.status_code == 422
    assert bad.headers["Content-Type"] == "application/problem+json"


def test_a_managers_owner_id_is_checked_against_the_users_here(system, admin_headers):
    base = system["gateway"]
    user, _ = make_user(base, admin_headers, role="account_manager")
    ok = requests.post(
        f"{base}/api/v1/companies",
        json={"name": "A", "owner_id": user["id"]},
        headers=admin_headers,
        timeout=10,
    )
    assert ok.status_code == 201 and ok.json()["owner_id"] == user["id"]
    ghost = requests.post(
        f"{base}/api/v1/companies",
        json={"name": "A", "owner_id": "ghost"},
        headers=admin_headers,
        timeout=10,
    )
    assert ghost.status_code == 422


def test_missing_tampered_and_expired_tokens_are_401_at_the_gateway(system):
    base = system["gateway"]
    assert requests.get(f"{base}/api/v1/contacts", timeout=10).status_code == 401
    token = issue_token(Identity("u", "sdr"), 60)
    header, payload, signature = token.split(".")
    tampered = ".".join([header, payload[:-2] + "xx", signature])
    assert (
        requests.get(
            f"{base}/api/v1/contacts", timeout=10, headers={"Authorization": f"Bearer {tampered}"}
        ).status_code
        == 401
    )
    expired = issue_token(Identity("u", "sdr"), -60)
    response = requests.get(
        f"{base}/api/v1/contacts", timeout=10, headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_request_id_is_kept_or_made_and_reaches_the_service(system, admin_headers):
    base = system["gateway"]
    kept = requests.get(
        f"{base}/api/v1/contacts",
        timeout=10,
        headers={**admin_headers, "X-Request-ID": "trace-me-42"},
    )
    assert kept.headers["X-Request-ID"] == "trace-me-42"
    made = requests.get(f"{base}/api/v1/contacts", headers=admin_headers, timeout=10)
    assert len(made.headers["X-Request-ID"]) >= 16


def test_an_unknown_path_is_a_404_problem(system, admin_headers):
    response = requests.get(
        f"{system['gateway']}/api/v1/no-such-thing", headers=admin_headers, timeout=10
    )
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_a_stopped_service_is_a_503_at_once(system, admin_headers):
    system["contacts"].stop()
    response = requests.get(
        f"{system['gateway']}/api/v1/contacts", headers=admin_headers, timeout=10
    )
    assert response.status_code == 503
    assert response.json()["type"] == "/problems/upstream-unavailable"


def test_a_service_that_hangs_is_a_504_not_a_hang(gateway_db, monkeypatch):
    monkeypatch.setenv("UPSTREAM_READ_TIMEOUT", "1")
    silent = socket.create_server(("127.0.0.1", 0))
    held = []
    threading.Thread(target=lambda: held.append(silent.accept()), daemon=True).start()
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    app = create_app(
        Settings(service="gateway", env="test", database_url=gateway_db.url),
        database=gateway_db,
        urls={"contacts": url},
    )
    server = ThreadServer(app, free_port())
    add_user(gateway_db, "u", "sdr")
    try:
        token = issue_token(Identity("u", "sdr"), 60)
        response = requests.get(
            f"{server.url}/api/v1/contacts",
            timeout=10,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 504
    finally:
        server.stop()
        silent.close()


def test_the_merged_openapi_document_lists_every_service(system):
    spec = requests.get(f"{system['gateway']}/api/v1/openapi.json", timeout=10).json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/auth/login",
        "/api/v1/users",
        "/api/v1/contacts",
        "/api/v1/companies/{company_id}",
        "/api/v1/interactions",
    ):
        assert path in spec["paths"]
    assert "x-unavailable-services" not in spec
    page = requests.get(f"{system['gateway']}/api/docs", timeout=10)
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert (
        requests.get(
            f"{system['gateway']}/api/docs/static/swagger-ui-bundle.js", timeout=10
        ).status_code
        == 200
    )


def test_logins_are_rate_limited_per_client_behind_a_trusted_proxy(gateway_db, monkeypatch):
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "3 per minute")
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "1")
    app = create_app(
        Settings(service="gateway", env="test", database_url=gateway_db.url),
        database=gateway_db,
        urls={},
    )
    client = app.test_client()

    def attempt(client_address):
        return client.post(
            "/api/v1/auth/login",
            json={"email": "x@y.z", "password": "nope"},
            headers={"X-Forwarded-For": client_address},
        ).status_code

    assert [attempt("203.0.113.7") for _ in range(4)] == [401, 401, 401, 429]
    assert attempt("203.0.113.8") == 401  # another client behind the same ingress
