"""The `streams` row: 1,000 idle notification streams held open against one web process.

The notifications service runs as in the Procfile (gunicorn, gevent worker, one process) on
PostgreSQL. An asyncio client opens 1,000 Server-Sent Events streams, one per user; then the
process's CPU (from /proc) is measured over `IDLE_SECONDS` of quiet, and one notification per
user is committed in a single transaction, timed until the last stream has it.
Run alone: `python -m bench.streams`.
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

from bench.report import ROW, Figure, table
from services.notifications.domain.delivery import deliver
from services.notifications.rules import Draft
from shared.auth import Identity
from shared.db import Database
from shared.ids import new_id
from shared.migrations import upgrade
from shared.testing.postgres import PostgresCluster, free_port
from shared.testing.tokens import issue_token

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = ROOT / "services/notifications/migrations"
STREAMS, IDLE_SECONDS, CPU_GOAL, FANOUT_GOAL_MS = 1_000, 10.0, 5.0, 1_000.0
OPENING_AT_ONCE = 50
STREAM_PATH = "/api/v1/notifications/stream"


def raise_file_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def start_service(database_url: str, amqp_url: str, port: int) -> subprocess.Popen:
    """`gunicorn` as the Procfile's `notifications` line runs it, with one worker process."""
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "GUNICORN_WORKER_CLASS": "gevent",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_WORKER_CONNECTIONS": str(STREAMS + 100),  # the streams and a health check
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    return subprocess.Popen(
        [*command, "services.notifications.wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("BENCH_STREAMS_LOG", os.devnull), "w"),
        preexec_fn=lambda: raise_file_limit(STREAMS * 2 + 200),
    )


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the notifications service exited at start")
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("the notifications service did not start")


def process_tree(pid: int) -> list[int]:
    """The gunicorn arbiter and its workers."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(int(child) for child in children)]


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


class Stream:
    """One SSE connection held by the asyncio client; `arrived` is when a notification came."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.connected = asyncio.Event()
        self.arrived: float | None = None
        self.reopened = 0
        self.writer: asyncio.StreamWriter | None = None

    async def run(self, opening: asyncio.Semaphore) -> None:
        """Hold the stream until a notification comes; reopen it if the server ends it first,
        as an EventSource would."""
        while self.arrived is None:
            await self.open(opening)
            if self.arrived is None:
                self.reopened += 1

    async def open(self, opening: asyncio.Semaphore) -> None:
        async with opening:
            reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.writer.write(
                f"GET {STREAM_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {self.token}\r\nAccept: text/event-stream\r\n\r\n".encode()
            )
            buffer = b""
            while b"retry:" not in buffer:
                chunk = await reader.read(4096)
                if not chunk:
                    raise RuntimeError(f"stream refused: {buffer[:200]!r}")
                buffer += chunk
        self.connected.set()
        while self.arrived is None:
            chunk = await reader.read(65536)
            if not chunk:
                self.writer.close()
                return
            buffer = buffer[-64:] + chunk
            if b"event: notification" in buffer:
                self.arrived = time.monotonic()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def notify_everyone(database: Database, users: list[str]) -> float:
    """One notification per user, committed in one transaction; the time of the commit."""
    with database.sessions() as session, session.begin():
        for user in users:
            draft = Draft(user, "Bench: the depot closes early today", "lead", new_id())
            deliver(session=session, event_id=new_id(), event_type="lead.assigned", draft=draft)
        session.flush()
        committing = time.monotonic()
    return committing


async def settled(pids: list[int], timeout: float = 120.0) -> None:
    """Until two seconds in a row cost under twice the goal: the opening load is over."""
    deadline, quiet = time.monotonic() + timeout, 0
    while quiet < 2 and time.monotonic() < deadline:
        before = cpu_seconds(pids)
        await asyncio.sleep(1.0)
        quiet = quiet + 1 if (cpu_seconds(pids) - before) * 100 < 2 * CPU_GOAL else 0


async def hold_streams(port: int, pids: list[int], database: Database) -> tuple[float, list, int]:
    users = [f"bench-{n}" for n in range(STREAMS)]
    streams = [Stream(port, issue_token(Identity(u, "sdr", f"{u}@x.test", u), 3600)) for u in users]
    opening = asyncio.Semaphore(OPENING_AT_ONCE)
    tasks = [asyncio.create_task(s.run(opening)) for s in streams]
    try:
        await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in streams)), 120)
        await settled(pids)  # the streams' first queries are done; now they only wait
        before, started = cpu_seconds(pids), time.monotonic()
        await asyncio.sleep(IDLE_SECONDS)
        cpu = (cpu_seconds(pids) - before) / (time.monotonic() - started) * 100
        committed = await asyncio.to_thread(notify_everyone, database, users)
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), 60)
        except TimeoutError:
            arrived = sum(s.arrived is not None for s in streams)
            raise RuntimeError(f"{arrived} of {STREAMS} streams had it after 60 s") from None
        reopened = sum(s.reopened for s in streams)
        return cpu, [(s.arrived - committed) * 1000 for s in streams], reopened
    finally:
        for stream in streams:
            stream.close()
        for task in tasks:
            task.cancel()


def measure(cluster, amqp_url: str) -> list[Figure]:
    """The `streams` row: idle CPU of 1,000 open streams, and their fan-out time."""
    url = cluster.create_database(f"bench_streams_{uuid.uuid4().hex[:8]}")
    upgrade(MIGRATIONS, url)
    raise_file_limit(STREAMS * 2 + 200)
    port = free_port()
    service = start_service(url, amqp_url, port)
    database = Database(url)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", service)
        pids = process_tree(service.pid)
        cpu, fanout_ms, reopened = asyncio.run(hold_streams(port, pids, database))
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=60)
        except subprocess.TimeoutExpired:
            service.kill()
        database.dispose()
    p100, p50 = max(fanout_ms), statistics.median(fanout_ms)
    return [
        Figure(
            name="streams",
            value=round(cpu, 2),
            unit=ROW["streams"].unit,
            baseline=None,
            ratio=round(cpu / CPU_GOAL, 2),  # the share of the CPU budget used
            goal=ROW["streams"].goal,
            met=cpu < CPU_GOAL and p100 < FANOUT_GOAL_MS,
            detail=(
                f"{STREAMS:,} idle streams (one per user), one gevent worker, "
                f"CPU over {IDLE_SECONDS:g} s; one notification per user in one commit "
                f"reached every stream in {p100:,.0f} ms (p100; p50 {p50:,.0f} ms); "
                f"streams the server ended and the client reopened: {reopened}"
            ),
        )
    ]


if __name__ == "__main__":
    cluster = PostgresCluster().start()
    try:
        amqp = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
        print(table(measure(cluster, amqp)))
    finally:
        cluster.stop()
