"""The bench driver and its table, with fake row groups: nothing here measures anything."""

import json
import sys
import types

import pytest

from bench import report, run
from bench.report import Figure

NAMES = ["relay", "event_latency", "gateway", "list", "keyset", "post", "streams", "consumer"]


def group(name, measure):
    module = types.ModuleType(name)
    module.measure = measure
    return module


@pytest.fixture
def groups(monkeypatch):
    """Fake modules for the four groups: events measures, web raises, keyset and streams absent."""

    def events(_cluster, _amqp_url):
        return [
            Figure("relay", 6000.0, "events/s", 10000.0, 0.6, "goal", True),
            Figure("consumer", 900.0, "events/s", 2000.0, 0.45, "goal", True),
        ]

    def web(_cluster, _amqp_url):
        raise RuntimeError("no wrk here")

    fakes = {"bench.events": group("bench.events", events), "bench.web": group("bench.web", web)}
    for name, module in fakes.items():
        monkeypatch.setitem(sys.modules, name, module)
    for name in ("bench.keyset", "bench.streams"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ModuleNotFoundError
    return fakes


def test_every_row_is_reported_in_the_tables_order(groups):
    figures = run.collect(None, "amqp://unused")
    assert [f.name for f in figures] == NAMES


def test_an_absent_group_and_a_failing_group_give_not_measured_rows(groups):
    figures = {f.name: f for f in run.collect(None, "amqp://unused")}
    assert figures["relay"].met and figures["relay"].value == 6000.0
    assert figures["event_latency"].detail == "not measured: bench.events gave no figure"
    for name in ("gateway", "list", "post"):
        assert not figures[name].met and figures[name].value is None
        assert "no wrk here" in figures[name].detail
    for name in ("keyset", "streams"):
        assert figures[name].detail.startswith("not measured: ")
        assert not figures[name].met


def test_results_json_names_the_eight_rows_with_their_fields(groups, tmp_path):
    path = report.write(run.collect(None, "amqp://unused"), tmp_path / "results.json")
    written = json.loads(path.read_text())
    assert [f["name"] for f in written["figures"]] == NAMES
    for figure in written["figures"]:
        assert {"name", "value", "unit", "baseline", "ratio", "goal", "met"} <= figure.keys()


def test_the_table_states_each_rows_goal_and_whether_it_was_met(groups):
    lines = report.table(run.collect(None, "amqp://unused")).splitlines()
    relay = next(line for line in lines if line.startswith("relay"))
    assert "6,000.0" in relay and "0.60" in relay and "[met]" in relay
    keyset = next(line for line in lines if line.startswith("keyset"))
    assert "page 20,000 / page 1 <= 1.2" in keyset and "[NOT MET]" in keyset


def test_every_row_of_the_issue_has_a_goal():
    assert [row.name for row in report.ROWS] == NAMES
    assert sum(len(rows) for rows in run.GROUPS.values()) == len(NAMES)
