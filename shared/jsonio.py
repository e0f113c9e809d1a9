"""JSON that keeps money exact: numbers parse to Decimal, Decimal dumps as a string."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask.json.provider import DefaultJSONProvider


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any, **kwargs: Any) -> str:
    kwargs.setdefault("default", _default)
    kwargs.setdefault("separators", (",", ":"))
    return json.dumps(value, **kwargs)


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


class ExactJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, but floats in request bodies become Decimal, never float."""

    sort_keys = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_float", Decimal)
        return json.loads(s, **kwargs)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("default", _default)
        return json.dumps(obj, **kwargs)
