"""What runs once however many replicas: jobs behind their leader lock, a relay that outlives
an unreachable database, and the answer a web process gives meanwhile."""

import threading

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from services.contacts.models import Base, OutboxEvent
from shared.db import Database
from shared.errors import register_error_handlers
from shared.jobs import PeriodicJob
from shared.leader import FileLeaderLock
from shared.outbox import Outbox
from shared.relay import FakePublisher, Relay
from shared.testing.helpers import eventually


class FlakyLock:
    """A leader lock whose first `failures` acquisitions raise, as with the database down."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.released = False

    def acquire(self) -> bool:
        if self.failures:
            self.failures -= 1
            raise OperationalError("SELECT pg_try_advisory_lock(1)", {}, OSError("refused"))
        return True

    def held(self) -> bool:
        return True

    def release(self) -> None:
        self.released = True


def test_of_two_replicas_of_a_job_only_the_lock_holder_runs_it(tmp_path):
    stop, ticks = threading.Event(), {"a": 0, "b": 0}

    def replica(name: str) -> threading.Thread:
        def tick():
            ticks[name] += 1

        lock = FileLeaderLock(f"{tmp_path}/svc.svc-job-sweep.lock")
        job = PeriodicJob("sweep", 0.01, tick)
        return threading.Thread(target=job.run, args=(stop, "svc", lock))

    first = replica("a")
    first.start()
    eventually(lambda: ticks["a"] >= 3)
    second = replica("b")
    second.start()
    eventually(lambda: ticks["a"] >= 20)
    assert ticks["b"] == 0
    stop.set()
    first.join(10)
    second.join(10)


def test_a_job_whose_lock_cannot_be_had_waits_a_round_and_tries_again():
    stop, ticks = threading.Event(), []
    lock = FlakyLock(failures=2)

    def tick():
        ticks.append(1)
        stop.set()

    PeriodicJob("sweep", 0, tick).run(stop, "svc", lock)
    assert ticks == [1] and lock.failures == 0 and lock.released


def test_the_relay_survives_a_lock_acquisition_that_raises_and_then_publishes(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/relay.db")
    Base.metadata.create_all(database.engine)
    with database.transaction() as session:
        Outbox(OutboxEvent, "unit").record(session, "thing.happened", {"id": "t1"})
    stop = threading.Event()
    relay = Relay(
        database=database,
        model=OutboxEvent,
        connect=FakePublisher,
        lock=FlakyLock(failures=2),
        stop=stop,
    )
    thread = threading.Thread(target=relay.run)
    thread.start()
    try:
        eventually(lambda: _unpublished(database) == 0, timeout=30)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(10)
        database.dispose()


def _unpublished(database) -> int:
    with database.sessions() as session:
        where = OutboxEvent.published_at.is_(None)
        return session.scalar(select(func.count()).select_from(OutboxEvent).where(where))


def app_raising(error: Exception) -> Flask:
    app = Flask(__name__)
    register_error_handlers(app)

    @app.get("/boom")
    def boom():
        raise error

    return app


def test_an_unreachable_database_is_a_503_problem_with_retry_after():
    refused = OperationalError("SELECT 1", {}, OSError("connection refused"))
    response = app_raising(refused).test_client().get("/boom")
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.json["type"] == "/problems/storage-unavailable"
    assert int(response.headers["Retry-After"]) > 0


def test_any_other_database_error_stays_a_500():
    broken = IntegrityError("INSERT", {}, Exception("duplicate key"))
    response = app_raising(broken).test_client().get("/boom")
    assert response.status_code == 500 and "Retry-After" not in response.headers
