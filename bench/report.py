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
    """

    name: str
    value: float
    unit: str
    baseline: float | None
    ratio: float | None
    goal: str
    met: bool
    detail: str = ""


def table(figures: list[Figure]) -> str:
    lines = [f"{'figure':<14} {'value':>12} {'unit':<10} {'baseline':>12} {'ratio':>7}  goal"]
    for f in figures:
        baseline = "-" if f.baseline is None else f"{f.baseline:,.1f}"
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}"
        mark = "met" if f.met else "NOT MET"
        lines.append(
            f"{f.name:<14} {f.value:>12,.1f} {f.unit:<10} {baseline:>12} {ratio:>7}  "
            f"{f.goal} [{mark}]"
        )
        if f.detail:
            lines.append(f"{'':<14} {f.detail}")
    return "\n".join(lines)


def write(figures: list[Figure], path: Path = RESULTS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"figures": [asdict(f) for f in figures]}, indent=2) + "\n")
    return path
