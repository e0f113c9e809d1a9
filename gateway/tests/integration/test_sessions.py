"""Tokens from the gateway: JWKS, refresh rotation, logout, service tokens and their limits."""

import requests

from gateway.tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from gateway.tests.integration.test_gateway import login, make_user
from shared.keys import keys_from_jwks
from shared.testing.helpers import eventually
from shared.testing.tokens import DEV_KID


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def post(base, path, **kwargs):
    return requests.post(f"{base}/api/v1/auth/{path}", timeout=10, **kwargs)


def service_token(base, client_id="sales", secret=None):
    return post(
        base,
        "token",
        json={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret or f"dev-only-client-secret-{client_id}",
        },
    )


def test_the_public_keys_are_published_with_their_kid(system):
    response = requests.get(f"{system['gateway']}/.well-known/jwks.json", timeout=10)
    assert response.status_code == 200 and "max-age" in response.headers["Cache-Control"]
    document = response.json()
    assert [key["kid"] for key in document["keys"]] == [DEV_KID]
    assert all("d" not in key for key in document["keys"])  # never the private half
    assert DEV_KID in keys_from_jwks(document)


def test_a_login_gives_a_refresh_token_that_rotates_and_is_spent_once(system):
    base = system["gateway"]
    tokens = login(base, ADMIN_EMAIL, ADMIN_PASSWORD).json()
    assert tokens["expires_in"] == 900 and tokens["refresh_expires_in"] > tokens["expires_in"]
    renewed = post(base, "refresh", json={"refresh_token": tokens["refresh_token"]})
    assert renewed.status_code == 200, renewed.text
    fresh = renewed.json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert fresh["access_token"] != tokens["access_token"]
    me = requests.get(f"{base}/api/v1/auth/me", headers=bearer(fresh["access_token"]), timeout=10)
    assert me.json()["email"] == ADMIN_EMAIL
    # The spent token again: a thief's copy. The whole session ends, the new tokens too.
    replay = post(base, "refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]
    assert post(base, "refresh", json={"refresh_token": fresh["refresh_token"]}).status_code == 401

    def access_refused():
        url = f"{base}/api/v1/auth/me"
        return requests.get(url, headers=bearer(fresh["access_token"]), timeout=10).status_code

    eventually(lambda: access_refused() == 401, timeout=15)


def test_garbage_refresh_tokens_are_401_and_bad_bodies_422(system):
    base = system["gateway"]
    for token in ("nope", "x.y", "." * 3, "a" * 36 + ".secret"):
        response = post(base, "refresh", json={"refresh_token": token})
        assert response.status_code == 401, token
        assert response.headers["Content-Type"] == "application/problem+json"
    assert post(base, "refresh", json={}).status_code == 422


def test_logging_out_ends_the_session_everywhere_and_its_refresh_token(system, admin_headers):
    base = system["gateway"]
    _user, email = make_user(base, admin_headers)
    tokens = login(base, email, "a-good-password").json()
    other = login(base, email, "a-good-password").json()  # another device, another session
    headers = bearer(tokens["access_token"])
    assert requests.get(f"{base}/api/v1/contacts", headers=headers, timeout=10).status_code == 200
    assert post(base, "logout", headers=headers).status_code == 204
    assert post(base, "refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401

    def status(token):
        url = f"{base}/api/v1/contacts"
        return requests.get(url, headers=bearer(token), timeout=10).status_code

    eventually(lambda: status(tokens["access_token"]) == 401, timeout=15)
    assert status(other["access_token"]) == 200
    assert post(base, "refresh", json={"refresh_token": other["refresh_token"]}).status_code == 200


def test_a_disabled_user_cannot_refresh(system, admin_headers):
    base = system["gateway"]
    user, email = make_user(base, admin_headers)
    tokens = login(base, email, "a-good-password").json()
    url = f"{base}/api/v1/users/{user['id']}"
    response = requests.patch(url, json={"is_active": False}, headers=admin_headers, timeout=10)
    assert response.status_code == 200
    assert post(base, "refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_a_service_gets_a_scoped_token_with_its_own_secret_only(system):
    base = system["gateway"]
    granted = service_token(base, "sales")
    assert granted.status_code == 200, granted.text
    body = granted.json()
    assert "contacts:conversions" in body["scope"].split() and body["expires_in"] <= 300
    assert service_token(base, "sales", secret="dev-only-client-secret-contacts").status_code == 401
    assert service_token(base, "nobody", secret="x").status_code == 401
    bad = post(base, "token", json={"grant_type": "password", "client_id": "sales"})
    assert bad.status_code == 422


def test_a_service_token_is_never_an_admin_nor_a_user(system, admin_headers):
    base = system["gateway"]
    headers = bearer(service_token(base, "sales").json()["access_token"])
    users = requests.get(f"{base}/api/v1/users", headers=headers, timeout=10)
    assert users.status_code == 200  # users:read
    new_admin = {"email": "x@example.test", "name": "X", "role": "admin", "password": "p" * 12}
    created = requests.post(f"{base}/api/v1/users", json=new_admin, headers=headers, timeout=10)
    assert created.status_code == 403
    admin_id = requests.get(f"{base}/api/v1/auth/me", headers=admin_headers, timeout=10).json()[
        "id"
    ]
    change = requests.patch(
        f"{base}/api/v1/users/{admin_id}", json={"name": "Y"}, headers=headers, timeout=10
    )
    assert change.status_code == 403
    assert requests.get(f"{base}/api/v1/auth/me", headers=headers, timeout=10).status_code == 403
    assert post(base, "logout", headers=headers).status_code == 403


def test_the_revocation_feed_is_for_services_only(system, admin_headers):
    base = system["gateway"]
    user, _email = make_user(base, admin_headers)
    url = f"{base}/api/v1/users/{user['id']}"
    requests.patch(url, json={"role": "sales_manager"}, headers=admin_headers, timeout=10)
    feed = f"{base}/api/v1/auth/revocations"
    assert requests.get(feed, headers=admin_headers, timeout=10).status_code == 403
    headers = bearer(service_token(base, "billing").json()["access_token"])
    answer = requests.get(feed, headers=headers, timeout=10).json()
    assert any(
        entry["user_id"] == user["id"] and entry["session_id"] is None
        for entry in answer["revocations"]
    )
    later = requests.get(feed, params={"since": answer["now"] + 60}, headers=headers, timeout=10)
    assert later.json()["revocations"] == []
    assert (
        requests.get(feed, params={"since": "soon"}, headers=headers, timeout=10).status_code == 422
    )
