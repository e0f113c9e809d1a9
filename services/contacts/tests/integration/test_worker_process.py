"""The contacts worker as a real process: probes answer, it prunes, SIGTERM stops it cleanly."""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from services.contacts.models import IdempotencyKey
from shared.db import utcnow
from shared.testing.fixtures import migrated
from shared.testing.helpers import eventually
from shared.testing.postgres import free_port

ROOT = Path(__file__).resolve().parents[4]
pytestmark = pytest.mark.integration


@pytest.fixture
def backend():
    return "sqlite"


def test_the_worker_reports_ready_and_exits_cleanly_on_sigterm(database_url, amqp_url, tmp_path):
    database = migrated(database_url, ROOT / "services/contacts/migrations")
    with database.transaction() as session:  # a key two days old: housekeeping removes it
        session.add(
            IdempotencyKey(
                caller="u",
                key="stale",
                fingerprint="f",
                status_code=201,
                body="{}",
                headers="{}",
                created_at=utcnow() - timedelta(days=2),
            )
        )
    port = free_port()
    log = (tmp_path / "worker.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.contacts", "worker"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "AMQP_URL": amqp_url,
            "HEALTH_PORT": str(port),
            "CRM_ENV": "test",
        },
    )
    try:

        def ready():
            return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).json()

        body = eventually(lambda: _quietly(ready), timeout=30)
        assert body["checks"] == {"database": "ok", "broker": "ok"}
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        eventually(lambda: _keys(database) == 0, timeout=15)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        log.seek(0)
        assert '"worker_stopped"' in log.read()
    finally:
        if process.poll() is None:
            process.kill()
        database.dispose()


def _keys(database) -> int:
    with database.sessions() as session:
        return session.query(IdempotencyKey).count()


def _quietly(check):
    try:
        result = check()
        return result if result.get("status") == "ok" else None
    except requests.RequestException:
        return None
