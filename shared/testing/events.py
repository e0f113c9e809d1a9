"""Event bodies for tests that pass their consumer's schema check: missing fields filled in.

A test names the fields it cares about; every other field its type's published schema
requires gets a plain valid value (null where the schema allows it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.events import envelope
from shared.schemas import schema_path, validator


def _plain(prop: dict[str, Any]) -> Any:
    types = prop.get("type", "string")
    types = types if isinstance(types, list) else [types]
    if "null" in types:
        return None
    if "enum" in prop:
        return prop["enum"][0]
    kind = types[0]
    if kind == "string":
        if prop.get("format") == "date-time":
            return datetime.now(UTC).isoformat()
        if prop.get("format") == "date":
            return datetime.now(UTC).date().isoformat()
        if "pattern" in prop:  # money
            return "0.00"
        return "x" * max(1, prop.get("minLength", 1))
    if kind in ("integer", "number"):
        return prop.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    return {}


def complete(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` with every other required field of `event_type`'s data filled in."""
    if not schema_path(event_type).is_file():
        return data  # a test's own event type: no published schema to satisfy
    schema = validator(event_type).schema["properties"]["data"]
    filled = dict(data)
    for name in schema.get("required", []):
        if name not in filled:
            filled[name] = _plain(schema["properties"].get(name, {}))
    return filled


def event_body(*, event_type: str, data: dict[str, Any], source: str = "", **kwargs) -> bytes:
    """An envelope (shared.events.envelope) its type's schema accepts.

    `source` is the one the schema names for the type (the publishing service), whatever the
    test passed, and `subject` the record's id when the test gave none; a test's own event type
    keeps the test's.
    """
    if schema_path(event_type).is_file():
        source = validator(event_type).schema["properties"]["source"].get("const", source)
        if kwargs.get("subject") is None:  # published events always name their record
            kwargs["subject"] = data.get("id") or "record"
    data = complete(event_type, data)
    return envelope(event_type=event_type, data=data, source=source or "/crm/test", **kwargs)
