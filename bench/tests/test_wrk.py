"""Reading wrk's summary and combining rounds; no timing is measured here."""

import pytest

from bench.wrk import median_ratio, parse

CLEAN = """Running 3s test @ http://127.0.0.1:8001/api/v1/contacts?limit=50
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    40.12ms   10.01ms 120.00ms   70.00%
    Req/Sec   200.11     30.20   260.00     68.00%
  1203 requests in 3.01s, 9.80MB read
Requests/sec:    399.67
Transfer/sec:      3.26MB
"""

FAILING = """Running 3s test @ http://127.0.0.1:8080/api/v1/contacts
  2 threads and 16 connections
  900 requests in 3.00s, 1.10MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:    300.00
Transfer/sec:    375.00KB
"""


def test_a_clean_run_reads_its_rate_and_request_count():
    run = parse(CLEAN)
    assert (run.rate, run.requests, run.failures) == (399.67, 1203, 0)


def test_non_2xx_answers_and_socket_errors_count_as_failures():
    assert parse(FAILING).failures == 10


def test_output_that_is_not_wrks_is_refused():
    with pytest.raises(ValueError):
        parse("wrk: command not found")


def test_the_ratio_is_the_median_of_each_rounds_own_ratio():
    # Per-round ratios 0.5, 0.8, 0.9: the median is 0.8, not the ratio of medians (150/200).
    assert median_ratio([50, 160, 180], [100, 200, 200]) == pytest.approx(0.8)


def test_every_round_needs_its_baseline():
    with pytest.raises(ValueError):
        median_ratio([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        median_ratio([], [])
