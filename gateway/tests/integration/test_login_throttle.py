"""Per-account login throttling, counted in the gateway's database so it holds across processes."""

import json
import os
import subprocess
import sys
import threading
from contextlib import ExitStack
from datetime import timedelta

import pytest
import requests
from structlog.testing import capture_logs

from gateway import throttle as throttle_module
from gateway.app import create_app
from gateway.models import LoginFailure
from gateway.tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ROOT
from gateway.throttle import LoginThrottle
from gateway.users import ensure_admin
from shared.config import Settings
from shared.db import Database, utcnow
from shared.errors import PROBLEM_JSON
from shared.testing.helpers import eventually
from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer

OTHER_EMAIL, OTHER_PASSWORD = "other@example.test", "another-good-password"


def login(base, email, password):
    return requests.post(
        f"{base}/api/v1/auth/login", json={"email": email, "password": password}, timeout=10
    )


def fail_ten_times(bases, email=ADMIN_EMAIL):
    for attempt in range(10):
        response = login(bases[attempt % len(bases)], email, f"wrong-{attempt}")
        assert response.status_code == 401, (attempt, response.text)


def failures_of(database, email):
    with database.sessions() as session:
        return session.get(LoginFailure, email)


@pytest.fixture
def gateways(gateway_db, monkeypatch):
    """Start two gateway apps on one database, each with its own engine, as two processes."""
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "1000 per minute")
    with gateway_db.transaction() as session:
        ensure_admin(session=session, email=OTHER_EMAIL, password=OTHER_PASSWORD)
    servers, databases = [], []

    def start(**environ):
        for name, value in environ.items():
            monkeypatch.setenv(name, str(value))
        for _ in range(2):
            database = Database(gateway_db.url)
            app = create_app(
                Settings(service="gateway", env="test", database_url=database.url),
                database=database,
                urls={},
            )
            databases.append(database)
            servers.append(ThreadServer(app, free_port()))
        return [server.url for server in servers]

    yield start
    for server in servers:
        server.stop()
    for database in databases:
        database.dispose()


def test_ten_wrong_passwords_across_two_gateways_lock_the_account_on_both(gateways):
    first, second = gateways()
    with capture_logs() as logs:
        fail_ten_times([first, second])
        for base, email in ((first, ADMIN_EMAIL), (second, f"  {ADMIN_EMAIL.upper()} ")):
            locked = login(base, email, ADMIN_PASSWORD)
            assert locked.status_code == 429, locked.text
            assert locked.headers["Content-Type"] == PROBLEM_JSON
            assert 0 < int(locked.headers["Retry-After"]) <= 900
            assert locked.json()["type"] == "/problems/too-many-requests"
            assert "access_token" not in locked.json()
        assert login(first, OTHER_EMAIL, OTHER_PASSWORD).status_code == 200
    audit = [entry for entry in logs if entry["event"] == "login_locked"]
    assert len(audit) == 1, audit
    assert audit[0]["log_level"] == "warning"
    assert audit[0]["email"] == ADMIN_EMAIL and audit[0]["address"] == "127.0.0.1"
    logged = json.dumps(logs, default=str)
    assert ADMIN_PASSWORD not in logged and "wrong-9" not in logged


def test_an_unknown_email_is_locked_with_the_same_answer_as_a_known_one(gateways):
    first, second = gateways()
    fail_ten_times([first, second], "nobody@example.test")
    fail_ten_times([second, first])
    unknown = login(first, "nobody@example.test", "whatever")
    known = login(first, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert unknown.status_code == known.status_code == 429
    assert {k: v for k, v in unknown.json().items() if k != "instance"} == {
        k: v for k, v in known.json().items() if k != "instance"
    }
    assert int(unknown.headers["Retry-After"]) > 0


def test_the_lock_ends_after_the_lockout_and_a_success_forgets_the_failures(gateways, gateway_db):
    first, second = gateways(CRM_LOGIN_LOCKOUT_SECONDS=4)
    fail_ten_times([first, second])
    locked = login(second, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 4
    eventually(
        lambda: login(second, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200,
        timeout=30,
        interval=0.5,
    )
    assert failures_of(gateway_db, ADMIN_EMAIL) is None
    assert login(first, ADMIN_EMAIL, "wrong").status_code == 401
    assert failures_of(gateway_db, ADMIN_EMAIL).failures == 1


def test_failures_older_than_the_window_start_a_fresh_count(gateways, gateway_db):
    first, second = gateways(CRM_LOGIN_FAILURE_WINDOW_SECONDS=2)
    for attempt in range(9):
        assert login([first, second][attempt % 2], ADMIN_EMAIL, "wrong").status_code == 401
    eventually(
        lambda: (
            failures_of(gateway_db, ADMIN_EMAIL).first_failed_at < utcnow() - timedelta(seconds=2.5)
        ),
        timeout=30,
    )
    for attempt in range(9):
        assert login([first, second][attempt % 2], ADMIN_EMAIL, "wrong").status_code == 401
    assert failures_of(gateway_db, ADMIN_EMAIL).failures <= 9
    assert login(first, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200


def test_failures_at_the_same_moment_from_two_processes_are_all_counted(gateway_db):
    throttles = [LoginThrottle(Database(gateway_db.url), max_failures=1000) for _ in range(2)]
    start = threading.Barrier(16)
    errors = []

    def fail(throttle):
        try:
            start.wait(timeout=30)
            throttle.failed("race@example.test", "203.0.113.1")
        except Exception as exc:  # reported below, with the count
            errors.append(exc)

    threads = [threading.Thread(target=fail, args=(throttles[i % 2],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert failures_of(gateway_db, "race@example.test").failures == 16
    for throttle in throttles:
        throttle.database.dispose()


def test_rows_that_no_longer_count_are_pruned_in_bounded_batches(gateway_db, monkeypatch):
    now = [utcnow()]
    throttle = LoginThrottle(
        gateway_db, max_failures=3, window_seconds=60, lockout_seconds=60, clock=lambda: now[0]
    )
    for email in ("stale-1@example.test", "stale-2@example.test", "stale-3@example.test"):
        throttle.failed(email, "203.0.113.1")
    for _ in range(3):
        throttle.failed("locked@example.test", "203.0.113.1")
    now[0] += timedelta(seconds=61)  # the stale rows' window and the lock have both passed
    throttle.failed("live@example.test", "203.0.113.1")
    monkeypatch.setattr(throttle_module, "PRUNE_BATCH", 3)
    assert throttle.prune() == 3
    assert throttle.prune() == 1
    assert throttle.prune() == 0
    assert failures_of(gateway_db, "live@example.test").failures == 1


def test_locking_an_account_prunes(gateway_db):
    now = [utcnow()]
    throttle = LoginThrottle(gateway_db, max_failures=2, window_seconds=60, clock=lambda: now[0])
    throttle.failed("stale@example.test", "203.0.113.1")
    now[0] += timedelta(seconds=61)
    throttle.failed("locked@example.test", "203.0.113.1")
    assert failures_of(gateway_db, "stale@example.test") is not None
    throttle.failed("locked@example.test", "203.0.113.1")
    assert failures_of(gateway_db, "stale@example.test") is None
    assert failures_of(gateway_db, "locked@example.test").locked_until is not None


def test_every_hundredth_failure_a_process_counts_prunes(gateway_db):
    now = [utcnow()]
    throttle = LoginThrottle(gateway_db, window_seconds=60, prune_every=3, clock=lambda: now[0])
    throttle.failed("stale@example.test", "203.0.113.1")
    now[0] += timedelta(seconds=61)
    throttle.failed("a@example.test", "203.0.113.1")
    assert failures_of(gateway_db, "stale@example.test") is not None
    throttle.failed("b@example.test", "203.0.113.1")
    assert failures_of(gateway_db, "stale@example.test") is None
    assert failures_of(gateway_db, "a@example.test").failures == 1


def gunicorn_gateway(database_url, log_file):
    """One gateway as production runs it: a gunicorn master and one worker process."""
    port = free_port()
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "DATABASE_URL": database_url,
        "CRM_ENV": "test",
        "LOGIN_RATE_LIMIT": "1000 per minute",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "gateway.wsgi:app"],
        cwd=ROOT,
        env=environ,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}"


def answers(base):
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_gunicorn_gateways_share_the_lock(gateway_db, tmp_path):
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    processes, bases = [], []
    with ExitStack() as files:
        try:
            for path in logs:
                log_file = files.enter_context(path.open("w"))
                process, base = gunicorn_gateway(gateway_db.url, log_file)
                processes.append(process)
                bases.append(base)
            for base in bases:
                eventually(lambda base=base: answers(base), timeout=60, interval=0.3)
            fail_ten_times(bases)
            for base in bases:
                locked = login(base, ADMIN_EMAIL, ADMIN_PASSWORD)
                assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    lines = [line for path in logs for line in path.read_text().splitlines()]
    audit = [json.loads(line) for line in lines if '"login_locked"' in line]
    assert len(audit) == 1 and audit[0]["email"] == ADMIN_EMAIL, audit
    assert not any(ADMIN_PASSWORD in line or "wrong-9" in line for line in lines)
