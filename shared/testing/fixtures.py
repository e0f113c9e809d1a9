"""pytest fixtures: a real PostgreSQL and RabbitMQ for integration tests, provisioned on demand."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

from shared.db import Database
from shared.migrations import upgrade
from shared.testing.postgres import ExternalPostgres, PostgresCluster

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def _reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """A reachable RabbitMQ; started (or installed) by scripts/ensure-rabbitmq.sh if needed."""
    url = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
    parsed = urlparse(url)
    if not _reachable(parsed.hostname or "127.0.0.1", parsed.port or 5672):
        result = subprocess.run(
            [str(ROOT / "scripts/ensure-rabbitmq.sh")],
            env={**os.environ, "AMQP_URL": url},
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            pytest.fail(f"no RabbitMQ for integration tests: {result.stderr.strip()}")
    return url


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the whole run: TEST_POSTGRES_URL, or a throwaway local cluster."""
    url = os.environ.get("TEST_POSTGRES_URL")
    server = ExternalPostgres(url) if url else PostgresCluster().start()
    yield server
    server.stop()


def fresh_database_url(backend: str, tmp_path: Path, postgres_factory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/test-{uuid.uuid4().hex[:8]}.db"
    return postgres_factory().create_database(f"t_{uuid.uuid4().hex[:12]}")


def migrated(url: str, migrations_dir: Path) -> Database:
    """A database with the service's real Alembic migrations applied."""
    upgrade(migrations_dir, url)
    return Database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(backend, tmp_path, request) -> str:
    """A fresh, empty database on the parametrised backend."""
    return fresh_database_url(backend, tmp_path, lambda: request.getfixturevalue("postgres"))


@pytest.fixture
def spans():
    """An InMemorySpanExporter holding the spans that end during the test."""
    from shared.testing.tracing import recorded_spans

    with recorded_spans() as exporter:
        yield exporter
