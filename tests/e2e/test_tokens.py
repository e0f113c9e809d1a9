"""Tokens against the real system: every service checks them itself, revocation reaches all."""

import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.auth import Identity
from shared.config import DEV_JWT_PUBLIC_KEY
from shared.testing.helpers import eventually
from shared.testing.tokens import DEV_KID, claims_for, hand_made, sign

pytestmark = pytest.mark.e2e

#: One list endpoint per process that answers users, called directly (not via the gateway).
READS = {
    "gateway": "/api/v1/users",
    "contacts": "/api/v1/contacts",
    "sales": "/api/v1/leads",
    "support": "/api/v1/cases",
    "billing": "/api/v1/invoices",
    "notifications": "/api/v1/notifications",
}


def direct(system, process: str, headers: dict) -> requests.Response:
    return requests.get(f"{system.url(process)}{READS[process]}", headers=headers, timeout=10)


def test_forged_and_downgraded_tokens_are_401_at_every_service(system, admin):
    me = system.api("GET", "/auth/me", admin).json()
    claims = claims_for(Identity(me["id"], "admin", me["email"], me["name"]), 600)
    forged = {
        "another key": sign(claims, key=Ed25519PrivateKey.generate()),
        "another key, our kid": sign(claims, key=Ed25519PrivateKey.generate(), kid=DEV_KID),
        "HS256 keyed with the public key": hand_made(
            {"alg": "HS256", "kid": DEV_KID}, claims, DEV_JWT_PUBLIC_KEY.encode()
        ),
        "alg none": hand_made({"alg": "none", "kid": DEV_KID}, claims, None),
    }
    for process in READS:
        assert direct(system, process, admin).status_code == 200, process
        for name, token in forged.items():
            response = direct(system, process, {"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (process, name)
            assert response.headers["Content-Type"] == "application/problem+json"


def test_a_disabled_users_token_is_refused_by_every_service_within_five_seconds(system, admin):
    user, headers = system.new_user(admin, "account_manager")
    for process in READS:
        if process != "gateway":
            assert direct(system, process, headers).status_code == 200, process
    changed = system.api("PATCH", f"/users/{user['id']}", admin, json={"is_active": False})
    assert changed.status_code == 200, changed.text
    disabled_at = time.monotonic()
    for process in READS:
        if process == "gateway":
            continue
        eventually(lambda p=process: direct(system, p, headers).status_code == 401, timeout=30)
        assert time.monotonic() - disabled_at < 5.0, process
    assert system.api("GET", "/contacts", headers).status_code == 401


def test_logging_out_is_refused_by_a_service_called_directly(system, admin):
    _user, headers = system.new_user(admin, "sdr")
    assert direct(system, "sales", headers).status_code == 200
    assert system.api("POST", "/auth/logout", headers).status_code == 204
    eventually(lambda: direct(system, "sales", headers).status_code == 401, timeout=30)


def test_a_service_token_reads_its_scopes_and_nothing_a_user_does(system):
    granted = requests.post(
        f"{system.gateway}/api/v1/auth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "support",
            "client_secret": "dev-only-client-secret-support",
        },
        timeout=10,
    )
    assert granted.status_code == 200, granted.text
    headers = {"Authorization": f"Bearer {granted.json()['access_token']}"}
    assert direct(system, "contacts", headers).status_code == 200  # contacts:read
    assert direct(system, "billing", headers).status_code == 403  # no billing:read
    assert direct(system, "notifications", headers).status_code == 403  # nobody's inbox
    company = requests.post(
        f"{system.url('contacts')}/api/v1/companies",
        json={"name": "By a service"},
        headers=headers,
        timeout=10,
    )
    assert company.status_code == 403  # creating is what users do
    conversion = requests.post(
        f"{system.url('contacts')}/api/v1/conversions",
        json={"lead_id": "x", "owner_id": "y", "contact": {"name": "Z"}},
        headers=headers,
        timeout=10,
    )
    assert conversion.status_code == 403  # only sales holds contacts:conversions
