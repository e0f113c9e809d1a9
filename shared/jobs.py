"""Periodic jobs a service's worker runs on a thread of their own, e.g. SLA escalation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shared.logs import get_logger
from shared.metrics import JOB_RUNS

log = get_logger(__name__)


class Lock(Protocol):
    """A leader lock (shared/leader.py): held by at most one process at a time."""

    def acquire(self) -> bool: ...
    def release(self) -> None: ...


@dataclass(frozen=True)
class PeriodicJob:
    """`tick` at start and then every `every_seconds`; a failure is logged and waits a round.

    With a `lock` (the worker gives each job its own, `<service>-job-<name>`) only the replica
    holding it ticks, so the job runs once per period however many replicas there are; the
    others try for the lock every period and one takes over when the holder goes away. The
    job should still be safe to run twice (row locks, unique keys): a holder cut off from the
    database keeps ticking until it notices, and a run without a lock runs everywhere.
    """

    name: str
    every_seconds: float
    tick: Callable[[], Any]

    def run(self, stop: threading.Event, service: str = "unknown", lock: Lock | None = None):
        ok = JOB_RUNS.labels(service, self.name, "ok")
        error = JOB_RUNS.labels(service, self.name, "error")
        while not stop.is_set():
            try:
                if lock is None or lock.acquire():
                    self.tick()
                    ok.inc()
            except Exception:
                error.inc()
                log.exception("job_failed", job=self.name)
            stop.wait(self.every_seconds)
        if lock is not None:
            lock.release()
