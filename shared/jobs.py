"""Periodic jobs a service's worker runs on a thread of their own, e.g. SLA escalation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.logs import get_logger
from shared.metrics import JOB_RUNS

log = get_logger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    """`tick` at start and then every `every_seconds`; a failure is logged and waits a round.

    The job itself must be safe to run on several replicas at once (row locks, unique keys):
    every worker replica runs it.
    """

    name: str
    every_seconds: float
    tick: Callable[[], Any]

    def run(self, stop: threading.Event, service: str = "unknown") -> None:
        ok = JOB_RUNS.labels(service, self.name, "ok")
        error = JOB_RUNS.labels(service, self.name, "error")
        while not stop.is_set():
            try:
                self.tick()
                ok.inc()
            except Exception:
                error.inc()
                log.exception("job_failed", job=self.name)
            stop.wait(self.every_seconds)
