"""The whole system as real processes, started by the same script as `make run`."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from shared.testing.helpers import delete_consumer_queues, eventually, unique
from shared.testing.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"email": "admin@e2e.test", "password": "e2e-admin-password"}
#: Every service of the system: each has a web process (<NAME>_PORT) and an event worker
#: (<NAME>_WORKER_HEALTH_PORT), and its own database (<NAME>_DATABASE_URL).
SERVICES = ("contacts", "notifications")


class RunningSystem:
    def __init__(self, tmp: Path, databases: dict[str, str], amqp_url: str) -> None:
        self.ports = {"gateway": free_port()}
        for name in SERVICES:
            self.ports[name], self.ports[f"{name}-worker"] = free_port(), free_port()
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}
        self.gateway, self.contacts = self.urls["gateway"], self.urls["contacts"]
        self.amqp_url = amqp_url
        # Its own consumer queue, so that another system on this broker takes none of its events.
        self.notifications_queue = unique("e2e-notifications") + ".inbox"
        self.log = tmp / "system.log"
        self.env = {
            **os.environ,
            "CRM_VAR_DIR": str(tmp / "var"),
            "GATEWAY_PORT": str(self.ports["gateway"]),
            "GATEWAY_DATABASE_URL": databases["gateway"],
            "CRM_ADMIN_EMAIL": ADMIN["email"],
            "CRM_ADMIN_PASSWORD": ADMIN["password"],
            "AMQP_URL": amqp_url,
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "CRM_NOTIFICATIONS_QUEUE": self.notifications_queue,
        }
        for name in SERVICES:
            self.env[f"{name.upper()}_PORT"] = str(self.ports[name])
            self.env[f"{name.upper()}_WORKER_HEALTH_PORT"] = str(self.ports[f"{name}-worker"])
            self.env[f"{name.upper()}_DATABASE_URL"] = databases[name]
        self.process: subprocess.Popen | None = None

    def start(self) -> "RunningSystem":
        self.process = subprocess.Popen(
            [str(ROOT / "scripts/run.sh")],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        probes = [f"{url}/readyz" for url in self.urls.values()]
        try:
            eventually(lambda: all(self._ok(url) for url in probes), timeout=90, interval=0.5)
        except AssertionError:
            self.stop()
            raise AssertionError(
                "the system did not start:\n" + self.log.read_text()[-4000:]
            ) from None
        return self

    def _ok(self, url: str) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError("scripts/run.sh exited:\n" + self.log.read_text()[-4000:])
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(timeout=10)

    def login(self, email: str, password: str) -> dict:
        response = requests.post(
            f"{self.gateway}/api/v1/auth/login",
            timeout=10,
            json={"email": email, "password": password},
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="session")
def system(tmp_path_factory, postgres, amqp_url):
    tmp = tmp_path_factory.mktemp("e2e")
    databases = {
        name: postgres.create_database(f"e2e_{name}_{int(time.time())}")
        for name in ("gateway", *SERVICES)
    }
    running = RunningSystem(tmp, databases, amqp_url).start()
    yield running
    running.stop()
    delete_consumer_queues(amqp_url, running.notifications_queue)


@pytest.fixture(scope="session")
def admin(system):
    return system.login(ADMIN["email"], ADMIN["password"])
