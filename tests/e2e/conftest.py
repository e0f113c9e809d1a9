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
from shared.testing.tracing import OtlpCollector

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"email": "admin@e2e.test", "password": "e2e-admin-password"}


#: Every service `make run` starts, each with a web process and an event worker.
SERVICES = ("contacts", "sales", "notifications", "billing", "support")


class RunningSystem:
    def __init__(self, tmp: Path, databases: dict[str, str], amqp_url: str) -> None:
        self.ports = {"gateway": free_port()}
        for service in SERVICES:
            self.ports[service] = free_port()
            self.ports[f"{service}-worker"] = free_port()
        self.gateway = f"http://127.0.0.1:{self.ports['gateway']}"
        self.amqp_url = amqp_url
        # Its own consumer queue, so that another system on this broker takes none of its events.
        self.notifications_queue = unique("e2e-notifications") + ".inbox"
        self.sales_queue = unique("e2e-sales") + ".references"
        self.billing_queue = unique("e2e-billing") + ".invoicing"
        self.support_queue = unique("e2e-support") + ".references"
        self.contacts_queue = unique("e2e-contacts") + ".references"
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
            "HTTP_TIMEOUT": "3",
            "CRM_NOTIFICATIONS_QUEUE": self.notifications_queue,
            "CRM_SALES_QUEUE": self.sales_queue,
            "CRM_BILLING_QUEUE": self.billing_queue,
            "CRM_SUPPORT_QUEUE": self.support_queue,
            "CRM_CONTACTS_QUEUE": self.contacts_queue,
            # An urgent case misses its first response within a second, and the escalation
            # job looks every second, so a breach happens inside a test.
            "CRM_SLA_URGENT": "1s/1h",
            "CRM_SLA_ESCALATION_SECONDS": "1",
            "CRM_FILE_SWEEP_SECONDS": "1",
        }
        for service in SERVICES:
            prefix = service.upper()
            self.env[f"{prefix}_PORT"] = str(self.ports[service])
            self.env[f"{prefix}_WORKER_HEALTH_PORT"] = str(self.ports[f"{service}-worker"])
            self.env[f"{prefix}_DATABASE_URL"] = databases[service]
        self.process: subprocess.Popen | None = None

    def url(self, process: str) -> str:
        """The base URL of one process: `gateway`, a service, or `<service>-worker` (health)."""
        return f"http://127.0.0.1:{self.ports[process]}"

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
        probes = [f"{self.url(process)}/readyz" for process in self.ports]
        try:
            eventually(lambda: all(self._ok(url) for url in probes), timeout=240, interval=0.5)
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

    def api(self, method: str, path: str, headers: dict, **kwargs) -> requests.Response:
        """Call /api/v1<path> through the gateway."""
        return requests.request(
            method, f"{self.gateway}/api/v1{path}", headers=headers, timeout=10, **kwargs
        )

    def new_user(self, admin: dict, role: str) -> tuple[dict, dict]:
        """An admin creates a user with `role`; returns the user and their auth headers."""
        email, password = f"{unique(role)}@e2e.test", "a-long-password"
        response = self.api(
            "POST",
            "/users",
            admin,
            json={"email": email, "name": role, "role": role, "password": password},
        )
        assert response.status_code == 201, response.text
        return response.json(), self.login(email, password)

    def login(self, email: str, password: str) -> dict:
        response = requests.post(
            f"{self.gateway}/api/v1/auth/login",
            timeout=10,
            json={"email": email, "password": password},
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="session")
def collector():
    """Where every process of the system exports its spans (OTLP over HTTP)."""
    collector = OtlpCollector()
    yield collector
    collector.stop()


@pytest.fixture(scope="session")
def system(tmp_path_factory, postgres, amqp_url, collector):
    tmp = tmp_path_factory.mktemp("e2e")
    databases = {
        name: postgres.create_database(f"e2e_{name}_{int(time.time())}")
        for name in ("gateway", *SERVICES)
    }
    running = RunningSystem(tmp, databases, amqp_url)
    running.env.update(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_BSP_SCHEDULE_DELAY="200")
    running.start()
    yield running
    running.stop()
    for queue in (
        running.notifications_queue,
        running.sales_queue,
        running.billing_queue,
        running.support_queue,
        running.contacts_queue,
    ):
        delete_consumer_queues(amqp_url, queue)


@pytest.fixture(scope="session")
def admin(system):
    return system.login(ADMIN["email"], ADMIN["password"])
