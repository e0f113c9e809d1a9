"""Under gunicorn's gevent worker (gateway, notifications) nothing blocks the event loop.

The check runs in a child process that monkey-patches itself as the gevent worker does, so
this test session stays unpatched.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.integration

CHILD = """
import json, sys, time
from gevent import monkey
monkey.patch_all()
import gevent
from sqlalchemy import text
from werkzeug.security import check_password_hash, generate_password_hash
from shared.cooperative import gevent_patched, off_the_loop
from shared.db import Database

database = Database(sys.argv[1])

def sleep_in_postgres():
    with database.engine.connect() as connection:
        connection.execute(text("SELECT pg_sleep(0.5)"))

started = time.perf_counter()
gevent.joinall([gevent.spawn(sleep_in_postgres) for _ in range(4)], raise_error=True)
queries = time.perf_counter() - started

ticks = []
def tick():
    while True:
        ticks.append(time.perf_counter())
        gevent.sleep(0.005)

hashed = generate_password_hash("a-long-password")
ticker = gevent.spawn(tick)
gevent.sleep(0.02)
started = time.perf_counter()
assert off_the_loop(check_password_hash, hashed, "a-long-password")
hashing = time.perf_counter() - started
ticker.kill()
gaps = [b - a for a, b in zip(ticks, ticks[1:])]
print(json.dumps({"patched": gevent_patched(), "queries": queries, "hashing": hashing,
                  "longest_stall": max(gaps)}))
"""


@pytest.fixture
def backend():
    return "postgresql"


def test_postgres_queries_and_password_checks_let_other_greenlets_run(database_url):
    result = subprocess.run(
        [sys.executable, "-c", CHILD, database_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["patched"] is True
    assert measured["queries"] < 1.5, measured  # four 0.5 s queries at once, not one by one
    assert measured["longest_stall"] < measured["hashing"] / 2, measured
