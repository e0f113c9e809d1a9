"""Two gateways, each client using both: either one issues and honours the tokens, a logout
through one is honoured by the other, and when one is SIGKILLed the other goes on."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from shared.testing.helpers import eventually, unique
from shared.testing.postgres import free_port
from shared.testing.processes import ROOT, base_env, start_gateway, start_web

pytestmark = pytest.mark.integration
ADMIN = {"email": "admin@faults.test", "password": "faults-admin-password"}


def seed_gateway(env: dict[str, str]) -> None:
    for command in ("migrate", "seed-admin"):
        subprocess.run(
            [sys.executable, "-m", "gateway", command],
            cwd=ROOT,
            env={**env, "CRM_ADMIN_EMAIL": ADMIN["email"], "CRM_ADMIN_PASSWORD": ADMIN["password"]},
            check=True,
            capture_output=True,
            timeout=120,
        )


def login(gateway) -> dict[str, str]:
    response = requests.post(f"{gateway.url}/api/v1/auth/login", json=ADMIN, timeout=30)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def api(gateway, method: str, path: str, headers: dict, **kwargs) -> requests.Response:
    return requests.request(
        method, f"{gateway.url}/api/v1{path}", headers=headers, timeout=30, **kwargs
    )


def test_two_gateways_share_tokens_and_logouts_and_one_goes_on_when_the_other_dies(
    fault_postgres, service_db, amqp_url, processes, tmp_path
):
    gateway_url = fault_postgres.create_database(unique("f_gateway").replace("-", "_"))
    gateway_env = base_env(gateway_url, amqp_url)
    seed_gateway(gateway_env)
    contacts = service_db("contacts")
    # In a cluster each gateway reaches the contacts Service and the services reach the
    # gateway Service; here each gateway has a contacts process of its own, which asks that
    # gateway for keys and revocations: the pair stands in for one side of the balancer.
    pairs = []
    for n in (1, 2):
        port = free_port()
        web = start_web(
            "contacts",
            base_env(contacts.url, amqp_url, USERS_URL=f"http://127.0.0.1:{port}"),
            tmp_path,
            f"contacts-web-{n}",
        )
        gateway_n = {**gateway_env, "CONTACTS_URL": web.url}
        gateway = start_gateway(gateway_n, tmp_path, f"gateway-{n}", port)
        pairs.append((gateway, web))
        processes.extend([gateway, web])
    for gateway, web in pairs:
        gateway.wait_ready()
        web.wait_ready()
    (one, _), (other, _) = pairs

    headers = login(one)  # issued by one gateway ...
    created = api(other, "POST", "/companies", headers, json={"name": unique("co")})
    assert created.status_code == 201, created.text  # ... honoured by the other
    company = created.json()["id"]
    assert api(one, "GET", f"/companies/{company}", headers).status_code == 200

    assert api(other, "POST", "/auth/logout", headers).status_code == 204
    for gateway in (one, other):  # a logout through one is honoured by both
        eventually(
            lambda g=gateway: api(g, "GET", "/companies", headers).status_code == 401,
            timeout=30,
        )

    fresh = login(one)
    one.kill()  # no clean-up: its connections just die
    for _ in range(20):  # the client goes on through the other
        response = api(other, "POST", "/companies", fresh, json={"name": unique("co")})
        assert response.status_code == 201, response.text
    assert api(other, "GET", f"/companies/{company}", login(other)).status_code == 200
