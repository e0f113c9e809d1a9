"""A hung service costs the gateway only its own requests: real processes, gunicorn + gevent.

Two stand-in services (gateway/tests/upstream_app.py) each run as an OS process of their own:
contacts answers, sales is stopped with SIGSTOP, so it accepts connections and never answers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from gateway.users import ensure_admin
from shared.testing.fixtures import migrated
from shared.testing.helpers import eventually
from shared.testing.postgres import free_port

ROOT = Path(__file__).resolve().parents[3]
ADMIN = {"email": "admin@hung.test", "password": "a-long-admin-password"}
#: A margin for a loaded CI machine on top of a configured bound.
MARGIN = 10


class Process:
    """A process of ours on loopback, its output in a file; stopped by its pid."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, ready_url: str) -> None:
        self.log = log
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            eventually(lambda: self.answers(ready_url), timeout=60, interval=0.2)
        except AssertionError:
            self.stop()
            raise AssertionError(f"{args} did not start:\n{self.output()}") from None

    def answers(self, url: str) -> bool:
        if self.popen.poll() is not None:
            raise AssertionError(f"exited with {self.popen.returncode}")
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    @contextlib.contextmanager
    def stopped(self):
        """SIGSTOP for the block: connections are still accepted, nothing is answered."""
        os.kill(self.popen.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.popen.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGCONT)
            self.popen.terminate()
            try:
                self.popen.wait(timeout=45)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPSTREAM_")}
    return {**env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **extra}


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    """contacts and sales, each a process of its own."""
    tmp = tmp_path_factory.mktemp("upstreams")
    started: dict[str, tuple[Process, str]] = {}
    try:
        for name in ("contacts", "sales"):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            started[name] = (
                Process(
                    [sys.executable, "-m", "gateway.tests.upstream_app", name, str(port)],
                    clean_env(),
                    tmp / f"{name}.log",
                    f"{url}/seen",
                ),
                url,
            )
        yield started
    finally:
        for process, _ in started.values():
            process.stop()


@pytest.fixture(scope="module")
def gateway_database(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('gateway')}/gateway.db"
    database = migrated(url, ROOT / "gateway/migrations")
    with database.transaction() as session:
        ensure_admin(session=session, email=ADMIN["email"], password=ADMIN["password"])
    database.dispose()
    return url


class Gateway:
    def __init__(self, process: Process, url: str) -> None:
        self.process = process
        self.url = url
        login = requests.post(f"{url}/api/v1/auth/login", json=ADMIN, timeout=30)
        assert login.status_code == 200, login.text
        # No keep-alive: an idle kept-alive connection would hold gunicorn's graceful shutdown.
        self.headers = {
            "Authorization": f"Bearer {login.json()['access_token']}",
            "Connection": "close",
        }

    def get(self, path: str, timeout: float = 30) -> requests.Response:
        return requests.get(f"{self.url}/api/v1/{path}", headers=self.headers, timeout=timeout)


@pytest.fixture
def start_gateway(services, gateway_database, tmp_path):
    """Start the gateway as production does: gunicorn, one gevent worker, this env on top."""
    started: list[Process] = []

    def start(**settings: str) -> Gateway:
        port = free_port()
        env = clean_env(
            GUNICORN_WORKER_CLASS="gevent",
            WEB_CONCURRENCY="1",
            HOST="127.0.0.1",
            PORT=str(port),
            DATABASE_URL=gateway_database,
            GATEWAY_DATABASE_URL=gateway_database,
            CRM_ENV="test",
            CRM_VAR_DIR=str(tmp_path / "var"),
            LOGIN_RATE_LIMIT="100000 per minute",
            CONTACTS_URL=services["contacts"][1],
            SALES_URL=services["sales"][1],
            **settings,
        )
        url = f"http://127.0.0.1:{port}"
        process = Process(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "gateway.wsgi:app"],
            env,
            tmp_path / f"gateway-{port}.log",
            f"{url}/healthz",
        )
        started.append(process)
        return Gateway(process, url)

    yield start
    for process in started:
        process.stop()


def seen_by(services, name: str) -> list[str]:
    return requests.get(f"{services[name][1]}/seen", timeout=10).json()["seen"]


def timed_get(gateway: Gateway, path: str, timeout: float = 30):
    started = time.monotonic()
    response = gateway.get(path, timeout=timeout)
    return response, time.monotonic() - started


def test_a_hung_service_is_a_504_in_time_while_another_service_keeps_answering(
    services, start_gateway
):
    read_timeout = 5
    gateway = start_gateway(UPSTREAM_READ_TIMEOUT=str(read_timeout))
    assert gateway.get("leads/before").status_code == 200
    with ThreadPoolExecutor(3) as pool, services["sales"][0].stopped():
        hung = [pool.submit(timed_get, gateway, f"leads/hung-{i}") for i in range(3)]
        time.sleep(0.5)  # a head start, so the hung requests are in flight at the gateway
        still_hung = []
        for i in range(5):
            answer = gateway.get(f"contacts/meanwhile-{i}")
            still_hung.append(sum(not f.done() for f in hung))
            assert answer.status_code == 200, answer.text
            assert answer.json()["path"] == f"/api/v1/contacts/meanwhile-{i}"
        assert still_hung[0], "contacts answered only after sales gave up"
        for future in hung:
            response, elapsed = future.result()
            assert response.status_code == 504, response.text
            assert response.headers["Content-Type"] == "application/problem+json"
            assert response.json()["type"].endswith("/upstream-timeout")
            assert "did not answer" in response.json()["detail"]
            assert read_timeout - 0.5 <= elapsed <= read_timeout + MARGIN
    assert gateway.get("leads/after").status_code == 200


def test_a_full_service_is_a_503_busy_without_being_sent_the_request(services, start_gateway):
    queue_timeout = 3
    gateway = start_gateway(
        UPSTREAM_READ_TIMEOUT="2",
        # The requests that fill the bulkhead hold it for the whole test.
        UPSTREAM_READ_TIMEOUT_SALES="120",
        UPSTREAM_MAX_CONCURRENCY_SALES="2",
        UPSTREAM_QUEUE_TIMEOUT=str(queue_timeout),
    )
    sent: list[str] = []
    busy: list[str] = []

    def send(path: str, timeout: float):
        sent.append(path)
        return timed_get(gateway, path, timeout=timeout)

    with ThreadPoolExecutor(4) as pool, services["sales"][0].stopped():
        fillers = {path: pool.submit(send, path, 180) for path in ("leads/fill-0", "leads/fill-1")}
        time.sleep(0.5)  # a head start, so the fillers are the ones that take the two slots
        probes = iter(range(100))

        def a_probe_is_busy():
            path = f"leads/probe-{next(probes)}"
            try:
                response, elapsed = send(path, timeout=queue_timeout + MARGIN)
            except requests.Timeout:
                return None  # it took a slot before a filler did: that filler is turned away
            assert response.status_code == 503, response.text
            busy.append(path)
            return response, elapsed

        response, elapsed = eventually(a_probe_is_busy, timeout=120, interval=0)
        assert response.headers["Retry-After"] == "1"
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["type"].endswith("/upstream-busy")
        assert elapsed <= queue_timeout + MARGIN

        # While a request waits for a slot, the same gevent worker serves everyone else.
        waiting = pool.submit(send, "leads/waiting", 30)
        time.sleep(0.5)
        answer = gateway.get("contacts/while-waiting")
        assert answer.status_code == 200, answer.text
        assert not waiting.done(), "contacts answered only after the wait for sales ended"
        assert waiting.result()[0].status_code == 503
        busy.append("leads/waiting")
    for path, filler in fillers.items():
        status = filler.result()[0].status_code
        assert status in {200, 503}, status
        if status == 503:
            busy.append(path)

    def forwarded() -> set[str]:
        return {f"/api/v1/{path}" for path in sent} & set(seen_by(services, "sales"))

    # Exactly as many requests as the bulkhead has slots reached the service, none of the rest.
    assert len(eventually(lambda: len(forwarded()) >= 2 and forwarded(), timeout=30)) == 2
    assert not {f"/api/v1/{path}" for path in busy} & forwarded()


def test_two_hundred_concurrent_requests_to_a_healthy_service_get_no_5xx(start_gateway):
    # More requests than the bulkhead's 100 slots: the rest wait for a slot, each gets one.
    gateway = start_gateway(UPSTREAM_QUEUE_TIMEOUT="60")
    paths = [f"contacts/burst-{i}" for i in range(200)]
    with ThreadPoolExecutor(200) as pool:
        responses = list(pool.map(lambda path: gateway.get(path, timeout=120), paths))
    statuses = [r.status_code for r in responses]
    assert statuses == [200] * 200, {s: statuses.count(s) for s in set(statuses)}
    assert [r.json()["path"] for r in responses] == [f"/api/v1/{p}" for p in paths]
