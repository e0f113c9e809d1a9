"""A service's web or worker process, started as the Procfile starts it, for fault tests.

Each process gets its own port, its own log file and its own process group, so a test can
SIGKILL or SIGTERM exactly the process it started (and a gunicorn master's workers with it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import requests

from shared.testing.helpers import eventually
from shared.testing.metrics import scrape, total
from shared.testing.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]


def closed_url() -> str:
    """An address nobody listens on: for the other services a process under test never needs."""
    return f"http://127.0.0.1:{free_port()}"


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    url: str
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def ready(self) -> bool:
        if not self.alive():
            raise AssertionError(f"{self.name} exited:\n{self.output()}")
        try:
            return requests.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def wait_ready(self, timeout: float = 60) -> Process:
        try:
            eventually(self.ready, timeout=timeout, interval=0.2)
        except AssertionError as exc:
            raise AssertionError(f"{self.name} is not ready:\n{self.output()}") from exc
        return self

    def metric(self, name: str, **labels: str) -> float:
        return total(scrape(self.url), name, **labels)

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, its connections just die."""
        self._signal(signal.SIGKILL)
        self.popen.wait(timeout=30)

    def terminate(self, timeout: float = 30) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not stop in time."""
        if not self.alive():
            return self.popen.returncode
        self._signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # its own group: a new session
            os.killpg(self.popen.pid, signum)

    def output(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def _start(name: str, command: list[str], env: dict[str, str], log_dir: Path, port: int):
    log = log_dir / f"{name}.log"
    popen = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    return Process(name, popen, f"http://127.0.0.1:{port}", log)


def base_env(database_url: str, amqp_url: str, **extra: str) -> dict[str, str]:
    """What every process needs (see scripts/run.sh), with other services out of reach."""
    nobody = closed_url()
    env = {
        **os.environ,
        "CRM_ENV": "test",
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "USERS_URL": nobody,
        "CONTACTS_URL": nobody,
        "SALES_URL": nobody,
        "SUPPORT_URL": nobody,
        "BILLING_URL": nobody,
        "NOTIFICATIONS_URL": nobody,
        "LOG_FORMAT": "json",
    }
    for name in ("JWKS_URL", "PROMETHEUS_MULTIPROC_DIR", "TEST_POSTGRES_URL"):
        env.pop(name, None)
    env.update(extra)
    return env


def start_worker(service: str, env: dict[str, str], log_dir: Path, name: str = "") -> Process:
    """`python -m services.<service> worker`, its probes and metrics on a port of its own."""
    port = free_port()
    command = [sys.executable, "-m", f"services.{service}", "worker"]
    worker_env = {**env, "HEALTH_PORT": str(port)}
    return _start(name or f"{service}-worker", command, worker_env, log_dir, port)


def start_web(service: str, env: dict[str, str], log_dir: Path, name: str = "") -> Process:
    """The service's gunicorn, as in the Procfile, with one worker process of a few threads."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    command.append(f"services.{service}.wsgi:app")
    web_env = {"WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4", **env, "PORT": str(port)}
    return _start(name or f"{service}-web", command, web_env, log_dir, port)


def start_gateway(
    env: dict[str, str], log_dir: Path, name: str = "gateway", port: int | None = None
) -> Process:
    """The gateway's gunicorn, gevent as in the Procfile, one worker process; on `port`, or a
    free one."""
    port = port or free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "gateway.wsgi:app"]
    web_env = {"WEB_CONCURRENCY": "1", "GUNICORN_WORKER_CLASS": "gevent", **env}
    return _start(name, command, {**web_env, "PORT": str(port)}, log_dir, port)


def migrate(service: str, env: dict[str, str]) -> None:
    """`python -m services.<service> migrate` against the env's DATABASE_URL."""
    subprocess.run(
        [sys.executable, "-m", f"services.{service}", "migrate"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def stop_all(processes: list[Process]) -> None:
    """SIGTERM every one still running, all at once, then wait for each."""
    for process in processes:
        if process.alive():
            process._signal(signal.SIGTERM)
    for process in processes:
        process.terminate()
