"""docs/access.md's matrix as test parameters: each service checks its own rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs/access.md"


def matrix_rows(resources: tuple[str, ...]) -> Iterator:
    """One pytest param (resource, action, role, allowed) per cell of the given resources."""
    text = DOC.read_text()
    table = text.split("<!-- access-matrix:start -->")[1].split("<!-- access-matrix:end -->")[0]
    lines = [line for line in table.strip().splitlines() if line.startswith("|")]
    roles = [cell.strip() for cell in lines[0].strip("|").split("|")][2:]
    for line in lines[2:]:
        resource, action, *cells = [cell.strip() for cell in line.strip("|").split("|")]
        if resource in resources:
            for role, cell in zip(roles, cells, strict=True):
                yield pytest.param(
                    resource,
                    action,
                    role,
                    cell == "yes",
                    id=f"{resource}-{action.replace(' ', '_')}-{role}",
                )
