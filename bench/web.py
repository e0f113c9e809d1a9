"""The HTTP rows of `make bench`: gateway ÷ direct, list ÷ raw SQL, POST ÷ raw INSERT.

Every figure and its baseline are measured in the same run, in interleaved rounds, with wrk at a
fixed concurrency against gunicorn processes started as the Procfile starts them. Each row's
ratio is the median of its per-round ratios.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from bench import servers, wrk
from bench.report import ROW, Figure
from shared.ids import new_id
from shared.migrations import upgrade

ROOT = Path(__file__).resolve().parents[1]
CONNECTIONS = 16
ROUNDS = int(os.environ.get("BENCH_WEB_ROUNDS", 6))
SECONDS = int(os.environ.get("BENCH_WEB_SECONDS", 3))
SEEDED = 60
ADMIN = {"email": "admin@bench.example", "password": "bench-admin-password"}
LIST = "/api/v1/contacts?limit=50"
RAW = "/bench/raw-contacts"


def _prepare(cluster, env: dict[str, str]) -> tuple[str, str]:
    suffix = new_id().replace("-", "")[:12]
    gateway_db = cluster.create_database(f"bench_gateway_{suffix}")
    contacts_db = cluster.create_database(f"bench_contacts_{suffix}")
    upgrade(ROOT / "gateway/migrations", gateway_db)
    upgrade(ROOT / "services/contacts/migrations", contacts_db)
    subprocess.run(
        [sys.executable, "-m", "gateway", "seed-admin"],
        cwd=ROOT,
        env={
            **env,
            "DATABASE_URL": gateway_db,
            "CRM_ADMIN_EMAIL": ADMIN["email"],
            "CRM_ADMIN_PASSWORD": ADMIN["password"],
        },
        check=True,
        capture_output=True,
    )
    return gateway_db, contacts_db


def _login(gateway_url: str) -> dict[str, str]:
    response = requests.post(f"{gateway_url}/api/v1/auth/login", json=ADMIN, timeout=10)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _seed(gateway_url: str, auth: dict[str, str]) -> None:
    for i in range(SEEDED):
        response = requests.post(
            f"{gateway_url}/api/v1/contacts",
            json={"name": f"Seeded {i}", "email": f"seeded-{i}@bench.example"},
            headers=auth,
            timeout=10,
        )
        response.raise_for_status()


def _load(url: str, auth: dict[str, str], **kwargs) -> float:
    result = wrk.run(url, seconds=SECONDS, connections=CONNECTIONS, headers=auth, **kwargs)
    if result.failures:
        raise RuntimeError(f"{result.failures} of {result.requests} requests failed: {url}")
    return result.rate


def _rounds(gateway_url: str, contacts_url: str, auth: dict[str, str]) -> dict[str, list[float]]:
    """Each round runs every measurement once; rounds alternate their order."""
    post = {"script": wrk.POST_SCRIPT}
    runs = {
        "gateway": lambda r: _load(gateway_url + LIST, auth),
        "direct": lambda r: _load(contacts_url + LIST, auth),
        "raw": lambda r: _load(contacts_url + RAW, {}),
        "post": lambda r: _load(
            gateway_url + "/api/v1/contacts", auth, **post, script_args=(f"gw{r}-{new_id()[:8]}",)
        ),
        "direct_post": lambda r: _load(
            contacts_url + "/api/v1/contacts", auth, **post, script_args=(f"d{r}-{new_id()[:8]}",)
        ),
        "raw_post": lambda r: _load(
            contacts_url + RAW, {}, **post, script_args=(f"raw{r}-{new_id()[:8]}",)
        ),
    }
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for measure_once in runs.values():  # warm-up: imports, pools, caches
        measure_once(-1)
    for r in range(ROUNDS):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for name in order:
            rates[name].append(runs[name](r))
    return rates


def _figure(name: str, rates, value: str, baseline: str, goal: float, detail: str) -> Figure:
    ratio = wrk.median_ratio(rates[value], rates[baseline])
    return Figure(
        name=name,
        value=statistics.median(rates[value]),
        unit=ROW[name].unit,
        baseline=statistics.median(rates[baseline]),
        ratio=ratio,
        goal=ROW[name].goal,
        met=ratio >= goal,
        detail=f"{detail}; {ROUNDS} rounds of {SECONDS} s, {CONNECTIONS} connections",
    )


def measure(cluster, amqp_url: str) -> list[Figure]:
    """The gateway, list and post rows, with their baselines measured in this run."""
    with tempfile.TemporaryDirectory(prefix="crm-bench-web-") as tmp:
        var = Path(tmp)
        env = servers.system_env(var, amqp_url)
        gateway_db, contacts_db = _prepare(cluster, env)
        gateway = servers.gateway(env, gateway_db, var / "gateway.log")
        contacts = servers.contacts(env, contacts_db, var / "contacts.log")
        try:
            gateway.start()
            contacts.start()
            auth = _login(gateway.url)
            _seed(gateway.url, auth)
            rates = _rounds(gateway.url, contacts.url, auth)
        finally:
            contacts.stop()
            gateway.stop()
    return [
        _figure(
            "gateway",
            rates,
            "gateway",
            "direct",
            0.7,
            "GET /api/v1/contacts?limit=50 through the gateway / direct to contacts",
        ),
        _figure(
            "list",
            rates,
            "direct",
            "raw",
            0.5,
            "GET /api/v1/contacts?limit=50 / raw SQL + json.dumps, same process",
        ),
        _figure(
            "post",
            rates,
            "post",
            "raw_post",
            0.5,
            "POST /api/v1/contacts through the gateway / raw INSERT direct "
            f"(direct to contacts: {statistics.median(rates['direct_post']):,.0f} req/s, "
            f"{wrk.median_ratio(rates['direct_post'], rates['raw_post']):.2f} of raw)",
        ),
    ]


if __name__ == "__main__":
    from bench.report import table
    from shared.testing.postgres import PostgresCluster

    amqp = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    postgres = PostgresCluster().start()
    try:
        print(table(measure(postgres, amqp)))
    finally:
        postgres.stop()
