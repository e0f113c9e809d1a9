"""schemathesis against the running system, as admin, through the gateway.

`make fuzz` starts a system of its own (SQLite, the local RabbitMQ, free ports), fuzzes every
operation of the merged OpenAPI document, the stateful phase included, and stops it:

    python -m tests.fuzz [--max-examples N] [--max-time SECONDS] [--seed N]

tests/e2e/test_fuzz.py runs a bounded pass of the same against the e2e system in `make test`.
Checks: no 5xx on any input (`not_a_server_error`) and every response as documented
(`response_schema_conformance`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from shared.testing.helpers import delete_consumer_queues

CHECKS = "not_a_server_error,response_schema_conformance"
PHASES = "examples,coverage,fuzzing,stateful"
#: A live stream answers for minutes by design (tests/e2e/test_notifications.py covers it).
EXCLUDED_PATHS = ("/api/v1/notifications/stream",)


def schemathesis(
    gateway: str,
    token: str,
    *,
    max_examples: int,
    max_time: int | None = None,
    seed: int | None = None,
    report_dir: Path | None = None,
) -> subprocess.CompletedProcess:
    """Run the schemathesis CLI against `gateway`; the caller reads the exit code and output."""
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{gateway}/api/v1/openapi.json",
        "--url",
        gateway,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--phases",
        PHASES,
        "--max-examples",
        str(max_examples),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        *(arg for path in EXCLUDED_PATHS for arg in ("--exclude-path", path)),
        "--generation-database",
        "none",
        "--no-color",
    ]
    if max_time is not None:
        command += ["--max-time", str(max_time)]
    if seed is not None:
        command += ["--seed", str(seed)]
    if report_dir is not None:
        command += ["--report", "junit", "--report-dir", str(report_dir)]
    return subprocess.run(
        command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=3600
    )


def fuzz_a_system_of_its_own(
    tmp: Path, databases: dict[str, str], amqp_url: str, **options
) -> subprocess.CompletedProcess:
    """Start a whole system on `databases`, fuzz it as its admin, stop it.

    Its own system, because the fuzzer does what an admin may: it disables users, deletes
    records and renames things, which no other test should have to live with.
    """
    from tests.e2e.conftest import ADMIN, RunningSystem

    system = RunningSystem(tmp, databases, amqp_url).start()
    try:
        token = system.login(ADMIN["email"], ADMIN["password"])["Authorization"].split()[1]
        return schemathesis(system.gateway, token, **options)
    finally:
        system.stop()
        delete_consumer_queues(amqp_url, system.notifications_queue)
        delete_consumer_queues(amqp_url, system.sales_queue)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=50)
    parser.add_argument("--max-time", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)

    from tests.e2e.conftest import SERVICES

    amqp_url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    with tempfile.TemporaryDirectory(prefix="crm-fuzz-") as tmp:
        databases = {name: f"sqlite:///{tmp}/{name}.db" for name in ("gateway", *SERVICES)}
        result = fuzz_a_system_of_its_own(
            Path(tmp),
            databases,
            amqp_url,
            max_examples=args.max_examples,
            max_time=args.max_time,
            seed=args.seed,
        )
    print(result.stdout, end="")
    print(result.stderr, end="", file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
