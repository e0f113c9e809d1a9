"""Periodic jobs with two worker replicas: one replica runs each job, the other takes over.

SLA escalation (support), overdue invoices (billing) and housekeeping (both) each hold a
leader lock of their own, `<service>-job-<name>` (shared/worker.py).
"""

from __future__ import annotations

import pytest

from shared.testing.helpers import delete_consumer_queues, eventually, unique
from shared.testing.processes import Process, base_env, start_worker

pytestmark = pytest.mark.integration
JOBS = {"support": "sla-escalation", "billing": "overdue"}
EVERY_SECOND = {
    "CRM_SLA_ESCALATION_SECONDS": "1",
    "CRM_OVERDUE_INTERVAL_SECONDS": "1",
    "CRM_HOUSEKEEPING_SECONDS": "1",
}


def runs(worker: Process, job: str) -> float:
    return worker.metric("crm_job_runs_total", job=job, outcome="ok")


def test_each_job_runs_on_one_replica_per_period_and_the_standby_takes_over(
    service_db, amqp_url, processes, tmp_path
):
    queues = {service: unique(f"faults-{service}") + ".events" for service in JOBS}
    pairs: dict[str, list[Process]] = {}
    try:
        for service in JOBS:
            env = base_env(
                service_db(service).url,
                amqp_url,
                **EVERY_SECOND,
                **{f"CRM_{service.upper()}_QUEUE": queues[service]},
            )
            pairs[service] = [
                start_worker(service, env, tmp_path, f"{service}-worker-{n}") for n in (1, 2)
            ]
            processes.extend(pairs[service])
        for worker in processes:
            worker.wait_ready()

        leaders = {}
        for service, job in JOBS.items():
            for name in (job, "housekeeping"):
                pair = pairs[service]
                eventually(lambda pair=pair, name=name: max(runs(w, name) for w in pair) >= 3)
                counts = [runs(w, name) for w in pair]
                assert min(counts) == 0, f"{service} {name} ran on both replicas: {counts}"
            leaders[service] = max(pairs[service], key=lambda w, job=job: runs(w, job))

        for leader in leaders.values():
            leader.kill()
        for service, job in JOBS.items():
            [standby] = [w for w in pairs[service] if w is not leaders[service]]
            for name in (job, "housekeeping"):  # the survivor now runs every job
                eventually(lambda w=standby, name=name: runs(w, name) > 0, timeout=60)
    finally:
        for queue in queues.values():
            delete_consumer_queues(amqp_url, queue)
