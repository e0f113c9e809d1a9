"""`make bench`: every row of the table, each with a baseline measured in the same run.

Row groups are modules with `measure(cluster, amqp_url) -> list[Figure]`. A group that is
absent, or that raises, has its rows reported as not measured (with the reason) and the run
goes on; nothing here asserts a figure.
"""

from __future__ import annotations

import importlib
import os
import time
import traceback

from bench import report
from bench.report import ROWS, Figure, not_measured
from shared.testing.postgres import PostgresCluster

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
#: Each group's module and the rows it measures.
GROUPS = {
    "bench.events": ("relay", "event_latency", "consumer"),
    "bench.web": ("gateway", "list", "post"),
    "bench.keyset": ("keyset",),
    "bench.streams": ("streams",),
}


def run_group(module: str, rows: tuple[str, ...], cluster, amqp_url: str) -> list[Figure]:
    """The group's figures for `rows`; a row it did not give is reported as not measured."""
    try:
        group = importlib.import_module(module)
        figures = {f.name: f for f in group.measure(cluster, amqp_url)}
    except ModuleNotFoundError as exc:
        if exc.name != module:  # something the group needs: the group failed
            return [not_measured(name, f"{module} failed: {exc}") for name in rows]
        return [not_measured(name, f"{module} is absent") for name in rows]
    except Exception as exc:
        traceback.print_exc()
        return [
            not_measured(name, f"{module} failed: {type(exc).__name__}: {exc}") for name in rows
        ]
    return [figures.get(name) or not_measured(name, f"{module} gave no figure") for name in rows]


def collect(cluster, amqp_url: str, groups: dict[str, tuple[str, ...]] = GROUPS) -> list[Figure]:
    """Every group's figures, in the table's order."""
    figures: dict[str, Figure] = {}
    for module, rows in groups.items():
        started = time.perf_counter()
        for figure in run_group(module, rows, cluster, amqp_url):
            figures[figure.name] = figure
        print(f"{module}: {time.perf_counter() - started:.0f} s", flush=True)
    order = [row.name for row in ROWS]
    return sorted(figures.values(), key=lambda f: order.index(f.name))


def main() -> None:
    amqp_url = os.environ.get("AMQP_URL", AMQP_URL)
    cluster = PostgresCluster().start()
    try:
        figures = collect(cluster, amqp_url)
        print()
        print(report.table(figures))
        print(f"\nwritten to {report.write(figures)}\n")
        from bench.sales import bench_reports, timed

        bench_reports(cluster.create_database("bench_sales"), timed)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
