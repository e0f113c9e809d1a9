"""The load generator: wrk at a fixed concurrency, its output read into a `Run`."""

from __future__ import annotations

import re
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

POST_SCRIPT = Path(__file__).with_name("post_contacts.lua")
_RATE = re.compile(r"^Requests/sec:\s+([0-9.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ", re.MULTILINE)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", re.MULTILINE)
_ERRORS = re.compile(
    r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE
)


@dataclass(frozen=True)
class Run:
    """One wrk run: requests per second, how many requests, how many failed."""

    rate: float
    requests: int
    failures: int


def parse(output: str) -> Run:
    """Read wrk's summary; a failure is a non-2xx/3xx answer or a socket error."""
    rate, total = _RATE.search(output), _TOTAL.search(output)
    if rate is None or total is None:
        raise ValueError(f"not wrk output:\n{output}")
    failures = sum(int(n) for n in _NON_2XX.findall(output))
    errors = _ERRORS.search(output)
    if errors:
        failures += sum(int(n) for n in errors.groups())
    return Run(float(rate[1]), int(total[1]), failures)


def run(
    url: str,
    *,
    seconds: int,
    connections: int,
    headers: dict[str, str],
    script: Path | None = None,
    script_args: tuple[str, ...] = (),
) -> Run:
    """Load `url` for `seconds` with `connections` kept-alive connections on two threads."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return parse(done.stdout)


def median_ratio(numerators: list[float], denominators: list[float]) -> float:
    """The median of per-round ratios: each round's figure over its own baseline."""
    if not numerators or len(numerators) != len(denominators):
        raise ValueError("one baseline per round")
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))
