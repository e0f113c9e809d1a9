"""The contacts worker as a real process: probes answer, SIGTERM stops it cleanly."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from shared.testing.fixtures import migrated
from shared.testing.helpers import eventually
from shared.testing.postgres import free_port

ROOT = Path(__file__).resolve().parents[4]
pytestmark = pytest.mark.integration


@pytest.fixture
def backend():
    return "sqlite"


def test_the_worker_reports_ready_and_exits_cleanly_on_sigterm(database_url, amqp_url, tmp_path):
    migrated(database_url, ROOT / "services/contacts/migrations").dispose()
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
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        log.seek(0)
        assert '"worker_stopped"' in log.read()
    finally:
        if process.poll() is None:
            process.kill()


def _quietly(check):
    try:
        result = check()
        return result if result.get("status") == "ok" else None
    except requests.RequestException:
        return None
