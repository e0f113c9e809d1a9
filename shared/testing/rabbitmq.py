"""A private RabbitMQ node for one test: its own name, ports and data, loopback only.

For tests that stop or restart the broker, which they must never do to the shared one. The
node keeps its data across `stop` and `start`, as a restarted broker does. Started through
Debian's `rabbitmq-server` wrapper, which runs the node as the `rabbitmq` user when we are
root (and then shares that user's Erlang cookie with `rabbitmqctl`); otherwise the node runs
as us, with a cookie in its own folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import pika

from shared.testing.helpers import eventually
from shared.testing.postgres import free_port

LIB = Path("/usr/lib/rabbitmq/bin")
QUICK = "?connection_attempts=1&socket_timeout=2&blocked_connection_timeout=2"


def available() -> bool:
    return shutil.which("rabbitmq-server") is not None and shutil.which("rabbitmqctl") is not None


class RabbitNode:
    def __init__(self) -> None:
        self.name = f"crm-test-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="crm-rabbit-"))
        self.as_root = os.geteuid() == 0
        (self.root / "log").mkdir()
        (self.root / "enabled_plugins").write_text("[].\n")  # no management port to clash
        (self.root / "rabbitmq.conf").write_text("# a test node: defaults only\n")
        if self.as_root:
            for path in (self.root, *self.root.iterdir()):
                shutil.chown(path, "rabbitmq", "rabbitmq")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_PID_FILE": str(self.root / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
        }
        if not self.as_root:
            env["HOME"] = str(self.root)  # the Erlang cookie of the node and of rabbitmqctl
        return env

    def _command(self, name: str) -> str:
        return name if self.as_root or not (LIB / name).exists() else str(LIB / name)

    def ctl(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self._command("rabbitmqctl"), "-n", self.name, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self) -> RabbitNode:
        """Start the node and wait until it takes AMQP connections."""
        return self.launch().wait_up()

    def launch(self) -> RabbitNode:
        """Start the node without waiting for it (it boots while the caller does other work)."""
        self.process = subprocess.Popen(
            [self._command("rabbitmq-server")],
            env=self.env(),
            stdout=(self.root / "server.out").open("a"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    def wait_up(self, timeout: float = 90) -> RabbitNode:
        try:
            eventually(self._up, timeout=timeout, interval=0.5)
        except AssertionError:
            raise RuntimeError(
                f"RabbitMQ node {self.name} did not start:\n{self.output()}"
            ) from None
        return self

    def _up(self) -> bool:
        """AMQP answers: the listener opens last, once the node has booted and recovered."""
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"rabbitmq-server exited:\n{self.output()}")
        try:
            pika.BlockingConnection(pika.URLParameters(self.url + QUICK)).close()
        except pika.exceptions.AMQPError:
            return False
        return True

    def stop_app(self) -> None:
        """Stop RabbitMQ itself, its Erlang VM staying up: every connection is closed, the
        listener goes, and the queues are recovered from disk by `start_app`."""
        self._ctl_ok("stop_app")

    def start_app(self) -> None:
        self._ctl_ok("start_app")
        self.wait_up()

    def _ctl_ok(self, *args: str) -> None:
        result = self.ctl(*args)
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr}")

    def stop(self) -> None:
        """Stop the node, keeping its data; its clients' connections are cut."""
        if self.process is None:
            return
        self.ctl("stop", timeout=60)
        self._reap()

    def close(self) -> None:
        """Kill the node (its data goes too, so there is nothing to shut down cleanly)."""
        try:
            if self.process is not None:
                self._kill()
                self._reap()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _kill(self) -> None:
        """SIGKILL the Erlang VM (by its pid file: it runs outside the wrapper's group)."""
        pid = self._node_pid()
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def _node_pid(self) -> int | None:
        try:
            return int((self.root / "pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def _reap(self) -> None:
        assert self.process is not None
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._kill()
            self.process.wait(timeout=10)
        self.process = None

    def output(self) -> str:
        path = self.root / "server.out"
        return path.read_text()[-3000:] if path.exists() else ""
