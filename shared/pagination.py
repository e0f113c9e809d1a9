"""Keyset (cursor) pagination: page 10,000 costs what page 1 costs, no OFFSET anywhere."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import Session

from shared.errors import ValidationFailed


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None


def _encode(sort: str, value: Any, row_id: str) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    raw = json.dumps([sort, value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_after(sort: str, row: Any) -> str:
    """The cursor of the page that starts just after `row` in the order `sort` names."""
    return _encode(sort, getattr(row, sort.removeprefix("-")), row.id)


def _decode(cursor: str, sort: str) -> tuple[Any, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, row_id = json.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["dt"])
    except (ValueError, TypeError, KeyError) as exc:
        raise ValidationFailed({"cursor": ["Not a valid cursor."]}) from exc
    if cursor_sort != sort:
        raise ValidationFailed({"cursor": ["This cursor belongs to another sort order."]})
    return value, str(row_id)


def paginate(
    session: Session,
    stmt: Select,
    *,
    model: Any,
    sort: str,
    sortable: tuple[str, ...],
    limit: int,
    cursor: str | None,
) -> Page:
    """Order by (sort column, id) and continue strictly after the cursor's row."""
    field = sort.removeprefix("-")
    if field not in sortable:
        raise ValidationFailed(
            {"sort": [f"Sort by one of: {', '.join(sortable)} (prefix - to reverse)."]}
        )
    column, key = getattr(model, field), model.id
    descending = sort.startswith("-")
    if cursor:
        value, row_id = _decode(cursor, sort)
        after = (
            tuple_(column, key) < tuple_(value, row_id)
            if descending
            else (tuple_(column, key) > tuple_(value, row_id))
        )
        stmt = stmt.where(after)
    order = (column.desc(), key.desc()) if descending else (column.asc(), key.asc())
    rows = session.scalars(stmt.order_by(*order).limit(limit + 1)).all()
    items = list(rows[:limit])
    next_cursor = None
    if len(rows) > limit:
        next_cursor = cursor_after(sort, items[-1])
    return Page(items, next_cursor)


def paginate_args(
    session: Session, stmt: Select, *, model: Any, sortable: tuple[str, ...], args: dict[str, Any]
) -> Page:
    """`paginate` with a list endpoint's parsed `sort`, `limit` and `cursor` arguments."""
    return paginate(
        session,
        stmt,
        model=model,
        sort=args["sort"],
        sortable=sortable,
        limit=args["limit"],
        cursor=args["cursor"],
    )
