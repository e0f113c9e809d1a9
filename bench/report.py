"""The bench table: one row per figure, printed and written to var/bench/results.json."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "var/bench/results.json"


@dataclass(frozen=True)
class Figure:
    """A measured `value` and its `ratio` to a `baseline` measured in the same run.

    `goal` is the row's goal in words; `met` whether this run reached it. A row with no
    baseline (keyset, streams) has `baseline` None and its ratio against its own reference.
    A row that was not measured has `value` None, `met` False and the reason in `detail`.
    """

    name: str
    value: float | None
    unit: str
    baseline: float | None
    ratio: float | None
    goal: str
    met: bool
    detail: str = ""


@dataclass(frozen=True)
class Row:
    """A row of the table as the issue names it: its unit and its goal in words."""

    name: str
    unit: str
    goal: str


#: Every row, in the table's order.
ROWS = (
    Row("relay", "events/s", ">= 0.3 x raw pika and >= 5,000 events/s"),
    Row("event_latency", "ms p99", "p99 <= 50 ms at 200 events/s"),
    Row("gateway", "req/s", ">= 0.7 x direct"),
    Row("list", "req/s", ">= 0.5 x raw SQL + json.dumps"),
    Row("keyset", "ms", "page 20,000 / page 1 <= 1.2"),
    Row("post", "req/s", ">= 0.5 x raw insert"),
    Row("streams", "% of a core", "< 5 % of a core; all 1,000 streams within 1 s"),
    Row("consumer", "events/s", ">= 0.3 x raw consume + ack"),
)
ROW = {row.name: row for row in ROWS}


def not_measured(name: str, reason: str) -> Figure:
    """A row this run could not measure, with the reason in its detail."""
    row = ROW[name]
    return Figure(name, None, row.unit, None, None, row.goal, False, f"not measured: {reason}")


def table(figures: list[Figure]) -> str:
    lines = [f"{'figure':<14} {'value':>12} {'unit':<10} {'baseline':>12} {'ratio':>7}  goal"]
    for f in figures:
        baseline = "-" if f.baseline is None else f"{f.baseline:,.1f}"
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}"
        value = "-" if f.value is None else f"{f.value:,.1f}"
        mark = "met" if f.met else "NOT MET"
        lines.append(
            f"{f.name:<14} {value:>12} {f.unit:<10} {baseline:>12} {ratio:>7}  {f.goal} [{mark}]"
        )
        if f.detail:
            lines.append(f"{'':<14} {f.detail}")
    return "\n".join(lines)


def write(figures: list[Figure], path: Path = RESULTS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"figures": [asdict(f) for f in figures]}, indent=2) + "\n")
    return path
