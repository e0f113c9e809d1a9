"""The gateway and the contacts service as gunicorn runs them (Procfile, scripts/run.sh)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from shared.testing.helpers import eventually
from shared.testing.postgres import free_port

ROOT = Path(__file__).resolve().parents[1]
#: One worker process per server: with two, a round's 16 connections split between them by
#: chance, unevenly, and the figures of one round differ from the next by half. The figures are
#: per process; the ratios compare processes of the same size.
WORKERS = os.environ.get("BENCH_WEB_WORKERS", "1")
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]


class Server:
    """One gunicorn master on a free loopback port; stopped by its pid."""

    def __init__(self, name: str, app: str, env: dict[str, str], log: Path) -> None:
        self.name, self.app, self.env, self.log = name, app, env, log
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        self.process = subprocess.Popen(
            [*GUNICORN, self.app],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        eventually(self._ready, timeout=60, interval=0.3)
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
        try:
            return requests.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def system_env(var_dir: Path, amqp_url: str) -> dict[str, str]:
    """What scripts/run.sh exports to every process, with free ports."""
    gateway_port, contacts_port = free_port(), free_port()
    users_url = f"http://127.0.0.1:{gateway_port}"
    unused = f"http://127.0.0.1:{free_port()}"  # sales, support, billing: not started here
    return {
        **os.environ,
        "CRM_ENV": "development",
        "CRM_VAR_DIR": str(var_dir),
        "AMQP_URL": amqp_url,
        "GATEWAY_PORT": str(gateway_port),
        "CONTACTS_PORT": str(contacts_port),
        "USERS_URL": users_url,
        "JWKS_URL": f"{users_url}/.well-known/jwks.json",
        "CONTACTS_URL": f"http://127.0.0.1:{contacts_port}",
        "SALES_URL": unused,
        "SUPPORT_URL": unused,
        "BILLING_URL": unused,
        "NOTIFICATIONS_URL": unused,
        "LOGIN_RATE_LIMIT": "1000 per minute",
    }


def gateway(env: dict[str, str], database_url: str, log: Path) -> Server:
    return Server(
        "gateway",
        "gateway.wsgi:app",
        {
            **env,
            "PROMETHEUS_MULTIPROC_DIR": f"{env['CRM_VAR_DIR']}/metrics/gateway",
            "PORT": env["GATEWAY_PORT"],
            "DATABASE_URL": database_url,
            "GUNICORN_WORKER_CLASS": "gevent",
            "WEB_CONCURRENCY": WORKERS,
        },
        log,
    )


def contacts(env: dict[str, str], database_url: str, log: Path) -> Server:
    """The contacts service with the bench's raw routes (bench/apps.py)."""
    return Server(
        "contacts",
        "bench.apps:create_bench_app()",
        {
            **env,
            "PROMETHEUS_MULTIPROC_DIR": f"{env['CRM_VAR_DIR']}/metrics/contacts",
            "PORT": env["CONTACTS_PORT"],
            "DATABASE_URL": database_url,
            "WEB_CONCURRENCY": WORKERS,
            "GUNICORN_THREADS": "8",
        },
        log,
    )
