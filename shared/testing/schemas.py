"""Validate event bodies against the JSON Schemas committed in docs/events/."""

from __future__ import annotations

import json
from datetime import datetime

import jsonschema

from shared import asyncapi

FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _rfc3339(value) -> bool:
    """RFC 3339 date-time (jsonschema only checks it when rfc3339-validator is installed)."""
    if not isinstance(value, str):
        return True
    return "T" in value.upper() and datetime.fromisoformat(value).tzinfo is not None


def validator(event_type: str) -> jsonschema.Draft202012Validator:
    """A validator for one event type's schema as committed in docs/events/."""
    path = asyncapi.DOCS / asyncapi.SCHEMA_DIR / f"{event_type}.schema.json"
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=FORMATS)


def errors_of(body: dict, event_type: str | None = None) -> list[str]:
    """Every validation error of an event body against the schema of its (or the given) type."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(event_type or body["type"]).iter_errors(body)
    ]
