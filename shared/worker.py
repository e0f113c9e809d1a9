"""A service's event worker: the outbox relay and its consumers, each on its own thread."""

from __future__ import annotations

import os
import signal
import threading

from prometheus_client import REGISTRY

from shared.config import Settings
from shared.consumer import Consumer
from shared.db import Database
from shared.health import run_checks, serve_health
from shared.housekeeping import Retention, housekeeping_job
from shared.jobs import PeriodicJob
from shared.leader import leader_lock
from shared.logs import get_logger
from shared.metrics import WORKER_READY, OutboxCollector, track_pool
from shared.relay import PikaPublisher, Relay
from shared.tracing import configure_tracing

log = get_logger(__name__)


def run_worker(
    *,
    settings: Settings,
    database: Database,
    outbox_model: type,
    consumers: list[Consumer] | None = None,
    retentions: list[Retention] | None = None,
    jobs: list[PeriodicJob] | None = None,
) -> int:
    """Run until SIGTERM/SIGINT; each thread opens its own AMQP connection."""
    configure_tracing(settings.service, engine=database.engine)
    stop = threading.Event()
    track_pool(settings.service, database.engine)
    consumers = consumers or []
    prefetch = settings.extra.get("CRM_CONSUMER_PREFETCH")
    for consumer in consumers:
        consumer.stop = stop
        consumer.amqp_url = consumer.amqp_url or settings.amqp_url
        if prefetch:
            consumer.prefetch = int(prefetch)

    def on_signal(signum, _frame):
        log.info("worker_stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    lock = leader_lock(database, f"{settings.service}-relay")
    relay = Relay(
        database=database,
        model=outbox_model,
        lock=lock,
        stop=stop,
        connect=lambda: PikaPublisher(settings.amqp_url),
        service=settings.service,
        safety_poll_seconds=float(settings.extra.get("CRM_RELAY_SAFETY_POLL_SECONDS", 5)),
    )
    jobs = list(jobs or [])
    if retentions:
        every = float(settings.extra.get("CRM_HOUSEKEEPING_SECONDS", 3600))
        jobs.append(housekeeping_job(database, retentions, every))
    threads = [threading.Thread(target=relay.run, name="relay")]
    threads += [threading.Thread(target=c.run, name=f"consumer:{c.queue}") for c in consumers]
    threads += [
        threading.Thread(
            target=j.run,
            # Each job its own leader lock: it runs on one replica per period.
            args=(
                stop,
                settings.service,
                leader_lock(database, f"{settings.service}-job-{j.name}"),
            ),
            name=f"job:{j.name}",
        )
        for j in jobs
    ]
    for thread in threads:
        thread.start()

    def broker_ok() -> bool:
        standby = not lock.held()
        # Ready once the relay publishes (or stands by) and every consumer's queue is
        # declared and bound: before that, an event published now would go unrouted.
        return (relay.connected or standby) and all(c.connected for c in consumers)

    ready = {"database": lambda: database.ping(), "broker": broker_ok}
    WORKER_READY.labels(settings.service).set_function(lambda: float(run_checks(ready)[0]))
    outbox = OutboxCollector(database, outbox_model, settings.service)
    REGISTRY.register(outbox)
    port = int(os.environ.get("HEALTH_PORT", "0"))
    server = None
    if port:
        server = serve_health(
            os.environ.get("HEALTH_HOST", "127.0.0.1"),
            port,
            alive=lambda: all(t.is_alive() for t in threads),
            ready=ready,
        )
    log.info("worker_started", service=settings.service, consumers=[c.queue for c in consumers])
    while not stop.is_set():
        if not all(t.is_alive() for t in threads):
            log.error("worker_thread_died")
            stop.set()
            break
        stop.wait(1)
    for thread in threads:
        thread.join(timeout=30)
    if server is not None:
        server.shutdown()
    REGISTRY.unregister(outbox)
    log.info("worker_stopped")
    return 0
