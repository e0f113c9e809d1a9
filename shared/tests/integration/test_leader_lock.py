"""The PostgreSQL leader lock: held without an open transaction, usable from two threads."""

import threading

import pytest
from sqlalchemy import text

from shared.leader import leader_lock
from shared.testing.helpers import unique

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]


def backend_states(database) -> list[str]:
    """The states of this database's other backends (the lock's connection among them)."""
    with database.engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT state FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )


def test_a_held_lock_keeps_no_transaction_open(contacts_db):
    """An idle transaction would hold back vacuum on the outbox for as long as it lasts."""
    contacts_db.engine.dispose()  # no pooled connection but the lock's
    lock = leader_lock(contacts_db, unique("relay"))
    assert lock.acquire()
    try:
        assert lock.held() and lock.held()
        states = backend_states(contacts_db)
        assert "idle in transaction" not in states, states
        assert "idle" in states
    finally:
        lock.release()


def test_the_relay_and_the_health_probe_may_ask_at_once(contacts_db):
    lock = leader_lock(contacts_db, unique("relay"))
    assert lock.acquire()
    answers: list[bool] = []

    def ask() -> None:
        answers.extend(lock.held() for _ in range(200))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert answers == [True] * 800
    finally:
        lock.release()
