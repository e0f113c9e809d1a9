"""A pooled connection is pinged before reuse only when it sat idle; a dead one is replaced."""

import sqlite3

from sqlalchemy import create_engine, text
from sqlalchemy.pool import QueuePool

from shared.db import ping_when_idle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def engine_with(clock: Clock, pings: list, answers=None):
    engine = create_engine("sqlite://", poolclass=QueuePool, pool_size=1, max_overflow=0)
    ping = engine.dialect.do_ping

    def counted(dbapi_connection):
        pings.append(dbapi_connection)
        if answers:
            raise answers.pop(0)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    ping_when_idle(engine, seconds=5, clock=clock)
    return engine


def use(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT 1")).scalar_one()


def test_a_connection_reused_at_once_is_not_pinged():
    clock, pings = Clock(), []
    engine = engine_with(clock, pings)
    for _ in range(3):
        use(engine)
        clock.now += 1
    assert pings == []


def test_a_connection_that_idled_is_pinged_before_it_is_handed_out():
    clock, pings = Clock(), []
    engine = engine_with(clock, pings)
    use(engine)
    clock.now += 6
    use(engine)
    assert len(pings) == 1


def test_a_connection_that_fails_its_ping_is_replaced_before_anyone_uses_it():
    clock, pings = Clock(), []
    engine = engine_with(clock, pings, answers=[engine_error()])
    use(engine)
    first = engine.pool._pool.queue[0].dbapi_connection
    clock.now += 6
    assert use(engine) == 1
    assert engine.pool._pool.queue[0].dbapi_connection is not first


def engine_error():
    return sqlite3.OperationalError("server closed the connection unexpectedly")
