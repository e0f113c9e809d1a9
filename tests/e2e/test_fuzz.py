"""A bounded schemathesis pass over every operation, as admin: no 5xx, every answer as documented.

It fuzzes a system of its own on PostgreSQL (the fuzzer disables users and deletes records);
`make fuzz` runs the same checks longer (tests/fuzz.py).
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import SERVICES
from tests.fuzz import fuzz_a_system_of_its_own

pytestmark = pytest.mark.e2e


# About 160 s alone on a 2-core machine, twice that on a loaded one: a bound well above both.
@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    postgres, amqp_url, tmp_path
):
    databases = {
        name: postgres.create_database(f"fuzz_{name}_{int(time.time())}")
        for name in ("gateway", *SERVICES)
    }
    result = fuzz_a_system_of_its_own(
        tmp_path, databases, amqp_url, max_examples=5, seed=1, report_dir=tmp_path
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    assert "Stateful" in output and "passed" in output, output[-5000:]
